package forwardauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/forwardauth"
)

// A signed-in person of the app's organization, in one of its groups, is
// let through with who they are; every answer is no-store.
func TestVerifyLetsTheSignedInPersonThrough(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *gh) {
		org := g.org("acme")
		g.app(org, "Wiki", []string{"wiki.acme.test"})
		g.app(org, "Grafana", []string{"grafana.acme.test:8443"}, "ops", "sre")
		a, tok := g.member(org, "eng", "ops", "R&D, Berlin", "100%\nsure")

		for _, hdr := range []map[string]string{
			forwarded("https", "wiki.acme.test", "/page?x=1"),
			forwarded("https", "WIKI.acme.test", "/"),
			{"X-Original-URL": "https://wiki.acme.test/page?x=1"},
			{"X-Original-URL": "https://grafana.acme.test:8443/d/1"},
		} {
			res := g.verify(tok, hdr, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%v: status %d, want 200", hdr, res.StatusCode)
			}
			want := map[string]string{
				forwardauth.HeaderUser: a.ID, forwardauth.HeaderEmail: a.Email, forwardauth.HeaderOrg: "acme",
				forwardauth.HeaderGroups: "100%25%0Asure,R&D%2C Berlin,eng,ops", "Cache-Control": "no-store",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%v: %s = %q, want %q", hdr, k, got, v)
				}
			}
		}
		// The groups header decodes back to the names, exactly.
		var names []string
		for _, p := range strings.Split("100%25%0Asure,R&D%2C Berlin,eng,ops", ",") {
			n, err := url.PathUnescape(p)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if strings.Join(names, "|") != "100%\nsure|R&D, Berlin|eng|ops" {
			t.Errorf("decoded groups = %q", names)
		}

		// HEAD gets the same answer.
		req, _ := http.NewRequest(http.MethodHead, g.URL+"/auth/verify", nil)
		req.Header.Set("X-Original-URL", "https://wiki.acme.test/")
		req.AddCookie(&http.Cookie{Name: g.App.Sessions.CookieName(), Value: tok})
		res, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get(forwardauth.HeaderUser) != a.ID {
			t.Errorf("HEAD: %d %q", res.StatusCode, res.Header.Get(forwardauth.HeaderUser))
		}
	})
}

// Without a usable session the browser is sent to sign in and back; in
// nginx mode the answer is 401 with the login page in Location.
func TestVerifySendsTheSignedOutToSignIn(t *testing.T) {
	g := startGatehouse(t, "")
	org := g.org("acme")
	g.app(org, "Wiki", []string{"wiki.acme.test"})
	orig := "https://wiki.acme.test/page?x=1&y=%2F"
	login := g.URL + "/login?return_to=" + url.QueryEscape(orig)
	for _, tok := range []string{"", "not-a-token", strings.Repeat("A", 43)} {
		res := g.verify(tok, forwarded("https", "wiki.acme.test", "/page?x=1&y=%2F"), "")
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != login {
			t.Errorf("token %q: %d to %q, want 302 to %q", tok, res.StatusCode, res.Header.Get("Location"), login)
		}
		res = g.verify(tok, map[string]string{"X-Original-URL": orig}, "?mode=nginx")
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Location") != login {
			t.Errorf("nginx mode, token %q: %d, Location %q", tok, res.StatusCode, res.Header.Get("Location"))
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", res.Header.Get("Cache-Control"))
		}
	}
}

// Hosts no app registered, another organization's app and an app the
// person's groups do not open are refused, with a plain explanation.
func TestVerifyRefusesUnknownHostsOtherOrganizationsAndGroups(t *testing.T) {
	g := startGatehouse(t, "")
	acme, other := g.org("acme"), g.org("other")
	g.app(acme, "Grafana", []string{"grafana.acme.test"}, "ops")
	g.app(other, "Their wiki", []string{"wiki.other.test"})
	_, tok := g.member(acme, "eng")
	for _, tc := range []struct {
		hdr  map[string]string
		tok  string
		body string
	}{
		{forwarded("https", "unknown.acme.test", "/"), tok, "not registered"},
		{forwarded("https", "unknown.acme.test", "/"), "", "not registered"},
		{forwarded("https", "wiki.other.test", "/"), tok, "another organization"},
		{forwarded("https", "grafana.acme.test", "/"), tok, "groups"},
	} {
		res := g.verify(tc.tok, tc.hdr, "")
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
			t.Errorf("%v: %d (Location %q), want 403", tc.hdr, res.StatusCode, res.Header.Get("Location"))
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/auth/verify", nil)
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		if tc.tok != "" {
			req.AddCookie(&http.Cookie{Name: g.App.Sessions.CookieName(), Value: tc.tok})
		}
		g.Handler.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%v: body %q lacks %q", tc.hdr, rec.Body.String(), tc.body)
		}
	}
}

// Open-redirect attempts through the forwarded headers: whatever the
// proxy (or a browser calling /auth/verify directly) claims, the only
// Location ever sent is Gatehouse's login page, coming back to a
// registered app's URL.
func TestVerifyNeverRedirectsElsewhere(t *testing.T) {
	g := startGatehouse(t, "")
	org := g.org("acme")
	g.app(org, "Wiki", []string{"wiki.acme.test"})
	attacks := []map[string]string{
		forwarded("https", "evil.com", "/"),
		forwarded("https", "wiki.acme.test.evil.com", "/"),
		forwarded("https", "wiki.acme.test@evil.com", "/"),
		forwarded("https", "evil.com\\@wiki.acme.test", "/"),
		forwarded("https", "wiki.acme.test, evil.com", "/"),
		forwarded("https", "wiki.acme.test", "@evil.com"),
		forwarded("https", "wiki.acme.test", "evil.com"),
		forwarded("https", "wiki.acme.test", "/\r\nLocation: https://evil.com"),
		forwarded("https", "wiki.acme.test\r\nX: y", "/"),
		forwarded("javascript", "wiki.acme.test", "/"),
		forwarded("data", "wiki.acme.test", "/"),
		forwarded("https", "wiki.acme.test", "/"+strings.Repeat("a", 4000)),
		{"X-Original-URL": "//evil.com"},
		{"X-Original-URL": "/\\evil.com"},
		{"X-Original-URL": "https://evil.com/"},
		{"X-Original-URL": "https://wiki.acme.test.evil.com/"},
		{"X-Original-URL": "https://user@wiki.acme.test/"},
		{"X-Original-URL": "https://wiki.acme.test@evil.com/"},
		{"X-Original-URL": "javascript:alert(1)"},
		{"X-Original-URL": "data:text/html,x"},
		{"X-Original-URL": "https://wiki.acme.test%2F@evil.com/"},
		{"X-Original-URL": "https://wiki%2eacme%2etest/"},
		{"X-Original-URL": "https://wiki.acme.test/%0d%0aSet-Cookie:%20x=1"},
		{"X-Original-URL": "https://wiki.acme.test/\r\nLocation: https://evil.com"},
		{"X-Original-URL": "https://wiki.acme.test/" + strings.Repeat("a", 4000)},
		{},
	}
	for _, hdr := range attacks {
		for _, q := range []string{"", "?mode=nginx"} {
			// Straight into the handler: header values an HTTP client
			// would refuse to send (CR, LF) still reach it this way.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/auth/verify"+q, nil)
			for k, v := range hdr {
				req.Header[k] = []string{v}
			}
			g.Handler.ServeHTTP(rec, req)
			loc := rec.Header().Get("Location")
			if rec.Code == http.StatusOK || rec.Code == http.StatusFound && loc == "" {
				t.Errorf("%q%s: status %d", hdr, q, rec.Code)
			}
			if loc == "" {
				continue
			}
			want := g.URL + "/login?return_to="
			rt, _ := url.QueryUnescape(strings.TrimPrefix(loc, want))
			if !strings.HasPrefix(loc, want) || !strings.HasPrefix(rt, "https://wiki.acme.test/") || strings.ContainsAny(rt, "\r\n@\\") {
				t.Errorf("%q%s: Location %q", hdr, q, loc)
			}
		}
	}
}

// verify assigns the X-Gatehouse-* headers by key, which is only right
// for keys in canonical form.
func TestHeaderNamesAreCanonical(t *testing.T) {
	for _, h := range []string{forwardauth.HeaderUser, forwardauth.HeaderEmail, forwardauth.HeaderGroups, forwardauth.HeaderOrg} {
		if c := http.CanonicalHeaderKey(h); c != h {
			t.Errorf("%q is not canonical (%q)", h, c)
		}
	}
}
