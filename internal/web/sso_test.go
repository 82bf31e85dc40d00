package web_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestSSOEnforcedEmailStepGoesToIdP: under an enforcing policy the email
// step sends the browser on to /saml/{slug}/login, which sets the binding
// cookie and redirects to the IdP; the password form is not an
// alternative, even posted directly.
func TestSSOEnforcedEmailStepGoesToIdP(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: erinEmail, Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	e.setSSO(org.ID, storage.SSOEnforced, conn)

	c := e.client()
	r := c.post("/login", url.Values{"email": {erinEmail}, "return_to": {"/account?tab=1"}})
	expect(t, r, http.StatusOK, "Continue with Dev IdP SSO", "Corp", erinEmail)
	want := refreshTarget(t, r)
	if !flowSSOPathRe.MatchString(want) {
		t.Fatalf("the page moves on to %q, want /login/sso?flow=…", want)
	}
	if strings.Contains(r.body, `name="password"`) {
		t.Error("the SSO page has a password field")
	}
	idpURL := c.beginSSO(want)
	if !strings.HasPrefix(idpURL, dev.SSOURL()+"?SAMLRequest=") {
		t.Fatalf("redirected to %q, not to the IdP", idpURL)
	}
	ck := c.bindingCookie()
	if ck == nil || len(ck.Value) != 43 {
		t.Fatalf("binding cookie = %+v", ck)
	}

	// The Set-Cookie attributes, as the browser gets them.
	raw := c.get(want)
	sc := strings.Join(raw.header.Values("Set-Cookie"), "\n")
	for _, attr := range []string{"gatehouse_saml=", "Path=/", "Max-Age=600", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("Set-Cookie %q lacks %s", sc, attr)
		}
	}
	if c.bindingCookie().Value != ck.Value {
		t.Error("a second sign-in in the same browser replaced the secret; the first tab could not finish")
	}

	// Asking for the password form and posting the right password is not
	// a way around SSO: it fails like a wrong one, and the audit log says
	// why.
	r = c.post("/login/password", url.Values{"email": {erinEmail}, "password": {newPassword}})
	expect(t, r, http.StatusUnauthorized, "The email or password is incorrect.", "Continue with Dev IdP SSO")
	if c.sessionCookie() != "" {
		t.Error("a password sign-in went through under an enforced SSO policy")
	}
	if evs := e.auditEvents(org.ID, "login.failure"); len(evs) != 1 || evs[0].Reason != "sso_enforced" {
		t.Errorf("login.failure events = %+v, want one with reason sso_enforced", evs)
	}
	// An unknown address of the domain gets the same page: the default
	// policy applies to it (and JIT creates it at the IdP's word).
	a := c.post("/login", url.Values{"email": {erinEmail}})
	b := c.post("/login", url.Values{"email": {"nobody@" + corpDomain}})
	if withoutEmail(a.body, erinEmail) != withoutEmail(b.body, "nobody@"+corpDomain) {
		t.Error("known and unknown addresses of an SSO domain get different pages")
	}
}

// TestSSOSignInThroughDevIdP is the whole SP-initiated flow through the
// development IdP's real HTTP handler, on both backends: email step, IdP
// sign-in form, the SAMLResponse posted to the ACS, a session, and a
// just-in-time account with the IdP's groups.
func TestSSOSignInThroughDevIdP(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		dev := e.startDevIdP()
		org, conn := e.corpOrg(dev, nil)
		e.setSSO(org.ID, storage.SSOEnforced, conn)

		c := e.client()
		idpURL := c.startSSO(erinEmail, "/account?from=sso")
		post := dev.signInAtIdP(t, idpURL, erinEmail, erinPassword)
		if post.action != e.srv.URL+"/saml/"+conn.Slug+"/acs" {
			t.Fatalf("the IdP posts to %q", post.action)
		}
		r := c.postACS(post, dev.srv.URL)
		if r.status != http.StatusSeeOther || r.location() != "/account?from=sso" {
			t.Fatalf("ACS: %d → %q\n%s", r.status, r.location(), text(r.body))
		}
		if c.sessionCookie() == "" {
			t.Fatal("no session cookie after SSO")
		}
		expect(t, c.get("/account"), http.StatusOK, "Erin Example", erinEmail, "Corp",
			"Single sign-on (Dev IdP)")

		ctx := context.Background()
		acct, err := st.GetAccountByEmail(ctx, erinEmail)
		if err != nil {
			t.Fatalf("no JIT account: %v", err)
		}
		if acct.OrgID != org.ID || acct.PasswordHash != "" {
			t.Errorf("JIT account = %+v", acct)
		}
		groups, err := st.ListAccountGroups(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(groups)
		if !reflect.DeepEqual(groups, []string{"admins", "staff"}) {
			t.Errorf("groups = %v", groups)
		}
		sessions, err := e.sessions.List(ctx, acct.ID)
		if err != nil || len(sessions) != 1 {
			t.Fatalf("sessions = %v, %v", sessions, err)
		}
		if s := sessions[0]; s.Method != "sso" || s.ConnectionID != conn.ID || s.IdPAuthnAt.IsZero() {
			t.Errorf("session = %+v", s)
		}
		if got := e.signIns("sso", "success"); got != 1 {
			t.Errorf("sso successes = %v", got)
		}
		// An SSO-only account is offered to set a password, not to change one.
		expect(t, c.get("/account"), http.StatusOK, "You don't have a password here", "Set a password")
	})
}

// TestSSOChoicePageShowsBoth: an optional policy offers the SSO button and
// the password form; a wrong password keeps both.
func TestSSOChoicePageShowsBoth(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: erinEmail, Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	e.setSSO(org.ID, storage.SSOOptional, conn)

	c := e.client()
	for name, r := range map[string]response{
		"email step":     c.post("/login", url.Values{"email": {erinEmail}, "return_to": {"/account?x=1"}}),
		"wrong password": c.post("/login/password", url.Values{"email": {erinEmail}, "password": {"wrong-password-1"}, "return_to": {"/account?x=1"}}),
	} {
		wantStatus := http.StatusOK
		if name == "wrong password" {
			wantStatus = http.StatusUnauthorized
		}
		expect(t, r, wantStatus, "to continue to Corp", "Continue with Dev IdP SSO", "or use your password", "Sign in with password")
		if !strings.Contains(r.body, `href="/login/sso?flow=`) {
			t.Errorf("%s: no SSO link into the flow", name)
		}
		if !strings.Contains(r.body, `name="password"`) || !strings.Contains(r.body, `action="/login/password"`) {
			t.Errorf("%s: no password form", name)
		}
		if !strings.Contains(r.body, `name="`+httpserver.CSRFField+`"`) {
			t.Errorf("%s: the password form has no CSRF field", name)
		}
	}
	// The password still works.
	if r := c.post("/login/password", url.Values{"email": {erinEmail}, "password": {newPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("password sign-in under an optional policy: %d", r.status)
	}
}

// TestPasswordStepSameForKnownAndUnknown: with several organizations, the
// page after the email step names the organization that verified the
// email's domain, or none, and is byte-for-byte the same (but for the
// address and the CSRF token) for a known and an unknown address.
func TestPasswordStepSameForKnownAndUnknown(t *testing.T) {
	e := newEnv(t)
	e.setupOwner() // Acme, whose acme.example is not verified
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOOptional, conn)
	globex, err := e.accounts.CreateOrganization(adminCtx("g"), "Globex", "")
	if err != nil {
		t.Fatal(err)
	}
	e.verifyDomain(globex.ID, "globex.example")
	if _, err := e.accounts.AddMember(adminCtx(globex.ID), globex.ID, account.MemberInput{Email: "hank@globex.example", Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: erinEmail, Password: newPassword}); err != nil {
		t.Fatal(err)
	}

	page := func(email string) string {
		r := e.client().post("/login", url.Values{"email": {email}})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", email, r.status)
		}
		return csrfRE.ReplaceAllString(withoutEmail(r.body, email), "CSRF")
	}
	for _, tc := range []struct{ known, unknown, org string }{
		{ownerEmail, "nobody@acme.example", "Gatehouse"},               // unmanaged: no organization named
		{"hank@globex.example", "nobody@globex.example", "Globex"},     // managed, no SSO
		{erinEmail, "nobody@" + corpDomain, "Corp"},                    // managed, SSO optional
		{"someone@gmail.example", "nobody@gmail.example", "Gatehouse"}, // nobody's domain
	} {
		a, b := page(tc.known), page(tc.unknown)
		if a != b {
			t.Errorf("%s and %s get different pages:\n--- known\n%s\n--- unknown\n%s", tc.known, tc.unknown, a, b)
		}
		if !strings.Contains(a, "to continue to <strong>"+tc.org+"</strong>") || !strings.Contains(a, "<title>Sign in · "+tc.org+"</title>") {
			t.Errorf("%s: the page does not name %s:\n%s", tc.known, tc.org, text(a))
		}
	}
}

// TestSSOMetadata serves the SP metadata of a connection, and a 404 page
// for a slug nobody has.
func TestSSOMetadata(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	_, conn := e.corpOrg(dev, nil)
	c := e.client()
	r := c.get("/saml/" + conn.Slug + "/metadata")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("metadata: %d %q", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`entityID="` + e.idps.SPEntityID(conn) + `"`,
		`Location="` + e.idps.ACSURL(conn) + `"`,
		"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metadata lacks %s:\n%s", want, r.body)
		}
	}
	expect(t, c.get("/saml/no-such-connection/metadata"), http.StatusNotFound, "There is no single sign-on at this address")
	expect(t, c.get("/saml/no-such-connection/login"), http.StatusNotFound, "There is no single sign-on at this address")
	expect(t, c.get("/saml/"+conn.Slug+"/acs"), http.StatusMethodNotAllowed, "Start again from the sign-in page")
}

// TestSSOTestSignIn: an admin's test sign-in marks the connection tested
// and shows what the IdP sent, without signing the admin out; others
// cannot start one.
func TestSSOTestSignIn(t *testing.T) {
	e := newEnv(t)
	org, owner := e.setupOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil)
	testPath := "/saml/" + conn.Slug + "/test"
	consolePath := "/admin/sso/" + conn.Slug

	// Anonymous: sign in first, then back to the connection's page.
	anon := e.client()
	if r := anon.post(testPath, nil); r.status != http.StatusSeeOther || r.location() != "/login?return_to="+url.QueryEscape(consolePath) {
		t.Fatalf("anonymous test sign-in: %d → %q", r.status, r.location())
	}
	// The old link form starts nothing: it leads to the console's form.
	if r := anon.get("/saml/" + conn.Slug + "/login?test=1"); r.status != http.StatusSeeOther || r.location() != consolePath {
		t.Errorf("GET ?test=1: %d → %q", r.status, r.location())
	}
	// A member is refused.
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "mia@acme.example", Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	member := e.client()
	member.signIn("mia@acme.example", newPassword)
	expect(t, member.post(testPath, nil), http.StatusForbidden, "Only admins")
	// Without the form's CSRF token (a forged post from elsewhere): refused.
	admin := e.client()
	admin.signIn(ownerEmail, ownerPassword)
	if r := admin.postRaw(testPath, "", nil); r.status != http.StatusForbidden {
		t.Errorf("test sign-in without the CSRF token: %d", r.status)
	}

	adminSession := admin.sessionCookie()
	post := dev.signInAtIdP(t, admin.startTest(conn.Slug), erinEmail, erinPassword)
	r := admin.postACS(post, dev.srv.URL)
	expect(t, r, http.StatusOK, "Test sign-in succeeded", "Dev IdP signed in "+erinEmail, "Erin Example",
		"staff", "admins", "a real sign-in would create it", "A test changes no account", "Warnings", "now marked as tested")
	if admin.sessionCookie() != adminSession {
		t.Error("the test sign-in replaced the admin's session")
	}
	expect(t, admin.get("/account"), http.StatusOK, owner.Email)
	c, err := e.store.GetIdPConnection(context.Background(), conn.ID)
	if err != nil || c.TestedAt.IsZero() {
		t.Fatalf("connection not marked tested: %+v, %v", c.TestedAt, err)
	}
	// No account was created or linked for the IdP's user, and the test is
	// the admin's own action in the audit log.
	if _, err := e.store.GetAccountByEmail(context.Background(), erinEmail); err == nil {
		t.Error("the test sign-in created an account for the IdP user")
	}
	evs := e.auditEvents(org.ID, "sso.test")
	if len(evs) != 1 || evs[0].ActorID != owner.ID || evs[0].Details["idp_email"] != erinEmail || evs[0].TargetID != conn.ID {
		t.Errorf("sso.test events = %+v", evs)
	}
	if n := len(e.auditEvents(org.ID, "sso.login")) + len(e.auditEvents(org.ID, "sso.link")); n != 0 {
		t.Errorf("%d sso.login/sso.link events for a test", n)
	}
	if got := e.signIns("sso", "test"); got != 1 {
		t.Errorf("sso tests = %v", got)
	}
}

// TestSSOIdPInitiated: an unsolicited response signs in only where the
// connection allows it, and its RelayState is a return path like any
// other: an address off this site lands on /account.
func TestSSOIdPInitiated(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	acs, audience := e.idps.ACSURL(conn), e.idps.SPEntityID(conn)

	// Not allowed: refused, nothing signed in.
	c := e.client()
	r := c.postACS(dev.idpInitiated(t, acs, audience, "/account?x=1"), dev.srv.URL)
	expect(t, r, http.StatusBadRequest, "reason: unsolicited_not_allowed")
	if c.sessionCookie() != "" {
		t.Fatal("an unsolicited response signed in")
	}

	allow := true
	if _, err := e.idps.Update(adminCtx(org.ID), org.ID, conn.ID, idp.UpdateInput{AllowIdPInitiated: &allow}); err != nil {
		t.Fatal(err)
	}
	for relay, want := range map[string]string{
		"/account?x=1":           "/account?x=1",
		"https://evil.example/":  "/account",
		"//evil.example/account": "/account",
		"":                       "/account",
	} {
		c := e.client()
		r := c.postACS(dev.idpInitiated(t, acs, audience, relay), dev.srv.URL)
		if r.status != http.StatusSeeOther || r.location() != want {
			t.Errorf("RelayState %q: %d → %q, want %q", relay, r.status, r.location(), want)
		}
		if c.sessionCookie() == "" {
			t.Errorf("RelayState %q: not signed in", relay)
		}
	}
}

var formRE = regexp.MustCompile(`(?s)<form\b[^>]*>.*?</form>`)

// TestSSOPagesKeepTheRules: the SSO pages carry the security headers, no
// inline script or style, and a CSRF field in every form.
func TestSSOPagesKeepTheRules(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: erinEmail, Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.setSSO(org.ID, storage.SSOOptional, conn)
	choice := c.post("/login", url.Values{"email": {erinEmail}})
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	pages := map[string]response{
		"choice":    choice,
		"redirect":  c.post("/login", url.Values{"email": {erinEmail}}),
		"rejection": c.postRaw("/saml/"+conn.Slug+"/acs", "SAMLResponse=x", nil),
		"acs get":   c.get("/saml/" + conn.Slug + "/acs"),
		"metadata":  c.get("/saml/" + conn.Slug + "/metadata"),
		"begin":     c.get("/saml/" + conn.Slug + "/login"),
	}
	for name, r := range pages {
		h := r.header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: headers %v", name, h)
		}
		if m := inlineRE.FindString(r.body); m != "" {
			t.Errorf("%s: inline script or style %q", name, m)
		}
		for _, f := range formRE.FindAllString(r.body, -1) {
			if !strings.Contains(f, `name="`+httpserver.CSRFField+`"`) {
				t.Errorf("%s: a form without the CSRF field:\n%s", name, f)
			}
		}
	}
}

// TestSSOParallelTabs: sign-ins started in two tabs of one browser both
// complete, in either order, and a successful one leaves the cookie for
// the other.
func TestSSOParallelTabs(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)

	c := e.client()
	first := c.startSSO(erinEmail, "/account?tab=1")
	second := c.startSSO(erinEmail, "/account?tab=2")
	postSecond := dev.signInAtIdP(t, second, erinEmail, erinPassword)
	postFirst := dev.signInAtIdP(t, first, erinEmail, erinPassword)
	for _, tc := range []struct {
		post idpForm
		want string
	}{{postSecond, "/account?tab=2"}, {postFirst, "/account?tab=1"}} {
		r := c.postACS(tc.post, dev.srv.URL)
		if r.status != http.StatusSeeOther || r.location() != tc.want {
			t.Fatalf("tab landing on %s: %d → %q\n%s", tc.want, r.status, r.location(), text(r.body))
		}
	}
}

// TestSSOBindingCookieOnHTTPS: behind https the binding cookie is
// __Host-, Secure and SameSite=None, so the IdP's cross-site post carries
// it.
func TestSSOBindingCookieOnHTTPS(t *testing.T) {
	e := newEnv(t)
	e.handler.Secure = true
	dev := e.startDevIdP()
	_, conn := e.corpOrg(dev, nil)
	r := e.client().get("/saml/" + conn.Slug + "/login")
	if r.status != http.StatusSeeOther {
		t.Fatalf("begin: %d", r.status)
	}
	var got *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if strings.HasPrefix(ck.Name, "__Host-gatehouse_saml") {
			got = ck
		}
	}
	if got == nil {
		t.Fatalf("no __Host-gatehouse_saml cookie in %q", r.header.Values("Set-Cookie"))
	}
	if !got.Secure || !got.HttpOnly || got.SameSite != http.SameSiteNoneMode || got.Path != "/" || got.Domain != "" || got.MaxAge != 600 {
		t.Errorf("cookie = %+v", got)
	}
}
