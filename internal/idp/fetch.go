package idp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// Metadata URLs are entered by organization admins and fetched by the
// server, now and on every refresh: on a deployment hosting several
// organizations that is a request from inside the operator's network on a
// tenant's behalf (server-side request forgery). The guard below refuses
// to connect to loopback, private, link-local and other non-public
// addresses, unless the operator lists the network in
// Config.MetadataAllowedNetworks (an ADFS farm on the intranet) or
// Gatehouse itself runs on a loopback public URL (development with
// `gatehouse devidp`, whose metadata is on 127.0.0.1).
//
// The check runs on the address actually dialled (net.Dialer.Control), so
// it covers redirects and DNS names that resolve, or are rebound, to an
// internal address. Behind an egress proxy (HTTPS_PROXY) the dial goes to
// the proxy, which must then be in an allowed network and enforce its own
// egress policy for names; IP literals in the URL are still checked here.

// errAddressNotAllowed is wrapped with the address; its text reaches the
// admin inside the fetch error.
var errAddressNotAllowed = errors.New("is not a public internet address, and fetching metadata from it is not allowed on this server (the operator can allow its network)")

// nonPublic lists special-purpose ranges (RFC 6890 and successors) beside
// those netip.Addr classifies itself, that a public IdP never uses and
// that reach internal services: "this network" (0.0.0.0/8 reaches the
// local host on Linux), carrier-grade NAT (Alibaba Cloud's metadata
// service is 100.100.100.200), IETF protocol assignments, benchmarking,
// reserved and broadcast, NAT64 (which maps every IPv4 address, internal
// ones included), the IPv6 discard prefix and deprecated site-local.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "fec0::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// LoopbackNetworks are allowed when the public URL itself is on loopback.
// Tests whose metadata server listens on loopback behind a non-loopback
// public URL pass them as Config.MetadataAllowedNetworks.
var LoopbackNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// fetchGuard decides which addresses a metadata fetch may connect to.
type fetchGuard struct {
	allow []netip.Prefix
}

func newFetchGuard(allow []netip.Prefix) *fetchGuard {
	g := &fetchGuard{}
	for _, p := range allow {
		g.allow = append(g.allow, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p)).Masked())
	}
	return g
}

// unmapBits is how many prefix bits an IPv4-mapped IPv6 prefix loses
// when written as IPv4.
func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}

// allowed returns nil if a may be connected to, else an error naming it.
func (g *fetchGuard) allowed(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	bad := !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast()
	for _, p := range nonPublic {
		bad = bad || p.Contains(a)
	}
	if bad {
		return fmt.Errorf("the address %s %w", a, errAddressNotAllowed)
	}
	return nil
}

// control is the net.Dialer hook: it sees the resolved address of every
// connection, redirects included.
func (g *fetchGuard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("cannot check the address %q: %w", address, err)
	}
	return g.allowed(ap.Addr())
}

// client returns an HTTP client whose every connection passes the guard.
func (g *fetchGuard) client() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	return &http.Client{Transport: guardedTransport{g: g, next: tr}}
}

// guardedTransport refuses IP-literal hosts before the request is sent,
// which matters when a proxy, not this process, makes the connection.
type guardedTransport struct {
	g    *fetchGuard
	next http.RoundTripper
}

func (t guardedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if a, err := netip.ParseAddr(r.URL.Hostname()); err == nil {
		if err := t.g.allowed(a); err != nil {
			return nil, err
		}
	}
	return t.next.RoundTrip(r)
}

// metadataClient is the client New installs when Config.HTTPClient is nil.
func metadataClient(cfg Config) *http.Client {
	allow := append([]netip.Prefix(nil), cfg.MetadataAllowedNetworks...)
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" && saml.IsLoopbackHost(u.Hostname()) {
		allow = append(allow, LoopbackNetworks...)
	}
	return newFetchGuard(allow).client()
}
