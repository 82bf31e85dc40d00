package signin_test

// Security review of the second-factor and emergency steps (issue #7):
// each test is an attack on the engine; every one must be refused.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// After a correct password at a flow that needs a second factor, no other
// step of the same flow issues a session: not the password again, not
// enrolment, not another account's passkey, not another browser.
func TestSecurityReviewMFAStepCannotBeSkipped(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ann := e.member("ann@"+corpDomain, storage.RoleMember)
		mal := e.member("mal@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, ann)
		secret, _ := e.enrolTOTP(ann)
		// Ann has a passkey too, so the MFA step asks for one of hers.
		e.addPasskey(ann)
		malKey := e.addPasskey(mal)

		c, out, err := e.passwordStep(ann.Email)
		must(t, err)
		if out.Pending != signin.StepMFA || out.Token != "" {
			t.Fatalf("after the password: %+v", out)
		}
		// The password again on the same flow.
		if o, err := e.engine.Password(e.ctx, c, out.FlowID, password, ""); err == nil || o.Token != "" {
			t.Fatalf("password replayed at the MFA step: %+v, %v", o, err)
		}
		// The enrolment step, to set a TOTP of the attacker's own.
		if _, err := e.engine.BeginEnrol(e.ctx, c, out.FlowID); err == nil {
			t.Fatal("enrolment began at the MFA step of an enrolled account")
		}
		if o, _, err := e.engine.ConfirmEnrol(e.ctx, c, out.FlowID, "123456"); err == nil || o.Token != "" {
			t.Fatalf("enrolment confirmed at the MFA step: %+v, %v", o, err)
		}
		// Another account's passkey as the second factor: a validly signed
		// assertion of mal's, answering the challenge of ann's MFA step
		// (the authenticator ignores the step's list of ann's passkeys)...
		opts, ch, err := e.engine.BeginPasskey(e.ctx, c, out.FlowID)
		must(t, err)
		malKey.IgnoreAllowList = true
		resp, err := malKey.Get(opts)
		must(t, err)
		malKey.IgnoreAllowList = false
		if o, err := e.engine.PasskeyFactor(e.ctx, c, out.FlowID, ch, resp); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("another account's passkey as second factor: %+v, %v", o, err)
		}
		// ... or a challenge mal began at the first step of a sign-in of
		// his own (a discoverable one, any account's), answered with his
		// passkey and posted to ann's MFA step.
		mstep, err := e.engine.Identify(e.ctx, browser(), mal.Email, "/", false)
		must(t, err)
		mc := browser()
		mc.Browser = mstep.Browser
		opts, ch, err = e.engine.BeginPasskey(e.ctx, mc, mstep.FlowID)
		must(t, err)
		resp, err = malKey.Get(opts)
		must(t, err)
		if o, err := e.engine.PasskeyFactor(e.ctx, c, out.FlowID, ch, resp); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("mal's own challenge and passkey at ann's MFA step: %+v, %v", o, err)
		}
		// The right code from another browser (flow ID stolen).
		other := browser()
		other.Browser = "another-browser-binding-secret-000000000"
		if o, err := e.engine.SecondFactor(e.ctx, other, out.FlowID, signin.FactorTOTP, e.totpCode(secret)); err == nil || o.Token != "" {
			t.Fatalf("code from another browser: %+v, %v", o, err)
		}
		// Two submits of the right code: one session only.
		code := e.totpCode(secret)
		done, err1 := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, code)
		again, err2 := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, code)
		if err1 != nil || done.Token == "" || err2 == nil || again.Token != "" {
			t.Fatalf("two submits: %+v %v / %+v %v, want exactly one session", done, err1, again, err2)
		}
	})
}

// An enrolment step decided while the account had no factor must not
// replace a factor enrolled since (on /account, or by a passkey): whoever
// holds the password and the old flow would otherwise swap the victim's
// authenticator for their own.
func TestSecurityReviewEnrolStepCannotReplaceAFactor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bob := e.member("bob@"+corpDomain, storage.RoleMember)
		cat := e.member("cat@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, bob, cat)

		// TOTP enrolled between the password and the enrolment step.
		c, out, err := e.passwordStep(bob.Email)
		must(t, err)
		if out.Pending != signin.StepMFAEnrol {
			t.Fatalf("pending %q, want enrolment", out.Pending)
		}
		// Bob turns on an authenticator app on /account meanwhile.
		bobSecret, _ := e.enrolTOTP(bob)
		if _, err := e.engine.BeginEnrol(e.ctx, c, out.FlowID); err == nil {
			t.Fatal("enrolment began over an enrolled TOTP")
		}
		if o, _, err := e.engine.ConfirmEnrol(e.ctx, c, out.FlowID, "123456"); err == nil || o.Token != "" {
			t.Fatalf("enrolment confirmed over an enrolled TOTP: %+v, %v", o, err)
		}
		// Begun before, confirmed after: the attacker's secret must not win.
		c2, out2, err := e.passwordStep(cat.Email)
		must(t, err)
		en, err := e.engine.BeginEnrol(e.ctx, c2, out2.FlowID)
		must(t, err)
		e.addPasskey(cat)
		if o, _, err := e.engine.ConfirmEnrol(e.ctx, c2, out2.FlowID, e.totpCode(en.Secret)); err == nil || o.Token != "" {
			t.Fatalf("enrolment confirmed after a passkey was registered: %+v, %v", o, err)
		}
		// Bob's own authenticator still signs him in.
		c3, out3, err := e.passwordStep(bob.Email)
		must(t, err)
		if out3.Pending != signin.StepMFA {
			t.Fatalf("pending %q, want the MFA step", out3.Pending)
		}
		done, err := e.engine.SecondFactor(e.ctx, c3, out3.FlowID, signin.FactorTOTP, e.totpCode(bobSecret))
		must(t, err)
		if done.Token == "" {
			t.Fatal("bob's own code no longer works")
		}
	})
}

// An account with only a passkey is asked for it, never offered TOTP
// enrolment instead.
func TestSecurityReviewPasskeyOnlyAccountIsNotEnrolled(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		pia := e.member("pia@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, pia)
		piaKey := e.addPasskey(pia)
		c, out, err := e.passwordStep(pia.Email)
		must(t, err)
		if out.Pending != signin.StepMFA {
			t.Fatalf("pending %q, want the MFA step (passkey)", out.Pending)
		}
		if _, err := e.engine.BeginEnrol(e.ctx, c, out.FlowID); err == nil {
			t.Fatal("TOTP enrolment offered to an account with a passkey")
		}
		st2, err := e.engine.ShowMFA(e.ctx, c, out.FlowID)
		must(t, err)
		if !st2.Passkey {
			t.Fatal("the MFA step does not offer the passkey")
		}
		opts, ch, err := e.engine.BeginPasskey(e.ctx, c, out.FlowID)
		must(t, err)
		resp, err := piaKey.Get(opts)
		must(t, err)
		done, err := e.engine.PasskeyFactor(e.ctx, c, out.FlowID, ch, resp)
		must(t, err)
		if done.Token == "" {
			t.Fatal("the passkey did not complete the MFA step")
		}
	})
}

// Guessing codes with a new flow for every guess is stopped per account,
// for TOTP and recovery codes alike, and the right code is then refused
// too (no oracle past the limit).
func TestSecurityReviewSecondFactorThrottleAcrossFlows(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ann := e.member("ann@"+corpDomain, storage.RoleMember)
		e.namedPolicy("Strict", storage.SSOOff, policy.Settings{MFA: ptr(storage.MFARequired)}, ann)
		secret, recovery := e.enrolTOTP(ann)
		var err error
		for i := range 12 {
			kind := signin.FactorTOTP
			code := fmt.Sprintf("%06d", i)
			if i%2 == 1 {
				// Well-formed recovery codes, none of them ann's.
				kind, code = signin.FactorRecovery, fmt.Sprintf("zzzzz-zzzz%c", "23456789abcdefgh"[i])
			}
			c, out, perr := e.passwordStep(ann.Email)
			must(t, perr)
			_, err = e.engine.SecondFactor(e.ctx, c, out.FlowID, kind, code)
		}
		if _, ok := errors.AsType[*account.ThrottledError](err); !ok {
			t.Fatalf("after 12 guesses over 12 flows: %v, want throttled", err)
		}
		c, out, err := e.passwordStep(ann.Email)
		must(t, err)
		if o, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorTOTP, e.totpCode(secret)); err == nil || o.Token != "" {
			t.Fatalf("the right code past the limit: %+v, %v", o, err)
		}
		if o, err := e.engine.SecondFactor(e.ctx, c, out.FlowID, signin.FactorRecovery, recovery[0]); err == nil || o.Token != "" {
			t.Fatalf("a right recovery code past the limit: %+v, %v", o, err)
		}
	})
}

// A passkey as the first factor: refused for a suspended account, under a
// policy that denies failback, and for a password set while SSO was
// enforced; all answered like a wrong password and audited.
func TestSecurityReviewFailbackFirstFactors(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.setDefault(storage.SSOEnforced)
		recent := func(a storage.Account) {
			must(t, st.CreateSSOLink(e.ctx, storage.SSOLink{ConnectionID: e.conn.ID, Subject: a.Email, AccountID: a.ID,
				CreatedAt: t0, LastLoginAt: e.clock.Now().Add(-time.Hour)}))
		}
		sue := e.memberFrom("sue@"+corpDomain, storage.OriginJIT)
		den := e.memberFrom("den@"+corpDomain, storage.OriginJIT)
		enf := e.memberFrom("enf@"+corpDomain, storage.OriginJIT)
		for _, a := range []storage.Account{sue, den, enf} {
			recent(a)
		}
		sueKey := e.addPasskey(sue)
		denKey := e.addPasskey(den)
		e.namedPolicy("No failback", storage.SSOEnforced, policy.Settings{Failback: ptr(storage.FailbackDenied)}, den)
		_, err := st.UpdateAccount(e.ctx, sue.ID, func(x *storage.Account) error { x.Status = storage.StatusSuspended; return nil })
		must(t, err)
		_, err = st.UpdateAccount(e.ctx, enf.ID, func(x *storage.Account) error { x.PasswordOrigin = storage.PasswordEnforced; return nil })
		must(t, err)

		e.startEmergency("IdP down", time.Hour)
		if o, err := e.passkeyStep(sue.Email, sueKey); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("suspended account's passkey: %+v, %v", o, err)
		}
		if o, err := e.passkeyStep(den.Email, denKey); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("passkey under failback denied: %+v, %v", o, err)
		}
		if _, o, err := e.passwordStep(enf.Email); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("password set under enforced SSO, during an emergency: %+v, %v", o, err)
		}
		// Another account's passkey for a typed address, during the emergency.
		if o, err := e.passkeyStep(enf.Email, denKey); !errors.Is(err, account.ErrBadCredentials) || o.Token != "" {
			t.Fatalf("another account's passkey: %+v, %v", o, err)
		}
		if n := len(e.auditOf("login.failback_refused")); n == 0 {
			t.Fatal("refused failback sign-ins were not audited")
		}
	})
}

// A valid passkey that the decision refuses as a first factor is audited
// in the organization, like a refused password: under working SSO, and a
// credential of another account than the typed address.
func TestSecurityReviewRefusedPasskeysAreAudited(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.setDefault(storage.SSOEnforced)
		eve := e.memberFrom("eve@"+corpDomain, storage.OriginJIT)
		ned := e.memberFrom("ned@"+corpDomain, storage.OriginJIT)
		eveKey := e.addPasskey(eve)
		nedKey := e.addPasskey(ned)
		if _, err := e.passkeyStep(eve.Email, eveKey); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("passkey under enforced SSO: %v", err)
		}
		if _, err := e.passkeyStep(eve.Email, nedKey); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("another account's passkey: %v", err)
		}
		reasons := map[string]string{}
		for _, ev := range e.auditOf("login.failure") {
			if ev.Details["via"] == "passkey" {
				reasons[ev.Reason] = ev.TargetID
			}
		}
		if reasons["sso_enforced"] != eve.ID || reasons["other_account_passkey"] != eve.ID {
			t.Fatalf("refused passkeys audited as %v", reasons)
		}
	})
}

// Refused passkeys are audited, but one address cannot grow the audit log
// without end: past its budget (50 per 15 minutes) further refusals are
// still refused, with the same answer, and no longer written one by one.
func TestRefusedPasskeyAuditIsBoundedPerAddress(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	e.setDefault(storage.SSOEnforced)
	eve := e.memberFrom("eve@"+corpDomain, storage.OriginJIT)
	key := e.addPasskey(eve)
	for i := range 60 {
		if _, err := e.passkeyStep(eve.Email, key); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v, want the wrong-password answer", i+1, err)
		}
	}
	n := 0
	for _, ev := range e.auditOf("login.failure") {
		if ev.Details["via"] == "passkey" {
			n++
		}
	}
	if n != 50 {
		t.Fatalf("%d refused passkeys audited from one address, want 50", n)
	}
}
