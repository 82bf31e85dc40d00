package httpserver_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
)

func newHandler(t *testing.T, opts httpserver.Options, h http.HandlerFunc) http.Handler {
	t.Helper()
	srv, err := httpserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", h)
	return srv.Handler(mux)
}

// A client must not be able to choose the address that throttling and the
// audit log see by sending its own X-Forwarded-For.
func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var got string
	h := newHandler(t, httpserver.Options{TrustedProxies: proxies}, func(w http.ResponseWriter, r *http.Request) {
		got = reqctx.From(r.Context()).IP
	})
	cases := []struct {
		name, remote, xff, want string
	}{
		{"direct client, spoofed header ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"through the proxy", "10.0.0.2:5000", "198.51.100.7", "198.51.100.7"},
		{"client prepends a lie; rightmost untrusted wins", "10.0.0.2:5000", "1.2.3.4, 198.51.100.7", "198.51.100.7"},
		{"two trusted hops", "10.0.0.2:5000", "198.51.100.7, 10.0.0.3", "198.51.100.7"},
		{"garbage hop stops the walk", "10.0.0.2:5000", "198.51.100.7, not-an-ip", "10.0.0.2"},
		{"IPv4-mapped IPv6 peer", "[::ffff:203.0.113.9]:5000", "", "203.0.113.9"},
		// Azure Application Gateway (and some other proxies) write the
		// client's port into the hop. Read as garbage, every client behind
		// the proxy became the proxy: one sprayer's failures throttled
		// everyone's sign-in, and the sprayer itself was never told apart.
		{"hop with a port", "10.0.0.2:5000", "198.51.100.7:50123", "198.51.100.7"},
		{"IPv6 hop with a port", "10.0.0.2:5000", "[2001:db8::7]:443", "2001:db8::7"},
		{"client-written port does not hide the real hop", "10.0.0.2:5000", "1.2.3.4:80, 198.51.100.7:50123", "198.51.100.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = c.remote
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != c.want {
				t.Errorf("client IP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestRequestIDIsEchoedOnlyWhenPlain(t *testing.T) {
	h := newHandler(t, httpserver.Options{}, func(w http.ResponseWriter, r *http.Request) {})
	for in, keep := range map[string]bool{"abc-123": true, "bad id\nInjected: 1": false, strings.Repeat("a", 65): false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Request-ID", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if (got == in) != keep || got == "" {
			t.Errorf("X-Request-ID %q → %q (keep=%v)", in, got, keep)
		}
	}
}

func TestPanicBecomesPlain500WithRequestID(t *testing.T) {
	h := newHandler(t, httpserver.Options{}, func(w http.ResponseWriter, r *http.Request) {
		panic("database password is hunter2")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || strings.Contains(body, "hunter2") || strings.Contains(body, "goroutine") {
		t.Fatalf("status %d, body %q", rec.Code, body)
	}
	if !strings.Contains(body, rec.Header().Get("X-Request-ID")) {
		t.Errorf("the error does not give the request ID to quote: %q", body)
	}
}

func TestCSRF(t *testing.T) {
	const public = "https://login.example.test"
	posted := 0
	h := newHandler(t, httpserver.Options{PublicURL: public, Secure: true}, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posted++
		}
		_, _ = io.WriteString(w, httpserver.CSRFToken(r))
	})
	// A GET issues the __Host- cookie and exposes the same token to forms.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, public+"/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-gatehouse_csrf" || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("CSRF cookie: %+v", cookies)
	}
	token := rec.Body.String()
	if token != cookies[0].Value {
		t.Fatalf("form token %q differs from cookie", token)
	}
	post := func(form url.Values, hdr map[string]string) int {
		req := httptest.NewRequest(http.MethodPost, public+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookies[0])
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	good := url.Values{httpserver.CSRFField: {token}}
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"valid token, our origin", good, map[string]string{"Origin": public}, 200},
		{"valid token, no origin header (old browser)", good, nil, 200},
		{"missing token", url.Values{}, map[string]string{"Origin": public}, 403},
		{"wrong token", url.Values{httpserver.CSRFField: {strings.Repeat("A", 43)}}, map[string]string{"Origin": public}, 403},
		{"other origin", good, map[string]string{"Origin": "https://evil.example"}, 403},
		{"browser says cross-site", good, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"sibling subdomain", good, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"Origin null vouched same-origin by the browser", good, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 200},
		{"Origin null from a sandboxed frame", good, map[string]string{"Origin": "null"}, 403},
	}
	for _, c := range cases {
		before := posted
		if got := post(c.form, c.hdr); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
		if c.want == 403 && posted != before {
			t.Errorf("%s: the handler ran although the request was refused", c.name)
		}
	}
}

// The bearer-token API ignores cookies, so it needs no CSRF token.
func TestAPIIsExemptFromCSRF(t *testing.T) {
	h := newHandler(t, httpserver.Options{}, func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/members", strings.NewReader("{}"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("API POST without CSRF token: %d", rec.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHandler(t, httpserver.Options{Secure: true}, func(w http.ResponseWriter, r *http.Request) {})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
		"Cache-Control": "no-store", "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

// Latency is labelled with the route pattern the mux matched, so the
// histogram stays bounded and says which page was slow.
func TestMetricsAndLogsNameTheRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var logs bytes.Buffer
	srv, err := httpserver.New(httpserver.Options{Metrics: m, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /members/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := srv.Handler(mux)
	for _, p := range []string{"/members/1", "/members/2", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "gatehouse_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					counts[l.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if len(counts) != 2 || counts["GET /members/{id}"] != 2 || counts["unmatched"] != 1 {
		t.Errorf("latency by route = %v; want GET /members/{id}: 2 and unmatched: 1", counts)
	}
	if !strings.Contains(logs.String(), `"route":"GET /members/{id}"`) {
		t.Errorf("access log does not name the route:\n%s", logs.String())
	}
}
