package web_test

// Security review of the second-factor and emergency pages (issue #7):
// each test is an attack through HTTP; every one must be refused.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// cookieNames is the sorted names of the cookies r sets.
func cookieNames(r response) []string {
	var names []string
	for _, sc := range r.header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(sc, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// samePage fails unless a and b differ only by the email and the per-page
// secrets: status, body, cookies set and Retry-After.
func samePage(t *testing.T, what string, a response, emailA string, b response, emailB string) {
	t.Helper()
	norm := func(r response, email string) string {
		return csrfRE.ReplaceAllString(withoutEmail(r.body, email), "CSRF")
	}
	if a.status != b.status {
		t.Errorf("%s: status %d vs %d", what, a.status, b.status)
	}
	if norm(a, emailA) != norm(b, emailB) {
		t.Errorf("%s: pages differ:\n%s\n---\n%s", what, text(norm(a, emailA)), text(norm(b, emailB)))
	}
	if !slices.Equal(cookieNames(a), cookieNames(b)) {
		t.Errorf("%s: cookies %v vs %v", what, cookieNames(a), cookieNames(b))
	}
	if a.header.Get("Retry-After") != b.header.Get("Retry-After") {
		t.Errorf("%s: Retry-After %q vs %q", what, a.header.Get("Retry-After"), b.header.Get("Retry-After"))
	}
}

// jitMember is an account the IdP created that never signed in through SSO
// since (not eligible to fail back), with newPassword set while SSO was off.
func (e *env) jitMember(orgID, email string) storage.Account {
	e.t.Helper()
	hash, err := account.HashPassword(newPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: email, Role: storage.RoleMember, Status: storage.StatusActive,
		PasswordHash: hash, Origin: storage.OriginJIT, PasswordOrigin: storage.PasswordOpen, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// During an emergency, an unknown address, an ineligible account and an
// eligible one get the same emergency page, the same answer to a wrong (or,
// for the ineligible one, right) password and the same "check your email"
// page; only the eligible one is mailed.
func TestSecurityReviewEmergencyNoEnumeration(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	kim, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "kim@" + corpDomain, Password: newPassword})
	if err != nil {
		t.Fatal(err)
	}
	jit := e.jitMember(org.ID, "jit@"+corpDomain)
	nobody := "nobody@" + corpDomain
	e.startEmergency(org.ID, "IdP down", e.clock.Now().Add(4*time.Hour))

	type answers struct{ page, password, forgot response }
	try := func(email, pw string) answers {
		c := e.client()
		c.get("/login")
		var a answers
		a.page = c.post("/login", url.Values{"email": {email}})
		a.password = c.post("/login/password", url.Values{"email": {email}, "password": {pw}})
		a.forgot = c.post("/forgot", url.Values{"email": {email}})
		if c.sessionCookie() != "" {
			t.Fatalf("%s signed in", email)
		}
		return a
	}
	mailsBefore := len(e.mails())
	ak := try(kim.Email, "wrong-"+newPassword)
	aj := try(jit.Email, newPassword) // the right password of an ineligible account
	an := try(nobody, newPassword)
	for _, other := range []struct {
		a     answers
		email string
	}{{aj, jit.Email}, {an, nobody}} {
		samePage(t, "emergency page "+other.email, ak.page, kim.Email, other.a.page, other.email)
		samePage(t, "password answer "+other.email, ak.password, kim.Email, other.a.password, other.email)
		samePage(t, "reset answer "+other.email, ak.forgot, kim.Email, other.a.forgot, other.email)
	}
	var to []string
	for _, m := range e.mails()[mailsBefore:] {
		to = append(to, m.To)
	}
	if !slices.Equal(to, []string{kim.Email}) {
		t.Errorf("reset mails went to %v, want only the eligible %s", to, kim.Email)
	}
	if ev := e.auditEvents(org.ID, "login.failback_refused"); len(ev) == 0 || ev[0].TargetID != jit.ID {
		t.Errorf("the ineligible password sign-in was not audited: %+v", ev)
	}
}

// An eligible account that never had a password sets one through the
// reset mail during emergency A and signs in; once A ends the password is
// refused and the login goes to SSO again, and emergency B does not revive it.
func TestSecurityReviewEmergencyPasswordLifecycle(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	noa, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "noa@" + corpDomain})
	if err != nil {
		t.Fatal(err)
	}
	a := e.startEmergency(org.ID, "IdP down", e.clock.Now().Add(4*time.Hour))

	c := e.client()
	before := len(e.mails())
	expect(t, c.post("/forgot", url.Values{"email": {noa.Email}}), http.StatusOK, "Check your email")
	msgs := e.mails()[before:]
	if len(msgs) != 1 {
		t.Fatalf("%d reset mails, want 1", len(msgs))
	}
	link := linkIn(t, msgs[0].Text)
	token := tokenOf(t, link)
	r := c.post("/reset", url.Values{"token": {token}, "password": {"amber-willow-signal-93"}, "confirm": {"amber-willow-signal-93"}})
	expect(t, r, http.StatusOK, "Password set")
	r = c.post("/login/password", url.Values{"email": {noa.Email}, "password": {"amber-willow-signal-93"}})
	if r.status != http.StatusSeeOther || c.sessionCookie() == "" {
		t.Fatalf("emergency password sign-in: %d\n%s", r.status, text(r.body))
	}
	v, err := e.sessions.Validate(context.Background(), c.sessionCookie())
	if err != nil || v.Session.EmergencyID != a.ID {
		t.Fatalf("session %+v, %v; want made under %s", v.Session, err, a.ID)
	}

	if _, err := e.emergencies.End(adminCtx(org.ID), org.ID, a.ID, emergency.EndInput{}); err != nil {
		t.Fatal(err)
	}
	c2 := e.client()
	r = c2.post("/login", url.Values{"email": {noa.Email}})
	if refreshTarget(t, r) == "" {
		t.Fatal("after the emergency the login does not go to SSO")
	}
	r = c2.post("/login/password", url.Values{"email": {noa.Email}, "password": {"amber-willow-signal-93"}})
	if r.status == http.StatusSeeOther || c2.sessionCookie() != "" {
		t.Fatalf("emergency password after the end: %d", r.status)
	}
	e.startEmergency(org.ID, "IdP down again", e.clock.Now().Add(time.Hour))
	c3 := e.client()
	r = c3.post("/login/password", url.Values{"email": {noa.Email}, "password": {"amber-willow-signal-93"}})
	if r.status == http.StatusSeeOther || c3.sessionCookie() != "" {
		t.Fatalf("emergency A's password during emergency B: %d", r.status)
	}
}

// The MFA step: no session before the last factor, a planted cookie is not
// adopted, return_to cannot leave the site, the new endpoints need the CSRF
// token, and neither enrolment nor a made-up assertion replaces the code.
func TestSecurityReviewMFAStepHTTP(t *testing.T) {
	e := newEnv(t)
	_, ann := e.strictMember("ann@" + corpDomain)
	secret, _ := e.enrolTOTP(ann)

	for _, evil := range []string{"https://evil.example/x", "//evil.example/x", `/\evil.example`} {
		c := e.client()
		c.setSessionCookie("planted-by-an-attacker")
		r := c.post("/login/password", url.Values{"email": {ann.Email}, "password": {newPassword}, "return_to": {evil}})
		if r.status != http.StatusSeeOther || !mfaPathRe.MatchString(r.location()) {
			t.Fatalf("password step: %d → %q", r.status, r.location())
		}
		if c.sessionCookie() != "planted-by-an-attacker" {
			t.Fatal("a session cookie was set before the second factor")
		}
		flow := strings.TrimPrefix(r.location(), "/login/mfa?flow=")

		// Without the CSRF token, or from another origin.
		noToken := url.Values{"flow": {flow}, "code": {e.totpCode(secret)}, "csrf_token": {""}}
		for _, path := range []string{"/login/mfa", "/login/mfa/enrol", "/login/passkey/options", "/login/passkey"} {
			if r := c.post(path, noToken); r.status != http.StatusForbidden {
				t.Errorf("%s without the CSRF token: %d", path, r.status)
			}
			form := url.Values{"flow": {flow}, "csrf_token": {c.csrf()}}
			if r := c.postRaw(path, form.Encode(), http.Header{"Origin": {"https://evil.example"}}); r.status != http.StatusForbidden {
				t.Errorf("%s from another origin: %d", path, r.status)
			}
		}
		// Enrolment and a made-up passkey assertion at the MFA step.
		if r := c.post("/login/mfa/enrol", url.Values{"flow": {flow}, "code": {"123456"}}); c.sessionCookie() != "planted-by-an-attacker" {
			t.Fatalf("enrolment at the MFA step signed in: %d", r.status)
		}
		c.post("/login/passkey", url.Values{"flow": {flow}, "step": {"mfa"}, "challenge": {"x"}, "assertion": {`{"id":"x"}`}})
		if c.sessionCookie() != "planted-by-an-attacker" {
			t.Fatal("a made-up passkey assertion signed in")
		}
		// The flow may have been ended by the refused steps: start again.
		r = c.post("/login/password", url.Values{"email": {ann.Email}, "password": {newPassword}, "return_to": {evil}})
		flow = strings.TrimPrefix(r.location(), "/login/mfa?flow=")
		e.clock.Advance(30 * time.Second)
		r = c.post("/login/mfa", url.Values{"flow": {flow}, "kind": {"totp"}, "code": {e.totpCode(secret)}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("right code: %d\n%s", r.status, text(r.body))
		}
		if loc := r.location(); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) {
			t.Errorf("return_to %q led to %q", evil, loc)
		}
		if got := c.sessionCookie(); got == "" || got == "planted-by-an-attacker" {
			t.Errorf("session cookie after the last factor: %q", got)
		}
	}
}

// Many wrong codes at once, each from its own flow, are not all checked:
// the throttle reserves an attempt before a code is evaluated, so a burst
// cannot outrun the count.
func TestSecurityReviewParallelCodeGuessing(t *testing.T) {
	e := newEnv(t)
	org, ann := e.strictMember("ann@" + corpDomain)
	e.enrolTOTP(ann)
	const n = 20
	clients := make([]*client, n)
	flows := make([]string, n)
	for i := range n {
		clients[i] = e.client()
		flows[i] = strings.TrimPrefix(clients[i].toSecondStep(ann.Email), "/login/mfa?flow=")
	}
	// Forms are built first: the test's client helpers may not fail off
	// the test goroutine, so the posts go through the raw HTTP client.
	done := make(chan int, n)
	for i := range n {
		form := url.Values{"flow": {flows[i]}, "kind": {"totp"}, "code": {"000000"}, "csrf_token": {clients[i].csrf()}}
		go func(c *client, body string) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/login/mfa", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.hc.Do(req)
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}(clients[i], form.Encode())
	}
	for range n {
		<-done
	}
	checked := 0
	for _, ev := range e.auditEvents(org.ID, "mfa.totp_failed") {
		if ev.Reason != "throttled" {
			checked++
		}
	}
	t.Logf("%d of %d wrong codes checked", checked, n)
	if checked == 0 || checked > 10 {
		t.Fatalf("%d of %d parallel wrong codes were checked, want at most the throttle's 10", checked, n)
	}
}

// Removing an authenticator app asks for its code; setting up another one
// over it must too, or whoever holds the session (an unlocked laptop, a
// stolen cookie) swaps the person's app for their own by posting the
// set-up forms the page does not show once an app is on.
func TestSecurityReviewAccountCannotReplaceTOTPWithoutItsCode(t *testing.T) {
	e := newEnv(t)
	_, owner := e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	old, _ := e.enrolTOTP(owner)

	r := c.post("/account/totp/begin", nil)
	var fresh string
	if m := secretRe.FindStringSubmatch(r.body); m != nil {
		fresh = m[1]
	}
	if fresh != "" {
		r = c.post("/account/totp/confirm", url.Values{"code": {appCode(t, fresh, e.clock.Now())}})
		if r.status == http.StatusOK && strings.Contains(text(r.body), "Your authenticator app is set up") {
			t.Fatal("a second authenticator app replaced the first without its code")
		}
	}
	e.clock.Advance(30 * time.Second)
	if err := e.mfa.VerifyTOTP(t.Context(), owner.ID, e.totpCode(old)); err != nil {
		t.Fatalf("the person's own app stopped working: %v", err)
	}
}
