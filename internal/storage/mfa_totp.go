package storage

import (
	"context"
	"time"
)

// TOTPFactor is an account's authenticator-app (RFC 6238) factor. The
// shared secrets are stored sealed with internal/secretbox under a context
// that names the account, so a sealed value copied to another account's
// row does not open. One row per account holds both the confirmed secret
// and a pending one (an enrolment not yet confirmed with a code), so
// starting a new enrolment never disturbs the factor in use.
type TOTPFactor struct {
	AccountID string
	// Secret is the sealed secret in use; empty when none is confirmed.
	Secret string
	// PendingSecret is the sealed secret of an enrolment waiting for its
	// first code; empty when none.
	PendingSecret string
	PendingAt     time.Time // when the pending enrolment began; zero when none
	ConfirmedAt   time.Time // when Secret was confirmed; zero when none
	// LastStep is the RFC 6238 time step (unix seconds / 30) of the last
	// code accepted; a code of this step or an earlier one is refused.
	LastStep   int64
	LastUsedAt time.Time
}

// RecoveryCode is one single-use personal recovery code, stored only as the
// hex SHA-256 of its normalised text.
type RecoveryCode struct {
	AccountID string
	CodeHash  string
	CreatedAt time.Time
	UsedAt    time.Time // zero while unused
}

// MFATOTP stores authenticator-app factors and personal recovery codes.
// The writes that spend something (a time step, a recovery code) are single
// conditional statements, so two concurrent uses cannot both succeed on any
// number of nodes.
type MFATOTP interface {
	// GetTOTPFactor returns the account's factor; ErrNotFound if it has
	// neither a confirmed nor a pending secret.
	GetTOTPFactor(ctx context.Context, accountID string) (TOTPFactor, error)
	// SetPendingTOTP stores sealed as the account's pending secret at `at`,
	// replacing any pending one and leaving a confirmed one untouched.
	SetPendingTOTP(ctx context.Context, accountID, sealed string, at time.Time) error
	// ConfirmTOTPFactor makes the pending secret the one in use, on
	// condition that the pending secret is still pendingSealed, and records
	// step as the last step used. ErrConflict when the pending secret
	// changed or is gone (a second enrolment, or a second confirmation,
	// won the race).
	ConfirmTOTPFactor(ctx context.Context, accountID, pendingSealed string, step int64, at time.Time) error
	// UseTOTPStep records step as used, on condition that a confirmed
	// secret exists and step is after the last step used. ErrConflict
	// otherwise (a replay, or a concurrent use of the same code that won).
	UseTOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error
	// DeleteTOTPFactor removes the factor (confirmed and pending);
	// ErrNotFound when there was none.
	DeleteTOTPFactor(ctx context.Context, accountID string) error

	// ReplaceRecoveryCodes deletes every recovery code of the account and
	// stores hashes as its new unused set, created at `at`.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, hashes []string, at time.Time) error
	// UseRecoveryCode marks the account's unused code with codeHash used at
	// `at`; ErrNotFound when no unused code of the account has that hash
	// (unknown, or already used, possibly by a concurrent caller).
	UseRecoveryCode(ctx context.Context, accountID, codeHash string, at time.Time) error
	// CountRecoveryCodes returns how many unused codes the account has.
	CountRecoveryCodes(ctx context.Context, accountID string) (int, error)
}
