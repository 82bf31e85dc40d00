package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// resetWindow is the period the reset-mail limits (resetPerEmail,
// resetPerIP) count over.
const resetWindow = 15 * time.Minute

// RequestReset sends a reset link to email if it names an active account,
// and does nothing visible otherwise (no enumeration). It works for accounts
// that never had a password. Requests are rate limited per email and ip.
//
// Only a malformed address is reported (*InvalidInputError): that says
// nothing about which accounts exist. The mail goes out in the background,
// so the time this takes does not depend on whether the account exists.
func (s *Service) RequestReset(ctx context.Context, email, ip string) error {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := checkIP(ip); err != nil {
		return err
	}
	now := s.clock()

	// Every request counts, whether or not the account exists, so the
	// limit behaves the same for every address.
	perEmail, err := s.store.RecordFailure(ctx, resetKey(norm), now, resetWindow)
	if err != nil {
		return fmt.Errorf("account: count reset requests: %w", err)
	}
	var perIP storage.Throttle
	if ip != "" {
		if perIP, err = s.store.RecordFailure(ctx, resetIPKey(ip), now, resetWindow); err != nil {
			return fmt.Errorf("account: count reset requests: %w", err)
		}
	}

	acct, err := s.store.GetAccountByEmail(ctx, norm)
	known := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("account: reset lookup: %w", err)
	}
	e := storage.AuditEvent{Action: "password_reset.request", IP: ip, Details: map[string]string{"email": norm}}
	if known {
		e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
	}
	limited := perEmail.Failures > resetPerEmail || perIP.Failures > resetPerIP
	if !limited && s.resetGate != nil {
		var target *storage.Account
		if known {
			target = &acct
		}
		allow, orgID, reason, err := s.resetGate(ctx, norm, target)
		if err != nil {
			return fmt.Errorf("account: reset gate: %w", err)
		}
		if !allow {
			e.Action, e.OrgID, e.Outcome, e.Reason = "password.reset_refused", orgID, "failure", reason
			return s.recordOutside(ctx, now, e)
		}
	}
	switch {
	case limited:
		e.Outcome, e.Reason = "failure", "rate_limited"
	case !known:
		e.Outcome, e.Reason = "failure", "unknown_account"
	case acct.Status != storage.StatusActive:
		e.Outcome, e.Reason = "failure", "suspended"
	}
	if e.Outcome == "failure" {
		return s.recordOutside(ctx, now, e)
	}

	org, err := s.store.GetOrganization(ctx, acct.OrgID)
	if err != nil {
		return fmt.Errorf("account: reset: read organization: %w", err)
	}
	var secret string
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// A newer request supersedes older links: only the latest mail works.
		if err := tx.InvalidateTokens(ctx, acct.ID, storage.PurposeReset, now); err != nil {
			return fmt.Errorf("account: invalidate older reset links: %w", err)
		}
		if secret, err = s.newOneTimeToken(ctx, tx, storage.PurposeReset, acct, s.cfg.ResetTTL, ip, now); err != nil {
			return err
		}
		e.Details["expires_at"] = now.Add(s.cfg.ResetTTL).Format(time.RFC3339)
		return s.record(ctx, tx, now, e)
	})
	if err != nil {
		return err
	}
	s.sendLater(ctx, resetMail(org, acct, s.link("/reset", secret, ""), s.cfg.ResetTTL, s.ssoLogin(ctx, acct)))
	return nil
}

// CheckResetToken returns the account a live reset or invitation token belongs to.
func (s *Service) CheckResetToken(ctx context.Context, token string) (storage.Account, error) {
	_, acct, err := resetTarget(ctx, s.store, token, s.clock())
	return acct, err
}

// resetTarget returns a live reset or invitation token and its account,
// which must be active; otherwise ErrInvalidLink.
func resetTarget(ctx context.Context, st storage.Store, token string, now time.Time) (storage.OneTimeToken, storage.Account, error) {
	tok, err := liveToken(ctx, st, token, now, storage.PurposeReset, storage.PurposeInvite)
	if err != nil {
		return tok, storage.Account{}, err
	}
	acct, err := st.GetAccount(ctx, tok.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return tok, storage.Account{}, ErrInvalidLink
	}
	if err != nil {
		return tok, storage.Account{}, fmt.Errorf("account: read account of link: %w", err)
	}
	if acct.Status != storage.StatusActive {
		return tok, storage.Account{}, ErrInvalidLink
	}
	return tok, acct, nil
}

// CompleteReset sets a new password through a reset or invitation token,
// consumes the token and revokes every session of the account, in one
// transaction with its audit event.
func (s *Service) CompleteReset(ctx context.Context, token, newPassword string) (storage.Account, error) {
	now := s.clock()
	_, acct, err := resetTarget(ctx, s.store, token, now)
	if err != nil {
		return storage.Account{}, err
	}
	if err := CheckPassword(newPassword, acct.Email); err != nil {
		return storage.Account{}, err
	}
	hash, err := s.hashPassword(ctx, newPassword)
	if err != nil {
		return storage.Account{}, err
	}
	// Whoever holds the link acts as the account.
	actx := reqctx.WithActor(ctx, "account", acct.ID, acct.Email)
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		tok, cur, err := resetTarget(ctx, tx, token, now)
		if err != nil {
			return err
		}
		// UseToken is the arbiter between two concurrent submissions of
		// the same link: exactly one gets past it.
		if err := useToken(ctx, tx, tok, now); err != nil {
			return err
		}
		if acct, err = tx.UpdateAccount(ctx, cur.ID, func(a *storage.Account) error {
			if a.Status != storage.StatusActive {
				return ErrInvalidLink
			}
			a.PasswordHash, a.PasswordChangedAt, a.UpdatedAt = hash, now, now
			return s.stampPassword(ctx, tx, a, now)
		}); err != nil {
			return mapUpdateErr(err, cur.ID)
		}
		// Any other outstanding reset or invitation link is moot now.
		for _, p := range []string{storage.PurposeReset, storage.PurposeInvite} {
			if err := tx.InvalidateTokens(ctx, acct.ID, p, now); err != nil {
				return fmt.Errorf("account: invalidate other links: %w", err)
			}
		}
		n, err := revokeAll(ctx, tx, acct.ID, "", "password_reset", now)
		if err != nil {
			return err
		}
		// Proving control of the mailbox is enough to lift the sign-in delay.
		if err := tx.ClearThrottle(ctx, acctKey(acct.Email)); err != nil {
			return fmt.Errorf("account: clear throttle: %w", err)
		}
		action := "password_reset.complete"
		if tok.Purpose == storage.PurposeInvite {
			action = "invitation.accept"
		}
		return s.record(actx, tx, now, storage.AuditEvent{
			OrgID:      acct.OrgID,
			Action:     action,
			TargetType: "account",
			TargetID:   acct.ID,
			Details:    map[string]string{"sessions_revoked": strconv.Itoa(n)},
		})
	})
	if err != nil {
		return storage.Account{}, err
	}
	return acct, nil
}

// RevokeAllSessions ends every session of accountID inside tx and tells
// every node to drop what it cached about them: for services that end a
// person's sessions as part of a change of their own (an admin resetting
// their second factors), in that change's transaction. reason is stored
// on the revoked sessions.
func RevokeAllSessions(ctx context.Context, tx storage.Store, accountID, reason string, now time.Time) (int, error) {
	return revokeAll(ctx, tx, accountID, "", reason, now)
}

// revokeAll revokes the account's sessions except exceptID and tells every
// node to drop what it cached about them.
func revokeAll(ctx context.Context, tx storage.Store, accountID, exceptID, reason string, now time.Time) (int, error) {
	n, err := tx.RevokeAccountSessions(ctx, accountID, exceptID, reason, now)
	if err != nil {
		return 0, fmt.Errorf("account: revoke sessions: %w", err)
	}
	if err := tx.PublishInvalidation(ctx, "account", accountID, now); err != nil {
		return 0, fmt.Errorf("account: publish session invalidation: %w", err)
	}
	return n, nil
}

// ChangePassword changes a signed-in person's password after checking the
// current one, and signs out their other sessions.
//
// A wrong current password counts against the sign-in throttle of the
// account, so a stolen session cannot be used to guess the password.
func (s *Service) ChangePassword(ctx context.Context, accountID, currentSessionID, current, next string) error {
	if err := checkID("account_id", "account", accountID); err != nil {
		return err
	}
	if !utf8.ValidString(current) {
		return &InvalidInputError{Field: "current_password", Message: "The current password contains characters that are not valid text."}
	}
	now := s.clock()
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return mapErr(err, "account "+strconv.Quote(accountID))
	}
	ip := reqctx.From(ctx).IP
	e := storage.AuditEvent{OrgID: acct.OrgID, Action: "password.change", TargetType: "account", TargetID: acct.ID}

	keys := s.cfg.Throttle.throttleKeys(acct.Email, ip, "")
	wait, _, err := s.reserve(ctx, keys, now)
	if err != nil {
		return err
	}
	if wait > 0 {
		e.Outcome, e.Reason = "failure", "throttled"
		if err := s.recordOutside(ctx, now, e); err != nil {
			return err
		}
		return &ThrottledError{RetryAfter: wait}
	}
	switch {
	case acct.Status != storage.StatusActive:
		e.Reason = "suspended"
	case acct.PasswordHash == "":
		e.Reason = "no_password"
	}
	hash := acct.PasswordHash
	if e.Reason != "" {
		hash = "" // a dummy verification
	}
	ok, verr, err := s.verifyPassword(ctx, hash, current)
	if err != nil {
		s.release(ctx, keys)
		return err
	}
	if e.Reason == "" && (verr != nil || !ok) {
		e.Reason = "bad_password"
	}
	if e.Reason != "" {
		// Counted by reserve already.
		e.Outcome = "failure"
		if err := s.recordOutside(ctx, now, e); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	// The right current password is no failure.
	s.release(ctx, keys)

	if err := CheckPassword(next, acct.Email); err != nil {
		return err
	}
	newHash, err := s.hashPassword(ctx, next)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := tx.UpdateAccount(ctx, acct.ID, func(a *storage.Account) error {
			// Changed or suspended since we checked: the check is void.
			if a.PasswordHash != acct.PasswordHash || a.Status != storage.StatusActive {
				return ErrBadCredentials
			}
			a.PasswordHash, a.PasswordChangedAt, a.UpdatedAt = newHash, now, now
			return s.stampPassword(ctx, tx, a, now)
		}); err != nil {
			return mapUpdateErr(err, acct.ID)
		}
		n, err := revokeAll(ctx, tx, acct.ID, currentSessionID, "password_change", now)
		if err != nil {
			return err
		}
		e.Details = map[string]string{"sessions_revoked": strconv.Itoa(n)}
		return s.record(ctx, tx, now, e)
	})
}
