package web_test

// The review's attacks on a sign-in in progress: flows taken to another
// browser, replayed, tampered with or continued too late, planted
// cookies, hostile Referers, and the admin's test sign-in.

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// flowCookie plants the sign-in flow cookie (the development name, as
// these servers run on http) in c.
func (c *client) plantFlowCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_login", Value: v, Path: "/"}})
}

func (c *client) flowCookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "gatehouse_login" {
			return ck.Value
		}
	}
	return ""
}

// expectStartAgain fails unless r sends the browser back to the email
// step saying the sign-in cannot continue, without a session.
func expectStartAgain(t *testing.T, c *client, r response, what string) {
	t.Helper()
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login?") || !strings.Contains(r.location(), "notice=start-again") {
		t.Errorf("%s: %d → %q, want back to /login?notice=start-again", what, r.status, r.location())
	}
	if c.sessionCookie() != "" {
		t.Errorf("%s: the browser got a session", what)
	}
}

func (e *env) liveSessions(accountID string) int {
	e.t.Helper()
	ss, err := e.sessions.List(context.Background(), accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ss)
}

// TestReviewFlowAbuse: a flow's ID alone (it is in the page) continues
// nothing; the hidden email field is not what is checked; a flow is spent
// by its session and dies after signin.FlowTTL.
func TestReviewFlowAbuse(t *testing.T) {
	e := newEnv(t)
	org, owner := e.setupOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)

	t.Run("another browser", func(t *testing.T) {
		victim := e.client()
		flow := victim.flowFor(mia.Email, "")
		attacker := e.client()
		r := attacker.post("/login/password", url.Values{"flow": {flow}, "email": {mia.Email}, "password": {memberPassword}})
		expectStartAgain(t, attacker, r, "the victim's flow from another browser")
		if n := e.liveSessions(mia.ID); n != 0 {
			t.Fatalf("%d sessions for mia", n)
		}
		// The victim is not disturbed.
		if r := victim.post("/login/password", url.Values{"flow": {flow}, "password": {memberPassword}}); r.status != http.StatusSeeOther || victim.sessionCookie() == "" {
			t.Errorf("the victim's own sign-in: %d", r.status)
		}
	})

	t.Run("tampered email field", func(t *testing.T) {
		// The flow is Mia's (or an unknown address's); the form claims the
		// owner's email and carries the owner's password.
		for _, typed := range []string{mia.Email, "nobody@acme.example"} {
			c := e.client()
			flow := c.flowFor(typed, "")
			r := c.post("/login/password", url.Values{"flow": {flow}, "email": {owner.Email}, "password": {ownerPassword}})
			expect(t, r, http.StatusUnauthorized, "The email or password is incorrect.", typed)
			if strings.Contains(r.body, owner.Email) || c.sessionCookie() != "" {
				t.Errorf("flow for %s: the owner's email was taken from the form", typed)
			}
		}
		if n := e.liveSessions(owner.ID); n != 0 {
			t.Errorf("%d sessions for the owner", n)
		}
	})

	t.Run("replayed after success", func(t *testing.T) {
		c := e.client()
		flow := c.flowFor(owner.Email, "")
		form := func() url.Values { return url.Values{"flow": {flow}, "password": {ownerPassword}} }
		if r := c.post("/login/password", form()); r.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", r.status)
		}
		first := c.sessionCookie()
		// The same post again, from the same browser and from a copy of
		// its flow cookie elsewhere.
		thief := e.client()
		thief.plantFlowCookie(c.flowCookie())
		expectStartAgain(t, thief, thief.post("/login/password", form()), "the spent flow from a copied cookie")
		r := c.post("/login/password", form())
		if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "notice=start-again") {
			t.Errorf("the spent flow again: %d → %q", r.status, r.location())
		}
		if c.sessionCookie() != first || e.liveSessions(owner.ID) != 1 {
			t.Errorf("a replay made another session (%d live)", e.liveSessions(owner.ID))
		}
		// Nor can it go on to SSO.
		expectStartAgain(t, thief, thief.get("/login/sso?flow="+url.QueryEscape(flow)), "SSO on the spent flow")
	})

	t.Run("expired", func(t *testing.T) {
		c := e.client()
		flow := c.flowFor(mia.Email, "")
		e.clock.Advance(signin.FlowTTL)
		expectStartAgain(t, c, c.post("/login/password", url.Values{"flow": {flow}, "password": {memberPassword}}), "an expired flow")
		expectStartAgain(t, c, c.get("/login/sso?flow="+url.QueryEscape(flow)), "SSO on an expired flow")
	})

	t.Run("SSO where there is none", func(t *testing.T) {
		// acme.example is nobody's verified domain: no IdP to go to.
		c := e.client()
		flow := c.flowFor(mia.Email, "")
		expectStartAgain(t, c, c.get("/login/sso?flow="+url.QueryEscape(flow)), "SSO for a password-only address")
		// The flow is still good for its password.
		if r := c.post("/login/password", url.Values{"flow": {flow}, "password": {memberPassword}}); r.status != http.StatusSeeOther {
			t.Errorf("password after the refused SSO: %d", r.status)
		}
	})

	t.Run("flow_refused is audited", func(t *testing.T) {
		if evs := e.auditEvents("", "login.flow_refused"); len(evs) == 0 {
			t.Error("no login.flow_refused events for the refused steps")
		}
	})
}

// TestReviewPlantedFlowCookie: an attacker who set a victim's flow cookie
// to a secret they know (a sibling subdomain can, under the development
// cookie name) and learned the victim's flow ID still cannot sign in as
// the victim: the flow wants the password, and once the victim finishes,
// it is spent.
func TestReviewPlantedFlowCookie(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	attacker := e.client()
	attacker.get("/login")
	attacker.post("/login", url.Values{"email": {"attacker@evil.example"}})
	secret := attacker.flowCookie()
	if len(secret) != 43 {
		t.Fatalf("attacker's flow secret %q", secret)
	}
	victim := e.client()
	victim.plantFlowCookie(secret)
	flow := victim.flowFor(ownerEmail, "")
	if victim.flowCookie() != secret {
		t.Logf("the planted secret was replaced (%q)", victim.flowCookie())
	}
	// Before the victim submits: guesses are only guesses.
	r := attacker.post("/login/password", url.Values{"flow": {flow}, "password": {"guess-guess-guess-1"}})
	if attacker.sessionCookie() != "" || r.status == http.StatusSeeOther && !strings.Contains(r.location(), "start-again") {
		t.Fatalf("the attacker's guess on the victim's flow: %d → %q", r.status, r.location())
	}
	if r := victim.post("/login/password", url.Values{"flow": {flow}, "password": {ownerPassword}}); r.status != http.StatusSeeOther || victim.sessionCookie() == "" {
		t.Fatalf("the victim's sign-in: %d", r.status)
	}
	// After: the flow is spent, for the attacker too.
	expectStartAgain(t, attacker, attacker.post("/login/password", url.Values{"flow": {flow}, "password": {ownerPassword}}), "the victim's spent flow")
}

// TestReviewPlantedSessionEndsAtSSOSignIn: a session cookie in the browser
// before an SSO sign-in is replaced by a new one, and ended when the
// browser sends it with the IdP's post (see
// TestReviewSSOSignInEndsThePreviousSessionInARealBrowser for when it
// does not).
func TestReviewPlantedSessionEndsAtSSOSignIn(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	attacker := e.client()
	attacker.signIn(ownerEmail, ownerPassword)
	victim := e.client()
	victim.setSessionCookie(attacker.sessionCookie())
	r := victim.postACS(dev.signInAtIdP(t, victim.startSSO(erinEmail, ""), erinEmail, erinPassword), dev.srv.URL)
	if r.status != http.StatusSeeOther || victim.sessionCookie() == "" || victim.sessionCookie() == attacker.sessionCookie() {
		t.Fatalf("SSO sign-in: %d, cookie kept: %v", r.status, victim.sessionCookie() == attacker.sessionCookie())
	}
	if r := attacker.get("/account"); r.status != http.StatusSeeOther {
		t.Error("the planted session outlived the SSO sign-in")
	}
}

// TestReviewNoOpenRedirectThroughReferer: a form posted after the session
// ended comes back to the page it was on, and only to a page of this
// server, whatever the Referer says.
func TestReviewNoOpenRedirectThroughReferer(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	srv, _ := url.Parse(e.srv.URL)
	host := srv.Host
	for _, ref := range []string{
		"http://" + host + "//evil.example/x",
		"http://" + host + "/%2F%2Fevil.example",
		"http://" + host + "/%5Cevil.example",
		"http://" + host + "/\\evil.example",
		"http://" + host + "/a/../..//evil.example",
		"http://" + host + "/account?x=%0d%0aLocation:%20http://evil.example",
		"http://evil.example/account",
		"https://" + host + ".evil.example/account",
		"http://" + host + "@evil.example/account",
		"javascript://" + host + "/%0aalert(1)",
	} {
		c := e.client()
		r := c.postRaw("/account/password", url.Values{"csrf_token": {c.csrf()}}.Encode(), http.Header{"Referer": {ref}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("Referer %q: %d", ref, r.status)
		}
		loc, err := url.Parse(r.location())
		if err != nil || loc.Host != "" || loc.Path != "/login" {
			t.Errorf("Referer %q → %q", ref, r.location())
			continue
		}
		rt := loc.Query().Get("return_to")
		if rt == "" {
			continue
		}
		// Followed through the sign-in, the return path stays here.
		c.get(r.location())
		flow := c.flowFor(ownerEmail, rt)
		done := c.post("/login/password", url.Values{"flow": {flow}, "password": {ownerPassword}, "return_to": {rt}})
		final, err := srv.Parse(done.location())
		if err != nil || final.Host != host || strings.HasPrefix(final.Path, "//") || strings.Contains(done.location(), "evil.example") && !strings.HasPrefix(done.location(), "/") {
			t.Errorf("Referer %q: return_to %q, after sign-in → %q", ref, rt, done.location())
		}
	}
}

// TestReviewEnforcedPasswordCountsLikeAWrongOne: the right password of an
// account its policy keeps on SSO is counted like a wrong one (so posting
// it does not bypass throttling), audited as sso_enforced, and once the
// address is throttled even the right password of a password account is
// not checked.
func TestReviewEnforcedPasswordCountsLikeAWrongOne(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	erin := e.addMember(org.ID, erinEmail, storage.RoleMember)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	c := e.client()
	var throttledAt int
	for i := 1; i <= 10; i++ {
		r := c.post("/login/password", url.Values{"email": {erin.Email}, "password": {memberPassword}})
		if r.status == http.StatusTooManyRequests {
			throttledAt = i
			break
		}
		expect(t, r, http.StatusUnauthorized, "The email or password is incorrect.")
	}
	if throttledAt == 0 {
		t.Fatal("ten right passwords of an SSO-enforced account were never throttled")
	}
	// An ordinary wrong password is throttled after as many tries.
	e.clock.Advance(24 * time.Hour)
	other := e.addMember(org.ID, "pat@"+corpDomain, storage.RoleMember)
	e.namedPolicy(org.ID, "Passwords", storage.SSOOff, nil, other.Email)
	d := e.client()
	var wrongAt int
	for i := 1; i <= 10; i++ {
		r := d.post("/login/password", url.Values{"email": {other.Email}, "password": {"wrong-" + strconv.Itoa(i) + "-password"}})
		if r.status == http.StatusTooManyRequests {
			wrongAt = i
			break
		}
	}
	if wrongAt != throttledAt {
		t.Errorf("throttled after %d right passwords of an SSO account, %d wrong ones of a password account", throttledAt, wrongAt)
	}
	evs := e.auditEvents(org.ID, "login.failure")
	n := 0
	for _, ev := range evs {
		if ev.TargetID == erin.ID {
			n++
			if ev.Reason != "sso_enforced" {
				t.Errorf("erin's failure audited as %q", ev.Reason)
			}
		}
	}
	if n != throttledAt-1 {
		t.Errorf("%d failures audited for erin, want %d", n, throttledAt-1)
	}
	if e.liveSessions(erin.ID) != 0 {
		t.Error("erin signed in with a password")
	}
}

// TestReviewTestSignInChangesNothing: an admin's test sign-in through a
// connection, for an IdP user who already has an account, neither links
// nor changes that account; its response cannot be replayed, in the same
// browser or another, into a real sign-in; and an admin demoted between
// starting and finishing a test proves nothing.
func TestReviewTestSignInChangesNothing(t *testing.T) {
	e := newEnv(t)
	org, owner := e.setupOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil) // JIT on: a real sign-in would link or create
	ctx := context.Background()
	erin, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: erinEmail, DisplayName: "Old Name", Password: newPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAccountGroups(ctx, erin.ID, []string{"old-group"}); err != nil {
		t.Fatal(err)
	}

	t.Run("demoted admin", func(t *testing.T) {
		ada := e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
		c := e.client()
		c.signIn(ada.Email, memberPassword)
		post := dev.signInAtIdP(t, c.startTest(conn.Slug), erinEmail, erinPassword)
		if _, err := e.accounts.SetRole(adminCtx(org.ID), org.ID, ada.ID, storage.RoleMember); err != nil {
			t.Fatal(err)
		}
		r := c.postACS(post, dev.srv.URL)
		if r.status == http.StatusOK || strings.Contains(r.body, "Test sign-in succeeded") {
			t.Fatalf("a demoted admin's test succeeded: %d\n%s", r.status, text(r.body))
		}
		got, err := e.store.GetIdPConnection(ctx, conn.ID)
		if err != nil || !got.TestedAt.IsZero() {
			t.Errorf("the connection was marked tested by a demoted admin: %v, %v", got.TestedAt, err)
		}
		if evs := e.auditEvents(org.ID, "sso.test"); len(evs) != 0 {
			t.Errorf("sso.test events: %+v", evs)
		}
	})

	admin := e.client()
	admin.signIn(owner.Email, ownerPassword)
	adminSession := admin.sessionCookie()
	post := dev.signInAtIdP(t, admin.startTest(conn.Slug), erinEmail, erinPassword)
	expect(t, admin.postACS(post, dev.srv.URL), http.StatusOK, "Test sign-in succeeded", erinEmail)

	// Replayed: in the admin's browser, and in a browser that has a real
	// sign-in pending through the same connection.
	r := admin.postACS(post, dev.srv.URL)
	if r.status == http.StatusOK || r.status == http.StatusSeeOther {
		t.Errorf("the test response replayed in the admin's browser: %d\n%s", r.status, text(r.body))
	}
	other := e.client()
	other.beginSSO("/saml/" + conn.Slug + "/login")
	if r := other.postACS(post, dev.srv.URL); r.status == http.StatusOK || r.status == http.StatusSeeOther || other.sessionCookie() != "" {
		t.Errorf("the test response replayed as a real sign-in: %d", r.status)
	}
	if admin.sessionCookie() != adminSession {
		t.Error("the admin's session changed")
	}

	// Erin's account: as it was.
	after, err := e.store.GetAccount(ctx, erin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.DisplayName != "Old Name" || after.Version != erin.Version || after.Email != erin.Email {
		t.Errorf("the test changed the account: %+v", after)
	}
	groups, err := e.store.ListAccountGroups(ctx, erin.ID)
	if err != nil || !reflect.DeepEqual(groups, []string{"old-group"}) {
		t.Errorf("groups after a test: %v, %v", groups, err)
	}
	links, err := e.store.ListAccountSSOLinks(ctx, erin.ID)
	if err != nil || len(links) != 0 {
		t.Errorf("links after a test: %+v, %v", links, err)
	}
	if e.liveSessions(erin.ID) != 0 {
		t.Error("the test signed the IdP user in")
	}
}

// TestReviewSSOForABreakGlassFlow: /login/sso for a break-glass admin (a
// policy with SSO off, in a domain whose default enforces SSO) goes on to
// the domain's IdP like every address of the domain, and the IdP's word
// for that admin is refused: the break-glass account is reachable only
// with its password.
func TestReviewSSOForABreakGlassFlow(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	erin := e.addMember(org.ID, erinEmail, storage.RoleAdmin)
	e.namedPolicy(org.ID, "Break-glass", storage.SSOOff, nil, erin.Email)
	e.setSSO(org.ID, storage.SSOEnforced, conn)

	c := e.client()
	idpURL := c.startSSO(erin.Email, "")
	if !strings.HasPrefix(idpURL, dev.SSOURL()+"?") {
		t.Fatalf("/login/sso for the break-glass admin → %q, want the domain's IdP", idpURL)
	}
	r := c.postACS(dev.signInAtIdP(t, idpURL, erinEmail, erinPassword), dev.srv.URL)
	expect(t, r, http.StatusForbidden, "sso_not_allowed")
	if c.sessionCookie() != "" || e.liveSessions(erin.ID) != 0 {
		t.Error("the IdP signed the break-glass admin in")
	}
	links, err := e.store.ListAccountSSOLinks(context.Background(), erin.ID)
	if err != nil || len(links) != 0 {
		t.Errorf("the refused response linked the break-glass admin: %+v, %v", links, err)
	}
}

// TestReviewRefusedFlowStepsAreBounded: steps refused on an existing flow
// are audited only up to the client address's budget (they are still
// refused), so one anonymous client cannot grow the audit log without end.
func TestReviewRefusedFlowStepsAreBounded(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	owner := e.client()
	flow := owner.flowFor(ownerEmail, "")
	before := len(e.auditEvents("", "login.flow_refused"))
	const n = 120
	attacker := e.client()
	for range n {
		r := attacker.post("/login/password", url.Values{"flow": {flow}, "password": {"x"}})
		if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "notice=start-again") {
			t.Fatalf("a refused step answered %d → %q", r.status, r.location())
		}
	}
	if got := len(e.auditEvents("", "login.flow_refused")) - before; got != 50 {
		t.Errorf("%d login.flow_refused events for %d refused steps from one address, want the budget of 50", got, n)
	}
}

// TestReviewSSOSignInEndsThePreviousSessionInARealBrowser: the session
// cookie is SameSite=Lax, so a real browser does not send it with the
// IdP's cross-site post to the ACS. The flow records, at /login/sso (a
// same-site request that carries the cookie), which session the browser
// held, and issuing the new session ends it.
func TestReviewSSOSignInEndsThePreviousSessionInARealBrowser(t *testing.T) {
	e := newEnv(t)
	_, owner := e.setupOwner()
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	old := c.sessionCookie()
	idpURL := c.startSSO(erinEmail, "")
	post := dev.signInAtIdP(t, idpURL, erinEmail, erinPassword)
	// The cross-site post, as a browser sends it: without the Lax cookie.
	c.setSessionCookie("")
	if r := c.postACS(post, dev.srv.URL); r.status != http.StatusSeeOther || c.sessionCookie() == "" || c.sessionCookie() == old {
		t.Fatalf("SSO sign-in: %d", r.status)
	}
	if n := e.liveSessions(owner.ID); n != 0 {
		t.Errorf("the browser's previous session is still live (%d) after a new sign-in through SSO", n)
	}
}

// TestReviewSSOStartedLateInTheFlow: a person who waits at the password
// page before choosing SSO, then takes a few minutes at the IdP, comes
// back within the AuthnRequest's life. The IdP's answer must then finish
// the sign-in, not be taken (the account linked or created, sso.login
// audited) and answered with "start again" because the flow, started at
// the email step, expired in between.
func TestReviewSSOStartedLateInTheFlow(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOOptional, conn)

	c := e.client()
	flow := c.flowFor(erinEmail, "/account?late=1")
	e.clock.Advance(signin.FlowTTL - time.Minute) // reading the page
	idpURL := c.beginSSO("/login/sso?flow=" + url.QueryEscape(flow))
	post := dev.signInAtIdP(t, idpURL, erinEmail, erinPassword)
	e.clock.Advance(3 * time.Minute) // at the IdP: well within the AuthnRequest's life
	r := c.postACS(post, dev.srv.URL)
	if r.status != http.StatusSeeOther || r.location() != "/account?late=1" || c.sessionCookie() == "" {
		t.Fatalf("the IdP's answer 12 minutes after the email step, 3 after SSO started: %d → %q", r.status, r.location())
	}
	if n := len(e.auditEvents(org.ID, "sso.login")); n != 1 {
		t.Errorf("%d sso.login events", n)
	}
}

// TestReviewPlantedBindingCookieInDevelopmentMode: under the development
// cookie names (plain http, no __Host- prefix), whoever can set a cookie
// for the host — a sibling subdomain, anyone on the network — can plant
// their own SAML binding secret, and then a response the attacker got for
// their own request signs the victim's browser in as the attacker (login
// CSRF). The flow cookie adds nothing to this: the ACS binds by the SAML
// cookie alone. On https the cookie is __Host-gatehouse_saml, which a
// sibling cannot set.
//
// Finding (informational, by design of the development set-up), not fixed.
func TestReviewPlantedBindingCookieInDevelopmentMode(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	attacker := e.client() // erin, at the IdP
	post := dev.signInAtIdP(t, attacker.beginSSO("/saml/"+conn.Slug+"/login"), erinEmail, erinPassword)
	victim := e.client()
	u, _ := url.Parse(e.srv.URL)
	victim.jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_saml", Value: attacker.bindingCookie().Value, Path: "/"}})
	r := victim.postACS(post, dev.srv.URL)
	if r.status != http.StatusSeeOther || victim.sessionCookie() == "" {
		t.Fatalf("the planted binding was refused (%d): the finding below no longer holds, update this test", r.status)
	}
	t.Skip("finding: with the development cookie names, a planted SAML binding cookie lets an attacker's response sign a victim's browser in as the attacker")
}
