package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Authenticate checks an email and password from ip. It returns
// ErrBadCredentials for every failure (running a dummy argon2id verification
// for unknown accounts so timing says nothing), *ThrottledError when the
// email or ip is throttled, and records failures and throttled attempts in
// the audit log. On success it clears the email's failure counter; the
// caller then starts a session (which audits the success).
//
// Input that is not valid UTF-8 is an *InvalidInputError: it says nothing
// about any account, and no stored password can match it.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (storage.Account, error) {
	if !utf8.ValidString(email) {
		return storage.Account{}, &InvalidInputError{Field: "email", Message: "The email address contains characters that are not valid text."}
	}
	if !utf8.ValidString(password) {
		return storage.Account{}, &InvalidInputError{Field: "password", Message: "The password contains characters that are not valid text."}
	}
	if err := checkIP(ip); err != nil {
		return storage.Account{}, err
	}
	now := s.clock()
	norm, err := NormalizeEmail(email)
	if err != nil {
		// Not an address: no account can match, but answer like a wrong
		// password (same cost, same counter on the address).
		norm = ""
	}

	wait, err := s.checkThrottle(ctx, norm, ip, now)
	if err != nil {
		return storage.Account{}, err
	}
	if wait > 0 {
		e := loginEvent("login.throttled", "throttled", norm, ip)
		if norm != "" {
			if acct, err := s.store.GetAccountByEmail(ctx, norm); err == nil {
				e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
			}
		}
		e.Details["retry_after_s"] = strconv.FormatInt(int64(wait.Seconds()), 10)
		if err := s.recordOutside(ctx, now, e); err != nil {
			return storage.Account{}, err
		}
		return storage.Account{}, &ThrottledError{RetryAfter: wait}
	}

	var acct storage.Account
	var reason string
	if norm == "" {
		reason = "unknown_account"
	} else {
		acct, err = s.store.GetAccountByEmail(ctx, norm)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			reason = "unknown_account"
		case err != nil:
			return storage.Account{}, fmt.Errorf("account: sign-in lookup: %w", err)
		case acct.Status != storage.StatusActive:
			reason = "suspended"
		case acct.PasswordHash == "":
			reason = "no_password"
		}
	}
	if reason != "" {
		dummyVerify(password)
	} else {
		ok, err := VerifyPassword(acct.PasswordHash, password)
		switch {
		case err != nil:
			// A corrupt hash must not sign anyone in; the owner can reset.
			s.log.ErrorContext(ctx, "stored password hash is unusable", "account_id", acct.ID, "err", err)
			reason = "invalid_hash"
		case !ok:
			reason = "bad_password"
		}
	}

	if reason != "" {
		e := loginEvent("login.failure", reason, norm, ip)
		if acct.ID != "" {
			e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
		}
		err := s.store.InTx(ctx, func(tx storage.Store) error {
			if err := s.recordLoginFailure(ctx, tx, norm, ip, now); err != nil {
				return err
			}
			return s.record(ctx, tx, now, e)
		})
		if err != nil {
			return storage.Account{}, err
		}
		return storage.Account{}, ErrBadCredentials
	}

	// Only the email's counter: the address may be shared (an office NAT)
	// and its other failures still count.
	if err := s.store.ClearThrottle(ctx, acctKey(norm)); err != nil {
		s.log.WarnContext(ctx, "clearing sign-in throttle failed", "account_id", acct.ID, "err", err)
	}
	return acct, nil
}

// loginEvent is the audit event of a sign-in that did not succeed. The
// reason is for the log only; the person sees ErrBadCredentials.
func loginEvent(action, reason, email, ip string) storage.AuditEvent {
	e := storage.AuditEvent{
		Action:  action,
		Outcome: "failure",
		Reason:  reason,
		IP:      ip,
		Details: map[string]string{},
	}
	if email != "" {
		e.Details["email"] = email
	}
	return e
}
