package mfa

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// HasSecondFactor is the sign-in decision's enrolment lookup: an account
// has a second factor when it uses an authenticator app or has a passkey.
// passkeys may be nil (a public URL on an IP address: no passkeys).
func HasSecondFactor(totp *Service, passkeys *Passkeys) func(ctx context.Context, accountID string) (bool, error) {
	return func(ctx context.Context, accountID string) (bool, error) {
		ok, err := totp.TOTPEnrolled(ctx, accountID)
		if err != nil || ok || passkeys == nil {
			return ok, err
		}
		n, _, err := passkeys.Count(ctx, accountID)
		return n > 0, err
	}
}

// WireSignIn fills the sign-in engine's second-factor dependencies from
// the authenticator-app service and, when passkeys can work at this public
// URL (passkeys non-nil), the passkey service.
func WireSignIn(d *signin.Deps, totp *Service, passkeys *Passkeys) {
	d.TOTP = totp
	// Enrolling at sign-in acts as the person, who has just proved their
	// password (the engine calls these only from its enrol step).
	d.EnrolTOTP = func(ctx context.Context, acct storage.Account) (string, string, []byte, error) {
		en, err := totp.BeginTOTP(authz.AsAccount(ctx, acct), acct)
		return en.Secret, en.URI, en.QRPNG, err
	}
	d.ConfirmTOTP = func(ctx context.Context, acct storage.Account, code string) ([]string, error) {
		return totp.ConfirmTOTP(authz.AsAccount(ctx, acct), acct, code)
	}
	if passkeys == nil {
		// A typed nil in the interface would offer a button that cannot work.
		d.Passkeys, d.FinishPasskey = nil, nil
		return
	}
	d.Passkeys = passkeys
	d.FinishPasskey = func(ctx context.Context, challengeID string, response []byte) (string, error) {
		l, err := passkeys.FinishLogin(ctx, challengeID, response)
		return l.AccountID, err
	}
}
