package web_test

import (
	"context"
	"errors"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

func TestSetupCreatesOwnerAndSignsIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	link, err := e.accounts.EnsureSetupLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	r := c.get(pathOf(t, link))
	expect(t, r, http.StatusOK, "Set up Gatehouse", "Organization name", "Your name", "Your email address", "At least 12 characters")
	if !strings.Contains(r.body, `autocomplete="new-password"`) || !strings.Contains(r.body, `autocomplete="organization"`) {
		t.Error("set-up form lacks autocomplete attributes")
	}

	form := url.Values{
		"token": {tokenOf(t, link)}, "org_name": {orgName}, "display_name": {"Olivia Owner"},
		"email": {ownerEmail}, "password": {ownerPassword}, "confirm": {ownerPassword + "x"},
	}
	before := e.auditCount()
	r = c.post("/setup", form)
	expect(t, r, http.StatusBadRequest, "The two passwords don't match", orgName)
	if e.auditCount() != before {
		t.Error("a refused set-up form wrote audit events")
	}
	if orgs, _ := e.accounts.ListOrganizations(context.Background()); len(orgs) != 0 {
		t.Fatalf("a refused set-up form created %d organizations", len(orgs))
	}

	form.Set("confirm", "short")
	form.Set("password", "short")
	r = c.post("/setup", form)
	expect(t, r, http.StatusBadRequest, "12")
	if !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Error("the password field is not marked invalid")
	}

	form.Set("password", ownerPassword)
	form.Set("confirm", ownerPassword)
	r = c.post("/setup", form)
	if r.status != http.StatusSeeOther || r.location() != "/admin?notice=welcome" {
		t.Fatalf("set-up: %d → %q; page:\n%s", r.status, r.location(), text(r.body))
	}
	if c.sessionCookie() == "" {
		t.Fatal("set-up did not sign the owner in")
	}
	// The owner lands in the console, which says what to do next.
	expect(t, c.get(r.location()), http.StatusOK, "Welcome!", "add your email domain", orgName)
	expect(t, c.get("/account"), http.StatusOK, "Olivia Owner", ownerEmail, orgName, "Owner", "This device",
		"Password, chosen at set-up")
	if got := e.signIns("setup", "success"); got != 1 {
		t.Errorf("setup sign-ins = %v, want 1", got)
	}

	// The link is spent and set-up is done: both say "sign in instead".
	expect(t, c.get(pathOf(t, link)), http.StatusOK, "This is already set up", "Go to sign in")
	expect(t, c.get("/setup?token=bogus"), http.StatusOK, "This is already set up")
}

func TestSetupLinkInvalid(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	expect(t, c.get("/setup?token=bogus"), http.StatusBadRequest, "This set-up link doesn't work")
	expect(t, c.get("/setup"), http.StatusBadRequest, "This set-up link doesn't work")
}

func TestIdentifierFirstSignIn(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()

	r := c.get("/login")
	expect(t, r, http.StatusOK, "Sign in", "to continue to "+orgName)
	for _, want := range []string{`<title>Sign in · Acme Corp</title>`, `type="email"`, `inputmode="email"`, `autocomplete="username"`, `<label for="email">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("step 1 lacks %s", want)
		}
	}
	if strings.Contains(r.body, `type="password"`) {
		t.Error("step 1 asks for a password")
	}

	r = c.post("/login", url.Values{"email": {"  Owner@ACME.example "}})
	expect(t, r, http.StatusOK, "Enter your password", "Signing in as owner@acme.example", "Not you?", "Forgot or never set a password?")
	for _, want := range []string{`<input type="email" name="email" autocomplete="username" value="owner@acme.example" hidden>`, `autocomplete="current-password"`, `href="/forgot?email=owner%40acme.example"`, `<label for="password">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("step 2 lacks %s", want)
		}
	}

	r = c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	if r.status != http.StatusSeeOther || r.location() != "/account" {
		t.Fatalf("sign-in: %d → %q", r.status, r.location())
	}
	if got := e.signIns("password", "success"); got != 1 {
		t.Errorf("password successes = %v, want 1", got)
	}
	expect(t, c.get("/account"), http.StatusOK, "Olivia Owner", "Chrome on Linux", "127.0.0.1", "Password 127.0.0.1 · signed in just now")

	// Signed in: /login and / go straight on.
	if r := c.get("/login?return_to=/account%3Ftab%3D1"); r.status != http.StatusSeeOther || r.location() != "/account?tab=1" {
		t.Errorf("GET /login signed in: %d → %q", r.status, r.location())
	}
	if r := c.get("/"); r.status != http.StatusSeeOther || r.location() != "/account" {
		t.Errorf("GET / signed in: %d → %q", r.status, r.location())
	}
	// A refreshed step 2 starts over.
	if r := e.client().get("/login/password"); r.status != http.StatusSeeOther || r.location() != "/login" {
		t.Errorf("GET /login/password: %d → %q", r.status, r.location())
	}
}

func TestSignInReturnsToTheRequestedPage(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	r := c.get("/account?tab=sessions")
	if r.status != http.StatusSeeOther || r.location() != "/login?return_to=%2Faccount%3Ftab%3Dsessions" {
		t.Fatalf("signed out /account: %d → %q", r.status, r.location())
	}
	if r := c.get("/"); r.location() != "/login" {
		t.Errorf("GET / signed out → %q", r.location())
	}
	r = c.get(r.location())
	if !strings.Contains(r.body, `name="return_to" value="/account?tab=sessions"`) {
		t.Fatalf("step 1 does not carry return_to:\n%s", r.body)
	}
	r = c.post("/login", url.Values{"email": {ownerEmail}, "return_to": {"/account?tab=sessions"}})
	if !strings.Contains(r.body, `name="return_to" value="/account?tab=sessions"`) {
		t.Fatal("step 2 does not carry return_to")
	}
	if !strings.Contains(r.body, `href="/login?return_to=%2faccount%3ftab%3dsessions"`) {
		t.Errorf("the Not you? link drops return_to")
	}
	r = c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "return_to": {"/account?tab=sessions"}})
	if r.status != http.StatusSeeOther || r.location() != "/account?tab=sessions" {
		t.Fatalf("sign-in: %d → %q", r.status, r.location())
	}
}

func TestEmailStepRejectsMalformedAddress(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	before := e.auditCount()
	r := c.post("/login", url.Values{"email": {"not an address"}})
	expect(t, r, http.StatusBadRequest, "Enter one email address")
	if !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `aria-describedby="email-error"`) {
		t.Error("the email field is not marked invalid")
	}
	if !strings.Contains(r.body, "<title>Error: Sign in") {
		t.Error("the title does not say there is an error")
	}
	if e.auditCount() != before {
		t.Error("a malformed email wrote audit events")
	}
}

func TestWrongPasswordAndUnknownEmailLookTheSame(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	wrong := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {"not-the-password-1"}})
	unknown := c.post("/login/password", url.Values{"email": {"nobody@acme.example"}, "password": {"not-the-password-1"}})
	expect(t, wrong, http.StatusUnauthorized, "The email or password is incorrect.")
	expect(t, unknown, http.StatusUnauthorized, "The email or password is incorrect.")
	a, b := withoutEmail(wrong.body, ownerEmail), withoutEmail(unknown.body, "nobody@acme.example")
	if a != b {
		t.Errorf("the pages differ beyond the email:\n--- wrong password\n%s\n--- unknown email\n%s", a, b)
	}
	// Step 1 too.
	s1 := c.post("/login", url.Values{"email": {ownerEmail}})
	s2 := c.post("/login", url.Values{"email": {"nobody@acme.example"}})
	if s1.status != s2.status || withoutEmail(s1.body, ownerEmail) != withoutEmail(s2.body, "nobody@acme.example") {
		t.Error("step 1 answers a known and an unknown email differently")
	}
	if got := e.signIns("password", "failure"); got != 2 {
		t.Errorf("password failures = %v, want 2", got)
	}
}

func TestThrottledSignInGets429(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	for i := range 5 {
		r := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {"wrong-password-" + strconv.Itoa(i)}})
		expect(t, r, http.StatusUnauthorized, "The email or password is incorrect.")
	}
	// Even the right password is not evaluated now.
	r := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	expect(t, r, http.StatusTooManyRequests, "Too many sign-in attempts. Wait")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds", r.header.Get("Retry-After"))
	}
	if c.sessionCookie() != "" {
		t.Fatal("a throttled attempt signed in")
	}
	if got := e.signIns("password", "throttled"); got != 1 {
		t.Errorf("throttled = %v, want 1", got)
	}
	if got := e.signIns("password", "failure"); got != 5 {
		t.Errorf("failures = %v, want 5", got)
	}
	e.clock.Advance(time.Duration(secs) * time.Second)
	c.signIn(ownerEmail, ownerPassword)
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	old := c.sessionCookie()

	// GET only asks.
	r := c.get("/logout")
	expect(t, r, http.StatusOK, "Sign out?", ownerEmail)
	if !strings.Contains(r.body, `<form method="post" action="/logout">`) {
		t.Error("the confirm page has no sign-out form")
	}
	expect(t, c.get("/account"), http.StatusOK, "Your account")

	// Every signed-in page carries a sign-out button.
	if !strings.Contains(c.get("/account").body, `action="/logout"`) {
		t.Error("the account page has no sign-out button")
	}

	r = c.post("/logout", nil)
	if r.status != http.StatusSeeOther || r.location() != "/login?notice=signed-out" {
		t.Fatalf("logout: %d → %q", r.status, r.location())
	}
	expect(t, c.get(r.location()), http.StatusOK, "You're signed out.")
	if c.sessionCookie() != "" {
		t.Error("the cookie was not cleared")
	}
	// The old token is dead on the server, not just forgotten by the browser.
	if _, err := e.sessions.Validate(context.Background(), old); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("old session still validates: %v", err)
	}
	thief := e.client()
	thief.setSessionCookie(old)
	if r := thief.get("/account"); r.status != http.StatusSeeOther {
		t.Fatalf("old cookie after logout: %d", r.status)
	}
	// Signed out, /logout just goes to sign-in.
	if r := c.get("/logout"); r.status != http.StatusSeeOther || r.location() != "/login" {
		t.Errorf("GET /logout signed out: %d → %q", r.status, r.location())
	}
}

func TestForgotPasswordAndReset(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	other := e.client()
	other.signIn(ownerEmail, ownerPassword)

	c := e.client()
	r := c.get("/forgot?email=owner%40acme.example")
	expect(t, r, http.StatusOK, "Reset your password")
	if !strings.Contains(r.body, `value="owner@acme.example"`) {
		t.Error("the email is not prefilled")
	}
	const sent = "If an account exists for that address, we've sent a link. It works for 30 minutes."
	known := c.post("/forgot", url.Values{"email": {ownerEmail}})
	unknown := c.post("/forgot", url.Values{"email": {"nobody@acme.example"}})
	expect(t, known, http.StatusOK, sent)
	expect(t, unknown, http.StatusOK, sent)
	if withoutEmail(known.body, ownerEmail) != withoutEmail(unknown.body, "nobody@acme.example") {
		t.Error("the sent page differs for a known and an unknown address")
	}
	expect(t, c.post("/forgot", url.Values{"email": {"nope"}}), http.StatusBadRequest, "Enter an email address like name@example.com.")

	msgs := e.mails()
	if len(msgs) != 1 || msgs[0].To != ownerEmail {
		t.Fatalf("mails = %+v, want one to the owner", msgs)
	}
	link := linkIn(t, msgs[0].Text)

	r = c.get(pathOf(t, link))
	expect(t, r, http.StatusOK, "Choose a new password", ownerEmail, "At least 12 characters", "Not a common password", "Not your email address")
	form := url.Values{"token": {tokenOf(t, link)}, "password": {newPassword}, "confirm": {"something-else-entirely"}}
	expect(t, c.post("/reset", form), http.StatusBadRequest, "The two passwords don't match")
	form.Set("password", "password")
	form.Set("confirm", "password")
	// A refused password shows the form again, still saying whose it is
	// and still carrying the address for the password manager.
	r = c.post("/reset", form)
	expect(t, r, http.StatusBadRequest, "for "+ownerEmail)
	if !strings.Contains(r.body, `name="username" autocomplete="username" value="`+ownerEmail+`"`) {
		t.Error("the form shown again lost its hidden username field")
	}
	form.Set("password", newPassword)
	form.Set("confirm", newPassword)
	r = c.post("/reset", form)
	expect(t, r, http.StatusOK, "Password changed", "Sign in with your new password.")
	if !strings.Contains(r.body, `href="/login?email=owner%40acme.example"`) {
		t.Error("no sign-in link after the reset")
	}
	if c.sessionCookie() != "" {
		t.Error("the reset signed the person in")
	}

	// Every session was revoked (other nodes' caches, and this one's,
	// learn of it from the invalidation feed within about a second).
	eventually(t, "the other session is signed out by the reset", func() bool {
		return other.get("/account").status == http.StatusSeeOther
	})
	// The link is spent.
	expect(t, c.get(pathOf(t, link)), http.StatusBadRequest, "This link doesn't work any more", "Send me a new link")
	expect(t, c.get("/reset?token=bogus"), http.StatusBadRequest, "This link doesn't work any more")

	r = c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	expect(t, r, http.StatusUnauthorized, "The email or password is incorrect.")
	c.signIn(ownerEmail, newPassword)
}

func TestInvitationSetsPassword(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	if _, err := e.accounts.AddMember(authz.AsCLI(context.Background(), "test"), org.ID, account.MemberInput{
		Email: "maya@acme.example", DisplayName: "Maya", Invite: true,
	}); err != nil {
		t.Fatal(err)
	}
	msgs := e.mails()
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want the invitation", len(msgs))
	}
	link := linkIn(t, msgs[0].Text)
	if !strings.Contains(link, "invite=1") {
		t.Fatalf("invitation link %q lacks invite=1", link)
	}
	c := e.client()
	expect(t, c.get(pathOf(t, link)), http.StatusOK, "Set your password", "maya@acme.example")
	r := c.post("/reset", url.Values{"token": {tokenOf(t, link)}, "invite": {"1"}, "password": {newPassword}, "confirm": {newPassword}})
	expect(t, r, http.StatusOK, "Password set")
	c.signIn("maya@acme.example", newPassword)
}

var revokeRE = regexp.MustCompile(`action="/account/sessions/([^"/]+)/revoke"`)

func TestAccountSessions(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	a := e.client()
	a.signIn(ownerEmail, ownerPassword)
	aSignedIn := e.clock.Now().UTC()
	e.clock.Advance(2*time.Hour + 5*time.Minute)
	b := e.client()
	b.ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
	b.signIn(ownerEmail, ownerPassword)

	// Each session says how and when it was signed in, with a machine-readable time.
	r := a.get("/account")
	expect(t, r, http.StatusOK, "Where you're signed in",
		"Chrome on Linux This device Password 127.0.0.1 · signed in 2 hours ago",
		"Firefox on Windows Password 127.0.0.1 · signed in just now", "Sign out of all other sessions")
	if want := `<time datetime="` + aSignedIn.Format(time.RFC3339) + `" title="` + aSignedIn.Format("2 Jan 2006, 15:04 UTC") + `">2 hours ago</time>`; !strings.Contains(r.body, want) {
		t.Errorf("the page lacks %s", want)
	}
	ids := revokeRE.FindAllStringSubmatch(r.body, -1)
	if len(ids) != 1 {
		t.Fatalf("%d per-session sign-out buttons, want 1 (not for this device)", len(ids))
	}

	// Someone else's session ID is not ours to end.
	intruder := e.client()
	intruder.signIn(ownerEmail, ownerPassword)
	expect(t, intruder.post("/account/sessions/no-such-session/revoke", nil), http.StatusNotFound)

	r = a.post("/account/sessions/"+ids[0][1]+"/revoke", nil)
	if r.status != http.StatusSeeOther || r.location() != "/account?notice=session-revoked" {
		t.Fatalf("revoke: %d → %q", r.status, r.location())
	}
	expect(t, a.get(r.location()), http.StatusOK, "That session was signed out.")
	if r := b.get("/account"); r.status != http.StatusSeeOther {
		t.Fatalf("revoked session still works: %d", r.status)
	}

	b.signIn(ownerEmail, ownerPassword)
	r = a.post("/account/sessions/revoke-others", nil)
	if r.status != http.StatusSeeOther || r.location() != "/account?notice=others-revoked" {
		t.Fatalf("revoke others: %d → %q", r.status, r.location())
	}
	if r := b.get("/account"); r.status != http.StatusSeeOther {
		t.Error("revoke-others left another session alive")
	}
	if r := intruder.get("/account"); r.status != http.StatusSeeOther {
		t.Error("revoke-others left another session alive")
	}
	expect(t, a.get("/account"), http.StatusOK, "You aren't signed in anywhere else.")
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	a := e.client()
	a.signIn(ownerEmail, ownerPassword)
	b := e.client()
	b.signIn(ownerEmail, ownerPassword)

	form := url.Values{"current_password": {"not-my-password-9"}, "new_password": {newPassword}, "confirm": {newPassword}}
	r := a.post("/account/password", form)
	expect(t, r, http.StatusBadRequest, "Your current password is incorrect.")
	if !strings.Contains(r.body, `id="current_password-error"`) {
		t.Error("the error is not attached to the current-password field")
	}
	form.Set("current_password", ownerPassword)
	form.Set("confirm", "different-from-new-1")
	expect(t, a.post("/account/password", form), http.StatusBadRequest, "The two passwords don't match")
	form.Set("new_password", ownerEmail)
	form.Set("confirm", ownerEmail)
	expect(t, a.post("/account/password", form), http.StatusBadRequest)

	form.Set("new_password", newPassword)
	form.Set("confirm", newPassword)
	r = a.post("/account/password", form)
	if r.status != http.StatusSeeOther || r.location() != "/account?notice=password-changed" {
		t.Fatalf("change: %d → %q: %s", r.status, r.location(), text(r.body))
	}
	expect(t, a.get(r.location()), http.StatusOK, "Your password was changed.")
	eventually(t, "the other session is signed out by the password change", func() bool {
		return b.get("/account").status == http.StatusSeeOther
	})
	expect(t, a.get("/account"), http.StatusOK, "Your account")
	e.client().signIn(ownerEmail, newPassword)
}

func TestRecoveryLink(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	link, err := e.accounts.IssueRecoveryLink(context.Background(), ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	expect(t, c.get(pathOf(t, link)), http.StatusOK, "Recovery sign-in", "Sign in as administrator")
	if c.sessionCookie() != "" {
		t.Fatal("GET /recover signed in")
	}
	r := c.post("/recover", url.Values{"token": {tokenOf(t, link)}})
	if r.status != http.StatusSeeOther || r.location() != "/admin" {
		t.Fatalf("recover: %d → %q", r.status, r.location())
	}
	expect(t, c.get("/account"), http.StatusOK, "Recovery link 127.0.0.1 · signed in just now")
	if got := e.signIns("recovery", "success"); got != 1 {
		t.Errorf("recovery successes = %v", got)
	}
	expect(t, e.client().post("/recover", url.Values{"token": {tokenOf(t, link)}}), http.StatusBadRequest, "This recovery link doesn't work")
}

func TestOrganizationNameOnPages(t *testing.T) {
	e := newEnv(t)
	// No organization yet: the product name.
	expect(t, e.client().get("/login"), http.StatusOK, "to continue to Gatehouse")

	e.setupOwner()
	expect(t, e.client().get("/login"), http.StatusOK, "to continue to "+orgName)

	ctx := authz.AsCLI(context.Background(), "test")
	globex, err := e.accounts.CreateOrganization(ctx, "Globex", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.AddMember(ctx, globex.ID, account.MemberInput{Email: "hank@globex.example", Password: newPassword}); err != nil {
		t.Fatal(err)
	}
	// Two organizations: the product name until the email says which.
	c := e.client()
	r := c.get("/login")
	expect(t, r, http.StatusOK, "to continue to Gatehouse")
	if !strings.Contains(r.body, "<title>Sign in · Gatehouse</title>") {
		t.Error("title does not name the product")
	}
	// Step 2 names the organization that verified the email's domain,
	// whoever holds the address: before Globex verifies globex.example,
	// nobody (hank's own organization would tell that hank exists)...
	r = c.post("/login", url.Values{"email": {"hank@globex.example"}})
	expect(t, r, http.StatusOK, "to continue to Gatehouse")
	// ...and afterwards Globex, for hank and for an unknown address alike.
	e.verifyDomain(globex.ID, "globex.example")
	for _, email := range []string{"hank@globex.example", "nobody@globex.example"} {
		r = c.post("/login", url.Values{"email": {email}})
		expect(t, r, http.StatusOK, "to continue to Globex")
		if !strings.Contains(r.body, "<title>Sign in · Globex</title>") {
			t.Errorf("%s: step 2 title does not name the organization", email)
		}
	}
	c.post("/login/password", url.Values{"email": {"hank@globex.example"}, "password": {newPassword}})
	expect(t, c.get("/account"), http.StatusOK, "Globex")
}
