package idp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestMetadataSSRF: an organization admin enters the metadata URL, and the
// server fetches it (now, and every day after). On a multi-tenant
// deployment that is a request from inside the operator's network on a
// tenant's behalf: before the fix, http://127.0.0.1:<port>/… (an admin
// endpoint on the node), a cloud metadata service or an intranet host were
// all fetched, and the error text (status line, root element, parse
// errors) told the tenant what answered.
func TestMetadataSSRF(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		srv := newMetadataServer(t, metadataXML(entraEntity, entraSSO, false, idpKey1))
		port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

		// A production-like service: public URL not on this machine, no
		// HTTPClient of its own, no allowed networks.
		prod := New(st, e.box, Config{PublicURL: "https://gatehouse.example"}, nil, e.clock.Now)
		prod.genKey = e.svc.genKey
		org := e.org("ssrf")
		for _, u := range []string{
			srv.URL + "/metadata",                             // http://127.0.0.1:port
			"http://localhost:" + port + "/metadata",          // a name for it
			"http://[::ffff:127.0.0.1]:" + port + "/metadata", // IPv4-mapped
		} {
			_, err := prod.Create(e.ctx, org, CreateInput{Name: "x", MetadataURL: u})
			var inv *account.InvalidInputError
			if !errors.As(err, &inv) || !strings.Contains(inv.Message, "not allowed") {
				t.Errorf("%s: err = %v, want a refusal", u, err)
			}
		}
		if n := srv.hits.Load(); n != 0 {
			t.Fatalf("the internal server was fetched %d times", n)
		}

		// The development set-up (Gatehouse itself on localhost, the
		// development IdP beside it) keeps working.
		dev := New(st, e.box, Config{PublicURL: "http://localhost:8080"}, nil, e.clock.Now)
		dev.genKey = e.svc.genKey
		if _, err := dev.Create(e.ctx, org, CreateInput{Name: "dev", MetadataURL: srv.URL + "/metadata"}); err != nil {
			t.Errorf("development loopback fetch: %v", err)
		}
		// So does an intranet IdP on a network the operator allowed.
		allowed := New(st, e.box, Config{PublicURL: "https://gatehouse.example",
			MetadataAllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, nil, e.clock.Now)
		allowed.genKey = e.svc.genKey
		if _, err := allowed.Create(e.ctx, org, CreateInput{Name: "intranet", MetadataURL: srv.URL + "/metadata"}); err != nil {
			t.Errorf("fetch from an allowed network: %v", err)
		}
	})
}

// TestMetadataAddressPolicy lists what a metadata fetch may connect to.
func TestMetadataAddressPolicy(t *testing.T) {
	g := newFetchGuard(nil)
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34", true}, {"2606:4700::6810:84e5", true}, {"8.8.8.8", true},
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"::1", false}, {"0.0.0.0", false}, {"::", false},
		{"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false}, {"fd00::1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"100.100.100.200", false}, // Alibaba metadata (CGNAT range)
		{"::ffff:10.0.0.1", false}, {"::ffff:169.254.169.254", false}, {"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"224.0.0.1", false}, {"255.255.255.255", false}, {"ff02::1", false}, {"198.18.0.1", false},
	} {
		a := netip.MustParseAddr(c.addr)
		if got := g.allowed(a) == nil; got != c.ok {
			t.Errorf("%s: allowed %v, want %v", c.addr, got, c.ok)
		}
	}
	dev := newFetchGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	if dev.allowed(netip.MustParseAddr("127.0.0.1")) != nil || dev.allowed(netip.MustParseAddr("10.0.0.1")) == nil {
		t.Error("allow-list not applied exactly")
	}
}
