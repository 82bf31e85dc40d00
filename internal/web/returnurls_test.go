package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// appURL is a page of the app the tests register (host wiki.corp.example).
const appURL = "https://wiki.corp.example/space/page?id=7&v=2"

// registerApp registers the wiki as an app of orgID.
func (e *env) registerApp(orgID string) storage.App {
	e.t.Helper()
	a, _, err := e.apps.Create(adminCtx(orgID), orgID, apps.Input{Name: "Wiki", Hosts: []string{"wiki.corp.example"},
		RedirectURIs: []string{"https://wiki.corp.example/oauth/callback"}})
	if err != nil {
		e.t.Fatalf("register app: %v", err)
	}
	return a
}

// appOpenRedirects are return URLs that must never be followed now that
// absolute URLs of registered apps are: other hosts, look-alike hosts,
// user info, other schemes, encoded, CRLF and over-long variants, plus the
// relative-path bypasses (openRedirects).
var appOpenRedirects = append([]string{
	"//evil.com", "/\\evil.com", "\\\\evil.com", "https://evil.com", "http://evil.com/",
	"https://wiki.corp.example.evil.com/", "https://wiki.corp.example@evil.com/", "https://user@evil.com",
	"https://user@wiki.corp.example/", "javascript:alert(1)", "JAVASCRIPT:alert(1)",
	"data:text/html,<script>alert(1)</script>", "https:evil.com", "https:///evil.com",
	"%2F%2Fevil.com", "/%2F%2Fevil.com", "/%5Cevil.com", "https://evil.com%2F@wiki.corp.example/",
	"https://wiki%2ecorp%2eexample/", "https://wiki.corp.example/%0d%0aSet-Cookie:x=1",
	"/%0d%0aLocation:%20https://evil.com", "https://wiki.corp.example/\r\nLocation: https://evil.com",
	"https://wiki.corp.example/" + strings.Repeat("a", 2100),
}, openRedirects...)

// returnToField is the return_to a page's form carries ("" if none).
func returnToField(body string) string {
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		if m[1] == "return_to" {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// Every return URL — /login (GET and the sign-in POSTs), /logout (GET and
// POST) and a SAML RelayState through the ACS — refuses the open-redirect
// attacks and lands on /account (or the sign-in page) instead.
func TestReturnURLsRefuseOpenRedirects(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.registerApp(org.ID)
	signedIn := e.client()
	signedIn.signIn(ownerEmail, ownerPassword)
	anon := e.client()

	for i, bad := range appOpenRedirects {
		q := "?return_to=" + url.QueryEscape(bad)
		if r := anon.get("/login" + q); r.status != http.StatusOK || (returnToField(r.body) != "" && returnToField(r.body) != "/account") {
			t.Errorf("GET /login%s: %d, form carries %q", q, r.status, returnToField(r.body))
		}
		if r := signedIn.get("/login" + q); r.status != http.StatusSeeOther || r.location() != "/account" {
			t.Errorf("signed in, GET /login%s: %d → %q", q, r.status, r.location())
		}
		if r := anon.get("/logout" + q); r.location() != "/login" {
			t.Errorf("signed out, GET /logout%s → %q", q, r.location())
		}
		if r := signedIn.get("/logout" + q); returnToField(r.body) != "" {
			t.Errorf("GET /logout%s: form carries %q", q, returnToField(r.body))
		}
		if r := anon.post("/logout", url.Values{"return_to": {bad}}); r.status != http.StatusSeeOther || r.location() != "/login?notice=signed-out" {
			t.Errorf("POST /logout return_to=%q: %d → %q", bad, r.status, r.location())
		}
		// A full password sign-in for a few (each costs a password hash).
		if i%4 == 0 {
			c := e.client()
			r := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "return_to": {bad}})
			if r.status != http.StatusSeeOther || r.location() != "/account" {
				t.Errorf("sign-in with return_to=%q: %d → %q", bad, r.status, r.location())
			}
		}
	}

	// SAML RelayState (IdP-initiated) and the return URL an SP-initiated
	// sign-in stored.
	dev := e.startDevIdP()
	corp, conn := e.corpOrg(dev, nil)
	e.setSSO(corp.ID, storage.SSOEnforced, conn)
	allow := true
	if _, err := e.idps.Update(adminCtx(corp.ID), corp.ID, conn.ID, idp.UpdateInput{AllowIdPInitiated: &allow}); err != nil {
		t.Fatal(err)
	}
	acs, audience := e.idps.ACSURL(conn), e.idps.SPEntityID(conn)
	for i, bad := range appOpenRedirects {
		if i%3 != 0 {
			continue
		}
		c := e.client()
		r := c.postACS(dev.idpInitiated(t, acs, audience, bad), dev.srv.URL)
		if r.status != http.StatusSeeOther || r.location() != "/account" {
			t.Errorf("RelayState %q: %d → %q", bad, r.status, r.location())
		}
		c = e.client()
		r = c.postACS(dev.signInAtIdP(t, c.startSSO(erinEmail, bad), erinEmail, erinPassword), dev.srv.URL)
		if r.status != http.StatusSeeOther || r.location() != "/account" {
			t.Errorf("SSO with return_to %q: %d → %q", bad, r.status, r.location())
		}
	}
}

// A registered app's URL is a return URL everywhere: after a password
// sign-in, an SSO sign-in (stored with the SAML request, or as an
// IdP-initiated RelayState) and a sign-out, the browser lands on it; after
// a form post by a page that moves on by itself.
func TestReturnURLsReachRegisteredApps(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.registerApp(org.ID)
	q := "?return_to=" + url.QueryEscape(appURL)

	c := e.client()
	if r := c.get("/login" + q); returnToField(r.body) != appURL {
		t.Fatalf("the login form carries %q, want %q", returnToField(r.body), appURL)
	}
	r := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "return_to": {appURL}})
	expect(t, r, http.StatusOK, "wiki.corp.example")
	if got := refreshTarget(t, r); got != appURL {
		t.Errorf("after sign-in the page moves on to %q, want %q", got, appURL)
	}
	if c.sessionCookie() == "" {
		t.Fatal("not signed in")
	}
	// Signed in already: straight there.
	if r := c.get("/login" + q); r.status != http.StatusSeeOther || r.location() != appURL {
		t.Errorf("signed in, GET /login: %d → %q", r.status, r.location())
	}
	// Sign out, coming back to the app.
	r = c.get("/logout" + q)
	if returnToField(r.body) != appURL {
		t.Fatalf("the sign-out form carries %q", returnToField(r.body))
	}
	r = c.post("/logout", url.Values{"return_to": {appURL}})
	if r.status != http.StatusOK || refreshTarget(t, r) != appURL {
		t.Errorf("after sign-out: %d, moves on to %q", r.status, refreshTarget(t, r))
	}
	if r := c.get("/account"); r.status == http.StatusOK {
		t.Error("still signed in after sign-out")
	}

	// SSO: SP-initiated with the app's URL, and IdP-initiated RelayState.
	dev := e.startDevIdP()
	corp, conn := e.corpOrg(dev, nil)
	e.setSSO(corp.ID, storage.SSOEnforced, conn)
	corpApp := "https://corp-wiki.corp.example/x"
	if _, _, err := e.apps.Create(adminCtx(corp.ID), corp.ID, apps.Input{Name: "Corp wiki", Hosts: []string{"corp-wiki.corp.example"},
		RedirectURIs: []string{"https://corp-wiki.corp.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	c = e.client()
	r = c.postACS(dev.signInAtIdP(t, c.startSSO(erinEmail, corpApp), erinEmail, erinPassword), dev.srv.URL)
	if r.status != http.StatusOK || refreshTarget(t, r) != corpApp {
		t.Errorf("SSO sign-in: %d, moves on to %q, want %q", r.status, refreshTarget(t, r), corpApp)
	}
	allow := true
	if _, err := e.idps.Update(adminCtx(corp.ID), corp.ID, conn.ID, idp.UpdateInput{AllowIdPInitiated: &allow}); err != nil {
		t.Fatal(err)
	}
	c = e.client()
	r = c.postACS(dev.idpInitiated(t, e.idps.ACSURL(conn), e.idps.SPEntityID(conn), corpApp), dev.srv.URL)
	if r.status != http.StatusOK || refreshTarget(t, r) != corpApp {
		t.Errorf("IdP-initiated: %d, moves on to %q", r.status, refreshTarget(t, r))
	}
}
