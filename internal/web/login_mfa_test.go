package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var mfaPathRe = regexp.MustCompile(`^/login/mfa\?flow=[A-Za-z0-9_-]{43}$`)

// strictMember adds email with newPassword under the policy "Strict" (SSO
// off, MFA required) of a Corp organization that verified corp.example.
func (e *env) strictMember(email string) (storage.Organization, storage.Account) {
	e.t.Helper()
	ctx := adminCtx("corp")
	org, err := e.accounts.GetOrganization(ctx, "corp")
	if err != nil {
		if org, err = e.accounts.CreateOrganization(ctx, "Corp", "corp"); err != nil {
			e.t.Fatal(err)
		}
		e.verifyDomain(org.ID, corpDomain)
		mfa := storage.MFARequired
		if _, err := e.policies.CreateWith(adminCtx(org.ID), org.ID, policy.CreateInput{Name: "Strict", SSO: storage.SSOOff,
			Settings: policy.Settings{MFA: &mfa}}); err != nil {
			e.t.Fatal(err)
		}
	}
	a, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: email, Password: newPassword})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.policies.SetMember(adminCtx(org.ID), org.ID, email, "Strict"); err != nil {
		e.t.Fatal(err)
	}
	return org, a
}

// toSecondStep signs email in with its password and returns the MFA page's path.
func (c *client) toSecondStep(email string) string {
	c.t.Helper()
	r := c.post("/login/password", url.Values{"email": {email}, "password": {newPassword}, "return_to": {"/account"}})
	if r.status != http.StatusSeeOther || !mfaPathRe.MatchString(r.location()) {
		c.t.Fatalf("password step: %d → %q, want the MFA step\n%s", r.status, r.location(), text(r.body))
	}
	return r.location()
}

func TestMFAPage(t *testing.T) {
	e := newEnv(t)
	org, ann := e.strictMember("ann@" + corpDomain)
	secret, recoveryCodes := e.enrolTOTP(ann)
	c := e.client()
	path := c.toSecondStep(ann.Email)
	if c.sessionCookie() != "" {
		t.Fatal("a session was set before the second factor")
	}
	r := c.get(path)
	expect(t, r, http.StatusOK, "Confirm it's you", "Code from your authenticator app", "Use a recovery code", "Corp")
	for _, attr := range []string{`autocomplete="one-time-code"`, `inputmode="numeric"`} {
		if !strings.Contains(r.body, attr) {
			t.Errorf("the code field lacks %s", attr)
		}
	}
	flow := flowRe.FindStringSubmatch(r.body)[1]

	r = c.post("/login/mfa", url.Values{"flow": {flow}, "kind": {"totp"}, "code": {"000000"}})
	expect(t, r, http.StatusUnauthorized, "That code didn't work")
	if !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Error("the wrong code is not marked invalid")
	}
	r = c.post("/login/mfa", url.Values{"flow": {flow}, "kind": {"totp"}, "code": {e.totpCode(secret)}})
	if r.status != http.StatusSeeOther || r.location() != "/account" || c.sessionCookie() == "" {
		t.Fatalf("right code: %d → %q, session %v", r.status, r.location(), c.sessionCookie() != "")
	}
	v, err := e.sessions.Validate(context.Background(), c.sessionCookie())
	if err != nil || strings.Join(v.Methods(), " ") != "pwd otp" {
		t.Fatalf("session methods %v, %v", v.Methods(), err)
	}
	if n := len(e.auditEvents(org.ID, "login.mfa_failure")); n != 1 {
		t.Errorf("%d login.mfa_failure events, want 1", n)
	}

	// The recovery-code form.
	c2 := e.client()
	r = c2.get(c2.toSecondStep(ann.Email) + "&kind=recovery")
	expect(t, r, http.StatusOK, "Recovery code", "Use a code from your app")
	flow = flowRe.FindStringSubmatch(r.body)[1]
	r = c2.post("/login/mfa", url.Values{"flow": {flow}, "kind": {"recovery"}, "code": {recoveryCodes[0]}})
	if r.status != http.StatusSeeOther || c2.sessionCookie() == "" {
		t.Fatalf("recovery code: %d\n%s", r.status, text(r.body))
	}
}

func TestMFAEnrolAtSignIn(t *testing.T) {
	e := newEnv(t)
	_, bob := e.strictMember("bob@" + corpDomain)
	c := e.client()
	r := c.get(c.toSecondStep(bob.Email))
	expect(t, r, http.StatusOK, "Set up two-step sign-in", "Scan this QR code", "Enter this key instead")
	if !strings.Contains(r.body, `src="data:image/png;base64,`) {
		t.Error("no QR code image")
	}
	flow := flowRe.FindStringSubmatch(r.body)[1]
	r = c.post("/login/mfa/enrol", url.Values{"flow": {flow}, "code": {e.totpCode(e.pendingTOTP(bob))}})
	expect(t, r, http.StatusOK, "Save your recovery codes", "only time they are shown", "continue")
	if c.sessionCookie() == "" {
		t.Fatal("no session after enrolment")
	}
	if n := strings.Count(r.body, "<code data-copy>"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
}

func TestEmergencyPage(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	kim, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "kim@" + corpDomain, Password: newPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateAccount(context.Background(), kim.ID, func(a *storage.Account) error {
		a.PasswordOrigin = storage.PasswordOpen // set before SSO was enforced
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	// Before the emergency: on to the IdP.
	r := c.post("/login", url.Values{"email": {kim.Email}})
	expect(t, r, http.StatusOK, "Continue")
	if refreshTarget(t, r) == "" {
		t.Fatal("no SSO redirect before the emergency")
	}

	until := e.clock.Now().Add(4 * time.Hour)
	em := e.startEmergency(org.ID, "IdP down", until)
	pages := map[string]string{}
	for _, email := range []string{kim.Email, "nobody@" + corpDomain} {
		r := e.client().post("/login", url.Values{"email": {email}})
		expect(t, r, http.StatusOK, "Emergency sign-in", "Single sign-on is unavailable.",
			"Corp has turned on emergency sign-in until "+until.UTC().Format("15:04 UTC on 2 January"),
			"Sign in with password", "Set or reset your password", "Try Dev IdP SSO")
		if !strings.Contains(r.body, `href="/forgot?email=`) {
			t.Error("the reset link does not lead to /forgot")
		}
		pages[email] = csrfRE.ReplaceAllString(withoutEmail(r.body, email), "CSRF")
	}
	if pages[kim.Email] != pages["nobody@"+corpDomain] {
		t.Error("the emergency page differs between a member and an unknown address")
	}
	r = c.post("/login/password", url.Values{"email": {kim.Email}, "password": {newPassword}})
	if r.status != http.StatusSeeOther || c.sessionCookie() == "" {
		t.Fatalf("emergency password sign-in: %d\n%s", r.status, text(r.body))
	}
	v, err := e.sessions.Validate(context.Background(), c.sessionCookie())
	if err != nil || v.Session.EmergencyID != em.ID || !strings.Contains(strings.Join(v.Methods(), " "), "emergency") {
		t.Fatalf("emergency session %+v, %v", v.Session, err)
	}
}

// The console's sign-in settings form saves a policy's MFA, failback,
// lifetimes and IdP groups, and refuses an idle timeout longer than the
// session with the reason on the page.
func TestConsolePolicySettings(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	p, err := e.policies.CreateWith(adminCtx(org.ID), org.ID, policy.CreateInput{Name: "Staff", SSO: storage.SSOOff})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, c.get("/admin/policies"), http.StatusOK, "Sign-in settings", "Two-step sign-in (MFA)", "IdP groups")
	form := url.Values{"mfa": {"required"}, "failback": {"denied"}, "window_days": {"14"}, "auto_minutes": {""},
		"idle_minutes": {"30"}, "lifetime_hours": {"8"}, "groups": {"staff\nadmins"}}
	r := c.post("/admin/policies/"+p.ID+"/settings", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.status, text(r.body))
	}
	got, err := e.policies.Get(context.Background(), org.ID, p.ID)
	if err != nil || got.MFA != storage.MFARequired || got.Failback != storage.FailbackDenied || got.IdleTimeout != 30*time.Minute ||
		got.MaxLifetime != 8*time.Hour || got.FailbackWindowDays != 14 {
		t.Fatalf("saved %+v, %v", got, err)
	}
	if gs, _ := e.policies.Groups(context.Background(), org.ID, p.ID); strings.Join(gs, ",") != "admins,staff" {
		t.Fatalf("groups %v", gs)
	}
	form.Set("idle_minutes", "600")
	r = c.post("/admin/policies/"+p.ID+"/settings", form)
	expect(t, r, http.StatusBadRequest, "The idle timeout cannot be longer than the maximum session lifetime.")
}
