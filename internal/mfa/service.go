// Package mfa holds second factors: authenticator apps (TOTP, RFC 6238)
// and personal recovery codes here, passkeys beside them. It knows nothing
// of HTTP: the /account page enrols and removes factors through it, and the
// sign-in engine verifies them before a session exists.
//
// Recovery codes belong to the person, not to one factor: removing the
// authenticator app keeps them (a passkey may still need a backup), and
// only RegenerateRecoveryCodes replaces them. Whether a recovery code may
// stand in for a second factor at sign-in (only when the account has a
// factor enrolled) is the sign-in engine's decision.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Errors callers match with errors.Is. Their texts are safe to show people.
var (
	// ErrInvalidCode: the code is wrong, malformed, already used, or the
	// account has no such factor. One answer for all, so a guesser learns
	// nothing about which.
	ErrInvalidCode error = errs.New(errs.Unauthenticated, "invalid_code", "That code isn't right. Check it and try again.")
	// ErrNoTOTPEnrolment: ConfirmTOTP found no set-up in progress (it was
	// confirmed already, or never begun).
	ErrNoTOTPEnrolment error = errs.New(errs.PreconditionFailed, "no_totp_enrolment", "There is no authenticator app set-up in progress. Start again.")
)

// Audit actions.
const (
	ActionTOTPBegun          = "mfa.totp_enrolment_started"
	ActionTOTPEnrolled       = "mfa.totp_enrolled"
	ActionTOTPRemoved        = "mfa.totp_removed"
	ActionTOTPVerified       = "mfa.totp_verified"
	ActionTOTPFailed         = "mfa.totp_failed"
	ActionRecoveryUsed       = "mfa.recovery_code_used"
	ActionRecoveryFailed     = "mfa.recovery_code_failed"
	ActionRecoveryRegenerate = "mfa.recovery_codes_regenerated"
)

// TOTPStatus is what the account page and the sign-in engine need to know
// about an account's authenticator app and recovery codes.
type TOTPStatus struct {
	TOTP              bool      // a confirmed authenticator app
	EnrolledAt        time.Time // when it was confirmed; zero when none
	RecoveryCodesLeft int       // unused personal recovery codes
}

// Service enrols, verifies and removes authenticator apps and recovery
// codes.
type Service struct {
	store  storage.Store
	box    *secretbox.Box
	issuer string
	log    *slog.Logger
	now    func() time.Time

	// later sends the notice of an admin reset (SetMailer) in the
	// background (Wait).
	later mail.Later

	// Backoff limits wrong codes per account (authenticator and recovery
	// codes share one counter, key "mfa:<accountID>"). NewService sets it
	// from config.Default's throttle section; the composition root sets
	// it from the loaded configuration.
	Backoff storage.Backoff

	// secondFactor tells who else has a second factor, for the
	// break-glass rule on removing one's last; see SetSecondFactor.
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the lookup (at wiring: the app's, over both
// authenticator apps and passkeys) that RemoveTOTP asks whether another
// break-glass owner has a second factor. Without it nobody else is
// proven, so the last break-glass owner of an organization that enforces
// SSO cannot remove their last factor.
func (s *Service) SetSecondFactor(f lockout.SecondFactorFunc) { s.secondFactor = f }

// NewService returns the service. issuer names Gatehouse in authenticator
// apps when the account's organization has no name.
func NewService(store storage.Store, box *secretbox.Box, issuer string, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, box: box, issuer: issuer, log: log, now: now,
		Backoff: BackoffFrom(config.Default().Throttle)}
}

// BackoffFrom is the MFA throttle for a throttle configuration: the
// per-account budget of password sign-in, applied to second-factor codes.
func BackoffFrom(c config.ThrottleConfig) storage.Backoff {
	return storage.Backoff{Window: c.Window, Limit: c.AccountLimit, BaseDelay: c.BaseDelay, MaxDelay: c.MaxDelay}
}

// TOTPEnrolled reports whether the account has a confirmed authenticator app.
func (s *Service) TOTPEnrolled(ctx context.Context, accountID string) (bool, error) {
	f, err := s.store.GetTOTPFactor(ctx, accountID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mfa: read authenticator app: %w", err)
	}
	return f.Secret != "", nil
}

// Status returns the account's authenticator app and recovery code state.
func (s *Service) Status(ctx context.Context, accountID string) (TOTPStatus, error) {
	var st TOTPStatus
	f, err := s.store.GetTOTPFactor(ctx, accountID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return st, fmt.Errorf("mfa: read authenticator app: %w", err)
	case f.Secret != "":
		st.TOTP, st.EnrolledAt = true, f.ConfirmedAt
	}
	if st.RecoveryCodesLeft, err = s.store.CountRecoveryCodes(ctx, accountID); err != nil {
		return st, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	return st, nil
}

// asSelf fails closed unless ctx acts as acct itself, active, in its own
// organization, resolved in tx: factors are the person's own business, not
// an admin's.
func asSelf(ctx context.Context, tx storage.Store, acct storage.Account) error {
	a, err := authz.Resolve(ctx, tx, acct.OrgID)
	if err != nil {
		return err
	}
	if a.Kind != authz.KindAccount || a.ID != acct.ID {
		return authz.ErrForbidden
	}
	return nil
}

func throttleKey(accountID string) string { return "mfa:" + accountID }

// reserve counts one attempt for accountID before a code is evaluated. It
// returns *account.ThrottledError when the account is blocked.
func (s *Service) reserve(ctx context.Context, accountID string, now time.Time) error {
	t, ok, err := s.store.ReserveAttempt(ctx, throttleKey(accountID), now, s.Backoff)
	if err != nil {
		return fmt.Errorf("mfa: reserve attempt: %w", err)
	}
	if ok {
		return nil
	}
	wait := t.BlockedUntil.Sub(now)
	if r := wait % time.Second; r != 0 {
		wait += time.Second - r
	}
	return &account.ThrottledError{RetryAfter: max(wait, time.Second)}
}

// release gives back the attempt of a correct code, so a person who types
// right codes is never slowed down. A failure is logged only: the counter
// errs towards caution.
func (s *Service) release(ctx context.Context, accountID string) {
	if err := s.store.ReleaseAttempt(ctx, throttleKey(accountID), s.Backoff); err != nil {
		s.log.WarnContext(ctx, "releasing an mfa attempt failed", "err", err)
	}
}

// failure records a refused code in the account's organization's audit
// log. Failing to is logged, not returned: the person gets the refusal
// either way.
func (s *Service) failure(ctx context.Context, acct storage.Account, action, reason string, now time.Time) {
	err := audit.Record(ctx, s.store, storage.AuditEvent{
		OrgID: acct.OrgID, Time: now, Action: action, Outcome: audit.OutcomeFailure, Reason: reason,
		TargetType: "account", TargetID: acct.ID,
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording a refused mfa code failed", "action", action, "err", err)
	}
}

// lookup reads the account a code is offered for; an unknown one answers
// ErrInvalidCode like a wrong code.
func (s *Service) lookup(ctx context.Context, accountID string) (storage.Account, error) {
	acct, err := s.store.GetAccount(ctx, accountID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && strings.TrimSpace(accountID) == "") {
		return storage.Account{}, ErrInvalidCode
	}
	if err != nil {
		return storage.Account{}, fmt.Errorf("mfa: read account: %w", err)
	}
	return acct, nil
}
