package web_test

import (
	"github.com/gatehouse-id/gatehouse/internal/web/page"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
)

func TestCSRFRefusedAndNothingWritten(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	signedIn := e.client()
	signedIn.signIn(ownerEmail, ownerPassword)
	cookie := signedIn.sessionCookie()

	posts := []struct {
		path string
		form url.Values
	}{
		{"/login", url.Values{"email": {ownerEmail}}},
		{"/login/password", url.Values{"email": {ownerEmail}, "password": {"wrong-password-1"}}},
		{"/forgot", url.Values{"email": {ownerEmail}}},
		{"/logout", nil},
		{"/account/sessions/revoke-others", nil},
		{"/account/password", url.Values{"current_password": {ownerPassword}, "new_password": {newPassword}, "confirm": {newPassword}}},
		{"/setup", url.Values{"token": {"x"}, "org_name": {"Evil"}, "email": {"e@evil.example"}, "password": {newPassword}, "confirm": {newPassword}}},
		{"/recover", url.Values{"token": {"x"}}},
	}
	for _, p := range posts {
		for _, tc := range []struct {
			name   string
			token  *string
			header http.Header
		}{
			{"missing", nil, nil},
			{"wrong", ptr("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil},
			{"cross-origin", nil, http.Header{"Origin": {"https://evil.example"}}},
		} {
			t.Run(strings.TrimPrefix(p.path, "/")+"/"+tc.name, func(t *testing.T) {
				c := e.client()
				c.setSessionCookie(cookie)
				c.csrf() // the browser has a CSRF cookie; the form lacks or forges it
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				switch {
				case tc.token != nil:
					form.Set(httpserver.CSRFField, *tc.token)
				case tc.header != nil:
					form.Set(httpserver.CSRFField, c.csrf())
				}
				before := e.auditCount()
				r := c.postRaw(p.path, form.Encode(), tc.header)
				expect(t, r, http.StatusForbidden)
				if !strings.Contains(r.body, "<html") || strings.Contains(r.body, "goroutine") {
					t.Errorf("the 403 is not the friendly page:\n%s", r.body)
				}
				if got := e.auditCount(); got != before {
					t.Errorf("audit events %d → %d: a refused request wrote something", before, got)
				}
			})
		}
	}
	// The signed-in session survived all of it.
	expect(t, signedIn.get("/account"), http.StatusOK, "Your account")
	e.client().signIn(ownerEmail, ownerPassword) // the password was not changed
}

func ptr(s string) *string { return &s }

func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	before := e.auditCount()
	// The token in a header, and the token in the oversized form itself:
	// both must be refused as too large, not as a CSRF failure.
	body := "email=" + strings.Repeat("a", 70<<10)
	r := c.postRaw("/login", body, http.Header{httpserver.CSRFHeader: {c.csrf()}})
	expect(t, r, http.StatusRequestEntityTooLarge, "That was more than we accept")
	r = c.postRaw("/login", httpserver.CSRFField+"="+c.csrf()+"&"+body, nil)
	expect(t, r, http.StatusRequestEntityTooLarge, "That was more than we accept")
	if e.auditCount() != before {
		t.Error("an oversized request wrote audit events")
	}
}

func TestInvalidUTF8Is400(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	before := e.auditCount()
	r := c.postRaw("/login/password", "email=owner%40acme.example&password=%ff%fe&"+httpserver.CSRFField+"="+c.csrf(), nil)
	expect(t, r, http.StatusBadRequest, "The form contains invalid characters.")
	if e.auditCount() != before {
		t.Error("an invalid form wrote audit events")
	}
}

// The classic open-redirect bypasses, each of which must land on /account.
var openRedirects = []string{
	"//evil.example",
	"//evil.example/account",
	"/\\evil.example",
	"\\\\evil.example",
	"/\\/evil.example",
	"https://evil.example",
	"http:evil.example",
	"HTTPS://evil.example/",
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	"data:text/html,hi",
	"%2F%2Fevil.example",
	"/%2F/evil.example",
	"/%2F%2Fevil.example",
	"/%5Cevil.example",
	"/%09/evil.example",
	"/account%0d%0aSet-Cookie:%20x=y",
	"/account\r\nLocation: https://evil.example",
	"/ /evil.example",
	" /account",
	"/\t/evil.example",
	"evil.example",
	"account",
	"./account",
	"/" + strings.Repeat("a", 2048),
	"/ünïcode",
	"/a\x00b",
	"/a\x7fb",
	"",
}

func TestOpenRedirectRefused(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	for _, rt := range openRedirects {
		t.Run(url.QueryEscape(rt), func(t *testing.T) {
			r := c.get("/login?return_to=" + url.QueryEscape(rt))
			if r.status != http.StatusSeeOther || r.location() != "/account" {
				t.Errorf("return_to %q → %d %q, want /account", rt, r.status, r.location())
			}
		})
	}
	for _, ok := range []string{"/account", "/account?tab=1", "/apps/wiki/page?id=7#top", "/a%20b", "/oidc/authorize?client_id=x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"} {
		r := c.get("/login?return_to=" + url.QueryEscape(ok))
		if r.location() != ok {
			t.Errorf("return_to %q → %q, want it kept", ok, r.location())
		}
	}
}

func TestOpenRedirectRefusedAtSignIn(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	for _, rt := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/%2F%2Fevil.example"} {
		c := e.client()
		c.get("/login")
		step2 := c.post("/login", url.Values{"email": {ownerEmail}, "return_to": {rt}})
		if strings.Contains(step2.body, "evil.example") {
			t.Errorf("step 2 carries return_to %q", rt)
		}
		r := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "return_to": {rt}})
		if r.status != http.StatusSeeOther || r.location() != "/account" {
			t.Errorf("return_to %q → %d %q, want /account", rt, r.status, r.location())
		}
	}
}

func TestSafeReturnTo(t *testing.T) {
	for _, rt := range openRedirects {
		if got := page.SafeReturnTo(rt); got != "/account" {
			t.Errorf("SafeReturnTo(%q) = %q", rt, got)
		}
	}
	for _, ok := range []string{"/", "/account", "/x?y=z", "/a/b/c#d", "/" + strings.Repeat("a", 2000)} {
		if got := page.SafeReturnTo(ok); got != ok {
			t.Errorf("SafeReturnTo(%q) = %q, want it kept", ok, got)
		}
	}
}

func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	_ = org

	// A token an attacker planted before sign-in is never the session.
	c := e.client()
	planted := strings.Repeat("A", 43)
	c.setSessionCookie(planted)
	c.signIn(ownerEmail, ownerPassword)
	if got := c.sessionCookie(); got == planted || got == "" {
		t.Fatalf("session cookie after sign-in = %q, planted %q", got, planted)
	}

	// An attacker's own live session planted in a victim's browser is
	// replaced, and ended, when the victim signs in.
	attacker := e.client()
	attacker.signIn(ownerEmail, ownerPassword)
	victim := e.client()
	victim.setSessionCookie(attacker.sessionCookie())
	victim.signIn(ownerEmail, ownerPassword)
	if victim.sessionCookie() == attacker.sessionCookie() {
		t.Fatal("the victim signed in on the attacker's session")
	}
	if r := attacker.get("/account"); r.status != http.StatusSeeOther {
		t.Error("the planted session outlived the sign-in")
	}
}

var inlineRE = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=`)

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	anon := e.client()
	signed := e.client()
	signed.signIn(ownerEmail, ownerPassword)

	pages := map[string]response{
		"login":           anon.get("/login"),
		"password step":   anon.post("/login", url.Values{"email": {ownerEmail}}),
		"wrong password":  anon.post("/login/password", url.Values{"email": {ownerEmail}, "password": {"wrong-password-1"}}),
		"forgot":          anon.get("/forgot"),
		"forgot sent":     anon.post("/forgot", url.Values{"email": {"x@acme.example"}}),
		"reset invalid":   anon.get("/reset?token=x"),
		"setup done":      anon.get("/setup?token=x"),
		"recover":         anon.get("/recover?token=x"),
		"404":             anon.get("/nope"),
		"403":             anon.postRaw("/login", "email=x", nil),
		"account":         signed.get("/account"),
		"logout confirm":  signed.get("/logout"),
		"redirect":        anon.get("/account"),
		"static css":      anon.get("/static/style.css"),
		"static js":       anon.get("/static/app.js"),
		"static listing":  anon.get("/static/"),
		"bad form":        anon.post("/login", url.Values{"email": {"bad"}}),
		"password change": signed.post("/account/password", url.Values{"current_password": {"x"}}),
	}
	for name, r := range pages {
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		for k, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
		} {
			if h.Get(k) != want {
				t.Errorf("%s: %s = %q, want %q", name, k, h.Get(k), want)
			}
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			if m := inlineRE.FindString(r.body); m != "" {
				t.Errorf("%s: inline script or style %q would break the CSP", name, m)
			}
			if !strings.Contains(h.Get("Cache-Control"), "no-store") {
				t.Errorf("%s: HTML page is cacheable: %q", name, h.Get("Cache-Control"))
			}
		}
	}
	if pages["static listing"].status != http.StatusNotFound {
		t.Error("/static/ lists the directory")
	}
	if ct := pages["static css"].header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css served as %q", ct)
	}
}

func TestUnknownRouteIsFriendly404(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/nope", "/login/extra", "/static/missing.css", "/account/sessions"} {
		r := c.get(p)
		expect(t, r, http.StatusNotFound, "We couldn't find that page", "Go to the start page")
		if !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: 404 is %q", p, r.header.Get("Content-Type"))
		}
	}
	expect(t, c.post("/nope", nil), http.StatusNotFound, "We couldn't find that page")
	if r := c.get("/"); r.status != http.StatusSeeOther || r.location() != "/login" {
		t.Errorf("GET / → %d %q", r.status, r.location())
	}
}

func TestServerErrorShowsRequestIDNotInternals(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	e.handler.Register(mux)
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("database password is hunter2") })
	hs, err := httpserver.New(httpserver.Options{ErrorPage: e.handler.ErrorPage})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/boom", nil)
	req.Header.Set("X-Request-ID", "req-12345")
	hs.Handler(mux).ServeHTTP(rec, req)
	r := response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	expect(t, r, http.StatusInternalServerError, "Something went wrong on our side", "req-12345")
	if strings.Contains(r.body, "hunter2") || strings.Contains(r.body, "goroutine") || strings.Contains(r.body, ".go:") {
		t.Errorf("the 500 page leaks internals:\n%s", r.body)
	}
}

func TestDeviceSummary(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                                   "Chrome on Linux",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36":                           "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0":                   "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                   "Safari on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1":  "Chrome on iPhone",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                       "Chrome on Android",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36":                              "Chrome on ChromeOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 OPR/111.0":                   "Opera on Windows",
		"curl/8.5.0":         "curl",
		"":                   "Unknown device",
		"Go-http-client/1.1": "Unknown device",
	} {
		if got := page.DeviceSummary(ua); got != want {
			t.Errorf("DeviceSummary(%q) = %q, want %q", ua, got, want)
		}
	}
}
