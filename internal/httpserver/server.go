// Package httpserver wraps Gatehouse's routes in the middleware every
// response goes through: request ID, real client IP, security headers, body
// limits, CSRF protection, panic recovery, access logs and latency metrics.
// Handlers register themselves on a *http.ServeMux; this package knows none
// of them, so it can be imported by all of them.
package httpserver

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/metrics"
)

// MaxFormBody is the largest request body accepted by form and JSON
// endpoints. Routes that need more (SAML responses) raise it themselves
// with LimitBody.
const MaxFormBody = 64 << 10

// ErrorPage renders a plain-language error for a browser (HTML) or an API
// client (JSON). The web package provides the HTML one.
type ErrorPage func(w http.ResponseWriter, r *http.Request, status int, message string)

// Options configures the middleware.
type Options struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// PublicURL is Gatehouse's external origin; unsafe requests whose Origin
	// header names another origin are refused.
	PublicURL string
	// Secure selects __Host- cookies with the Secure flag and sends HSTS.
	// It is false only for http://localhost development.
	Secure bool
	// TrustedProxies are the addresses (CIDRs) of reverse proxies whose
	// X-Forwarded-For is believed. Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// ErrorPage renders HTML errors (404, 403, 413, 500); nil uses plain text.
	ErrorPage ErrorPage
	// RequestTimeout is every request's deadline (zero: none). A request
	// still unanswered then is answered 503 with its request ID, whatever
	// its handler writes afterwards.
	RequestTimeout time.Duration
	Now            func() time.Time
	// CSRFExempt are exact paths whose POSTs skip the CSRF check: protocol
	// endpoints other sites' apps call with client credentials or bearer
	// tokens, never with this site's cookies as their authority (the
	// OpenID Provider's token, userinfo, introspection, revocation,
	// authorization and logout endpoints).
	CSRFExempt []string
}

// Server holds the middleware configuration.
type Server struct {
	opts   Options
	origin string
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("httpserver: public URL %q is not an absolute URL", opts.PublicURL)
		}
		s.origin = u.Scheme + "://" + u.Host
	}
	return s, nil
}

// Handler wraps mux in the middleware chain. Outermost first: request
// context (ID, IP) → recovery → logging and metrics → security headers →
// deadline → body limit → CSRF → mux. The deadline sits inside logging and
// metrics so that they record the 503 a late request gets.
func (s *Server) Handler(mux http.Handler) http.Handler {
	h := s.csrf(recordRoute(mux))
	h = limitBody(h)
	h = s.deadline(h)
	h = s.securityHeaders(h)
	h = s.observe(h)
	h = s.recoverPanics(h)
	return s.requestContext(h)
}

// renderError writes an error page: JSON under /api/, HTML otherwise.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if strings.HasPrefix(r.URL.Path, "/api/") || s.opts.ErrorPage == nil {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			WriteJSONError(w, status, code, message)
			return
		}
		http.Error(w, message, status)
		return
	}
	s.opts.ErrorPage(w, r, status, message)
}

// clientIP returns the address of the client: the TCP peer, or — when the
// peer is a trusted proxy — the rightmost X-Forwarded-For entry that is not
// itself a trusted proxy. Taking the rightmost untrusted entry means a
// client cannot spoof its address by sending its own X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break // a malformed hop: stop believing anything left of it
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with
// the client's port as Azure Application Gateway writes it
// ("203.0.113.7:50123", "[2001:db8::7]:443"). Refusing the port form would
// make every client behind such a proxy look like the proxy itself, so
// that one sprayer's failures throttle everyone's sign-in.
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
