package account

import (
	"context"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PasswordAttempt is one password sign-in attempt.
type PasswordAttempt struct {
	Email, Password, IP string
	// Device is the device cookie the browser sent, "" if none.
	Device string
	// Refuse, when set, is why the account may not sign in with a
	// password (its policy enforces SSO): the attempt is checked, counted
	// and answered exactly like a wrong password, and audited with this
	// reason, so the answer says nothing about the account's policy.
	Refuse string
}

// Authenticated is a successful password check.
type Authenticated struct {
	Account storage.Account
	// Device is the device cookie value to set, "" to leave it.
	Device string
}

// Check verifies a password attempt (see Authenticate).
func (s *Service) Check(ctx context.Context, a PasswordAttempt) (Authenticated, error) {
	if a.Refuse == "" {
		acct, err := s.Authenticate(ctx, a.Email, a.Password, a.IP)
		return Authenticated{Account: acct}, err
	}
	if !utf8.ValidString(a.Email) || !utf8.ValidString(a.Password) {
		return Authenticated{}, ErrBadCredentials
	}
	if err := checkIP(a.IP); err != nil {
		return Authenticated{}, err
	}
	now := s.clock()
	norm, err := NormalizeEmail(a.Email)
	if err != nil {
		norm = ""
	}
	wait, err := s.checkThrottle(ctx, norm, a.IP, now)
	if err != nil {
		return Authenticated{}, err
	}
	if wait > 0 {
		return Authenticated{}, &ThrottledError{RetryAfter: wait}
	}
	dummyVerify(a.Password)
	e := loginEvent("login.failure", a.Refuse, norm, a.IP)
	if acct, err := s.store.GetAccountByEmail(ctx, norm); err == nil {
		e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := s.recordLoginFailure(ctx, tx, norm, a.IP, now); err != nil {
			return err
		}
		return s.record(ctx, tx, now, e)
	})
	if err != nil {
		return Authenticated{}, err
	}
	return Authenticated{}, ErrBadCredentials
}
