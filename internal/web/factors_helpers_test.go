package web_test

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// enrolTOTP turns an authenticator app on for acct through the real MFA
// service, as the person would on /account, and returns its secret and
// the recovery codes shown once. The clock then moves past the code used
// to confirm, which counts as used.
func (e *env) enrolTOTP(acct storage.Account) (string, []string) {
	e.t.Helper()
	secret, codes := mfatest.EnrolTOTP(e.t, e.mfa, acct, e.clock.Now())
	e.clock.Advance(30 * time.Second)
	return secret, codes
}

// totpCode is the authenticator app's current code for secret.
func (e *env) totpCode(secret string) string {
	e.t.Helper()
	return mfatest.Code(e.t, secret, e.clock.Now())
}

// pendingTOTP is the secret of the set-up acct has begun (at sign-in or on
// /account) and not yet confirmed.
func (e *env) pendingTOTP(acct storage.Account) string {
	e.t.Helper()
	en, err := e.mfa.PendingTOTP(authz.AsAccount(context.Background(), acct), acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return en.Secret
}

// startEmergency declares emergency mode for the whole organization until
// until, as an operator would with `gatehouse admin emergency start`.
func (e *env) startEmergency(orgID, reason string, until time.Time) storage.Emergency {
	e.t.Helper()
	em, err := e.emergencies.Start(adminCtx(orgID), orgID, emergency.StartInput{Reason: reason, For: until.Sub(e.clock.Now())})
	if err != nil {
		e.t.Fatal(err)
	}
	return em
}
