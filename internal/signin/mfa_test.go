package signin_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func ptr[T any](v T) *T { return &v }

// lockoutForce lets test set-ups through the owner-lockout check.
var lockoutForce = lockout.Force{Reason: "test set-up"}

// passwordStep identifies email and submits the test password.
func (e *env) passwordStep(email string) (signin.Client, signin.Outcome, error) {
	e.t.Helper()
	return e.passwordStepWith(email, password)
}

// passwordStepWith identifies email and submits pw.
func (e *env) passwordStepWith(email, pw string) (signin.Client, signin.Outcome, error) {
	e.t.Helper()
	step, err := e.engine.Identify(e.ctx, browser(), email, "/next", false)
	must(e.t, err)
	c := browser()
	c.Browser = step.Browser
	out, err := e.engine.Password(e.ctx, c, step.FlowID, pw, "")
	return c, out, err
}

// namedPolicy creates a policy with settings and puts acct under it.
func (e *env) namedPolicy(name, sso string, s policy.Settings, members ...storage.Account) storage.Policy {
	e.t.Helper()
	in := policy.CreateInput{Name: name, SSO: sso, Settings: s}
	if sso != storage.SSOOff {
		in.Connection = e.conn.Slug
	}
	p, err := e.policies.CreateWith(e.operator(), e.org, in)
	must(e.t, err)
	for _, m := range members {
		must(e.t, e.policies.SetMember(e.operator(), e.org, m.Email, name, lockoutForce))
	}
	return p
}

func (e *env) auditOf(action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: action, Limit: 100})
	must(e.t, err)
	return evs
}

func TestSecondFactor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ann := e.member("ann@"+corpDomain, storage.RoleMember)
		p := e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired),
			IdleTimeout: ptr(20 * time.Minute), MaxLifetime: ptr(2 * time.Hour)}, ann)
		secret, recovery := e.enrolTOTP(ann)

		c, out, err := e.passwordStep(ann.Email)
		must(t, err)
		if out.Pending != signin.StepMFA || out.Token != "" {
			t.Fatalf("after the password: %+v, want the MFA step and no session", out)
		}
		// A wrong code: refused like a wrong password, audited.
		if _, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, "000000"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("wrong code: %v", err)
		}
		if n := len(e.auditOf("login.mfa_failure")); n != 1 {
			t.Fatalf("%d login.mfa_failure events, want 1", n)
		}
		code := e.totpCode(secret)
		done, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, code)
		must(t, err)
		if done.Token == "" || !slices.Equal(done.Methods, []string{"pwd", "otp"}) {
			t.Fatalf("after the code: %+v", done)
		}
		v, err := e.sessions.Validate(e.ctx, done.Token)
		must(t, err)
		if v.Session.IdleTimeout != 20*time.Minute || !v.Session.ExpiresAt.Equal(v.Session.CreatedAt.Add(2*time.Hour)) {
			t.Errorf("the session ignores the policy's lifetimes: idle %v, expires %v", v.Session.IdleTimeout, v.Session.ExpiresAt)
		}
		_ = p

		// The same code again, in a new sign-in within its window: refused.
		c2, out2, err := e.passwordStep(ann.Email)
		must(t, err)
		if _, err := e.engine.SecondFactor(e.ctx, c2, out2.FlowID, signin.FactorTOTP, code); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("replayed code: %v", err)
		}
		// A recovery code works once.
		done, err = e.engine.SecondFactor(e.ctx, c2, out2.FlowID, signin.FactorRecovery, recovery[0])
		must(t, err)
		if !slices.Equal(done.Methods, []string{"pwd", "otp"}) {
			t.Fatalf("recovery code methods %v", done.Methods)
		}
		c3, out3, err := e.passwordStep(ann.Email)
		must(t, err)
		if _, err := e.engine.SecondFactor(e.ctx, c3, out3.FlowID, signin.FactorRecovery, recovery[0]); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("a recovery code used twice: %v", err)
		}
		// A wrong password never reaches the MFA step.
		step, err := e.engine.Identify(e.ctx, browser(), ann.Email, "/", false)
		must(t, err)
		c4 := browser()
		c4.Browser = step.Browser
		if _, err := e.engine.Password(e.ctx, c4, step.FlowID, "wrong", ""); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		// Guessing is bounded per account.
		for range 20 {
			_, err = e.engine.SecondFactor(e.ctx, c3, out3.FlowID, signin.FactorTOTP, "123456")
		}
		if _, ok := errors.AsType[*account.ThrottledError](err); !ok {
			t.Fatalf("after many wrong codes: %v, want throttled", err)
		}
	})
}

func TestMFARequiredWithoutFactorEnrols(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bob := e.member("bob@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, bob)
		c, out, err := e.passwordStep(bob.Email)
		must(t, err)
		if out.Pending != signin.StepMFAEnrol {
			t.Fatalf("pending %q, want enrolment", out.Pending)
		}
		if _, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, "123456"); err == nil {
			t.Fatal("the MFA step was taken without a factor")
		}
		en, err := e.engine.BeginEnrol(e.ctx, c, out.FlowID)
		must(t, err)
		if !strings.HasPrefix(en.URI, "otpauth://totp/") || len(en.QRPNG) == 0 {
			t.Fatalf("enrolment %+v", en)
		}
		done, codes, err := e.engine.ConfirmEnrol(e.ctx, c, out.FlowID, e.totpCode(en.Secret))
		must(t, err)
		if len(codes) != 10 || done.Token == "" || !slices.Equal(done.Methods, []string{"pwd", "otp"}) {
			t.Fatalf("after enrolment: %d codes, %+v", len(codes), done)
		}
	})
}

func TestBreakGlassMailsOtherAdmins(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		olive := e.member("olive@"+corpDomain, storage.RoleOwner)
		e.member("adam@"+corpDomain, storage.RoleAdmin)
		e.member("mia@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Break glass", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, olive)
		secret, _ := e.enrolTOTP(olive)
		before := len(e.mails())
		c, out, err := e.passwordStep(olive.Email)
		must(t, err)
		_, err = e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, e.totpCode(secret))
		must(t, err)
		if n := len(e.auditOf("login.break_glass")); n != 1 {
			t.Fatalf("%d login.break_glass events", n)
		}
		// What the sign-in mailed, read back from the outbox.
		msgs := e.mails()[before:]
		if len(msgs) != 1 || msgs[0].To != "adam@"+corpDomain || !strings.Contains(msgs[0].Text, olive.Email) {
			t.Fatalf("mails %+v; want one to the other admin naming olive", msgs)
		}
	})
}

// The README's set-up: the owner keeps an address outside the SSO domain
// (a domain nobody verified) and is the break-glass admin. Its policy's
// second factor, and one it enrolled, must still be asked for.
func TestBreakGlassOutsideVerifiedDomain(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		you := e.member("you@acme.example", storage.RoleOwner)
		e.member("adam@"+corpDomain, storage.RoleAdmin)
		e.namedPolicy("Break glass", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, you)
		secret, _ := e.enrolTOTP(you)
		c, out, err := e.passwordStep(you.Email)
		must(t, err)
		if out.Pending != signin.StepMFA || out.Token != "" {
			t.Fatalf("after the password: %+v, want the authenticator step and no session", out)
		}
		done, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, e.totpCode(secret))
		must(t, err)
		if done.Token == "" || len(e.auditOf("login.break_glass")) != 1 {
			t.Fatalf("after the code: %+v, %d login.break_glass events", done, len(e.auditOf("login.break_glass")))
		}

		// Under an optional policy, a factor the account enrolled is asked
		// for too.
		ann := e.member("ann@elsewhere.example", storage.RoleMember)
		e.enrolTOTP(ann)
		if _, out, err := e.passwordStep(ann.Email); err != nil || out.Pending != signin.StepMFA {
			t.Fatalf("ann with an authenticator app: %+v, %v; want the authenticator step", out, err)
		}
	})
}

func TestEmergencySignIn(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.setDefault(storage.SSOEnforced)
		// An SSO-only person, created by the IdP, who signed in through SSO
		// yesterday; another who never did; one added by an admin.
		eve := e.memberFrom("eve@"+corpDomain, storage.OriginJIT)
		ned := e.memberFrom("ned@"+corpDomain, storage.OriginJIT)
		must(t, st.CreateSSOLink(e.ctx, storage.SSOLink{ConnectionID: e.conn.ID, Subject: "eve", AccountID: eve.ID,
			CreatedAt: t0, LastLoginAt: e.clock.Now().Add(-24 * time.Hour)}))
		// An earlier emergency, over by now.
		earlier := e.startEmergency("IdP maintenance", time.Hour)
		e.endEmergency(earlier)

		// Before the emergency: SSO only.
		if _, _, err := e.passwordStep(eve.Email); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("password under enforced SSO: %v", err)
		}
		em := e.startEmergency("IdP down", 4*time.Hour)
		step, err := e.engine.Identify(e.ctx, browser(), eve.Email, "/", false)
		must(t, err)
		if step.Page.Method != policy.MethodEmergency {
			t.Fatalf("page %q during an emergency", step.Page.Method)
		}
		// Eve sets a password during the emergency through the reset mail
		// (the account service classifies it as this emergency's) and
		// signs in with it.
		const emergencyPassword = "amber-falcon-meadow-93"
		e.resetPassword(eve, emergencyPassword)
		if got, err := st.GetAccount(e.ctx, eve.ID); err != nil || got.PasswordOrigin != storage.PasswordEmergency || got.PasswordEmergencyID != em.ID {
			t.Fatalf("eve's password after the reset: origin %q of emergency %q, %v; want this emergency's", got.PasswordOrigin, got.PasswordEmergencyID, err)
		}
		_, out, err := e.passwordStepWith(eve.Email, emergencyPassword)
		must(t, err)
		if out.EmergencyID != em.ID || !slices.Contains(out.Methods, "emergency") {
			t.Fatalf("emergency sign-in %+v", out)
		}
		v, err := e.sessions.Validate(e.ctx, out.Token)
		must(t, err)
		if v.Session.EmergencyID != em.ID {
			t.Fatalf("session emergency %q", v.Session.EmergencyID)
		}
		ev := e.auditOf("login.success")
		if ev[0].Details["emergency_id"] != em.ID {
			t.Fatalf("login.success details %v", ev[0].Details)
		}

		// The stored password's classification, set directly: the reset
		// flow would not give ned (or this emergency) such a password.
		setPassword := func(a storage.Account, origin, emID string) {
			_, err := st.UpdateAccount(e.ctx, a.ID, func(x *storage.Account) error {
				x.PasswordOrigin, x.PasswordEmergencyID = origin, emID
				return nil
			})
			must(t, err)
		}
		// Ned (never signed in through SSO) gets the same page and answer,
		// even with a password of this emergency, and the organization's
		// audit log says why.
		setPassword(ned, storage.PasswordEmergency, em.ID)
		nstep, err := e.engine.Identify(e.ctx, browser(), ned.Email, "/", false)
		must(t, err)
		if nstep.Page != step.Page {
			t.Fatalf("ned's page %+v differs from eve's %+v", nstep.Page, step.Page)
		}
		if _, _, err := e.passwordStep(ned.Email); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("ineligible password sign-in: %v", err)
		}
		refused := e.auditOf("login.failback_refused")
		if len(refused) == 0 || refused[0].Reason != policy.IneligibleNoRecentSSO || refused[0].TargetID != ned.ID {
			t.Fatalf("login.failback_refused %+v", refused)
		}

		// A password from another emergency does not work in this one.
		setPassword(eve, storage.PasswordEmergency, earlier.ID)
		if _, _, err := e.passwordStepWith(eve.Email, emergencyPassword); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("password of another emergency: %v", err)
		}
		// When the emergency ends, its password stops working.
		setPassword(eve, storage.PasswordEmergency, em.ID)
		e.endEmergency(em)
		if _, _, err := e.passwordStepWith(eve.Email, emergencyPassword); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("emergency password after the end: %v", err)
		}
	})
}

// memberFrom creates an active member with the test password and origin.
func (e *env) memberFrom(email, origin string) storage.Account {
	e.t.Helper()
	hash, err := account.HashPassword(password)
	must(e.t, err)
	a := storage.Account{ID: uuid.NewString(), OrgID: e.org, Email: email, Role: storage.RoleMember, Status: storage.StatusActive,
		PasswordHash: hash, Origin: origin, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	must(e.t, e.st.CreateAccount(e.ctx, a))
	return a
}

// passkeyStep identifies email and signs in with a passkey of key, which
// answers the engine's options (a discoverable request at this step: the
// authenticator picks its newest credential) with a signed assertion.
func (e *env) passkeyStep(email string, key *softauthn.Authenticator) (signin.Outcome, error) {
	e.t.Helper()
	step, err := e.engine.Identify(e.ctx, browser(), email, "/", false)
	must(e.t, err)
	c := browser()
	c.Browser = step.Browser
	opts, ch, err := e.engine.BeginPasskey(e.ctx, c, step.FlowID)
	must(e.t, err)
	resp, err := key.Get(opts)
	must(e.t, err)
	return e.engine.PasskeyFactor(e.ctx, c, step.FlowID, ch, resp)
}

func TestPasskeySignIn(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.setDefault(storage.SSOEnforced)
		eve := e.memberFrom("eve@"+corpDomain, storage.OriginJIT)
		ned := e.memberFrom("ned@"+corpDomain, storage.OriginJIT)
		must(t, st.CreateSSOLink(e.ctx, storage.SSOLink{ConnectionID: e.conn.ID, Subject: "eve", AccountID: eve.ID,
			CreatedAt: t0, LastLoginAt: e.clock.Now().Add(-time.Hour)}))
		eveKey := e.addPasskey(eve)
		nedKey := e.addPasskey(ned)

		// SSO works: a passkey is no way around it.
		if _, err := e.passkeyStep(eve.Email, eveKey); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("passkey under enforced SSO: %v", err)
		}
		em := e.startEmergency("IdP down", time.Hour)
		// Another account's passkey is answered like a wrong password.
		if _, err := e.passkeyStep(eve.Email, nedKey); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("another account's passkey: %v", err)
		}
		out, err := e.passkeyStep(eve.Email, eveKey)
		must(t, err)
		if !slices.Equal(out.Methods, []string{"hwk", "emergency"}) || out.EmergencyID != em.ID || out.Token == "" {
			t.Fatalf("emergency passkey sign-in %+v", out)
		}
		// Ned never signed in through SSO: refused, and the org hears why.
		if _, err := e.passkeyStep(ned.Email, nedKey); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("ineligible passkey: %v", err)
		}
		if ev := e.auditOf("login.failback_refused"); len(ev) == 0 || ev[0].Details["via"] != "passkey" {
			t.Fatalf("failback_refused %+v", ev)
		}
	})
}
