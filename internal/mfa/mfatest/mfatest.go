// Package mfatest sets up second factors in tests the way a person does on
// /account, through the real *mfa.Service: no stand-ins.
package mfatest

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// EnrolTOTP turns an authenticator app on for acct through svc, acting as
// acct, with a code made at now, and returns the app's secret and the
// recovery codes shown once. The confirming code counts as used: a caller
// that signs in next must move its clock past now's 30-second step.
func EnrolTOTP(t testing.TB, svc *mfa.Service, acct storage.Account, now time.Time) (secret string, recoveryCodes []string) {
	t.Helper()
	ctx := authz.AsAccount(context.Background(), acct)
	en, err := svc.BeginTOTP(ctx, acct)
	if err != nil {
		t.Fatalf("mfatest: begin authenticator set-up: %v", err)
	}
	codes, err := svc.ConfirmTOTP(ctx, acct, Code(t, en.Secret, now))
	if err != nil {
		t.Fatalf("mfatest: confirm the authenticator app: %v", err)
	}
	return en.Secret, codes
}

// Code is the 6-digit code an authenticator app shows for secret at now.
func Code(t testing.TB, secret string, now time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatalf("mfatest: code: %v", err)
	}
	return c
}
