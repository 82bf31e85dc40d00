package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const totpCols = `account_id, secret_sealed, pending_sealed, pending_at, confirmed_at, last_step, last_used_at`

func scanTOTP(r scanner) (storage.TOTPFactor, error) {
	var f storage.TOTPFactor
	var pending, confirmed, used int64
	if err := r.Scan(&f.AccountID, &f.Secret, &f.PendingSecret, &pending, &confirmed, &f.LastStep, &used); err != nil {
		return f, err
	}
	f.PendingAt, f.ConfirmedAt, f.LastUsedAt = fromUS(pending), fromUS(confirmed), fromUS(used)
	return f, nil
}

// GetTOTPFactor returns the account's TOTP factor.
func (s *Store) GetTOTPFactor(ctx context.Context, accountID string) (storage.TOTPFactor, error) {
	f, err := scanTOTP(s.q().QueryRowContext(ctx, `SELECT `+totpCols+` FROM mfa_totp WHERE account_id = $1`, accountID))
	if err != nil {
		return storage.TOTPFactor{}, wrapErr(err, "get totp factor")
	}
	return f, nil
}

// SetPendingTOTP upserts the pending secret; the confirmed columns are not
// in the conflict branch, so a factor in use is left as it is.
func (s *Store) SetPendingTOTP(ctx context.Context, accountID, sealed string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO mfa_totp (`+totpCols+`)
		VALUES ($1, '', $2, $3, 0, 0, 0)
		ON CONFLICT (account_id) DO UPDATE SET pending_sealed = $2, pending_at = $3`,
		accountID, sealed, us(at))
	return wrapErr(err, "set pending totp")
}

// ConfirmTOTPFactor promotes the pending secret in one conditional UPDATE.
// last_step restarts at the confirming code's step: the new secret's codes
// have nothing to do with the old one's.
func (s *Store) ConfirmTOTPFactor(ctx context.Context, accountID, pendingSealed string, step int64, at time.Time) error {
	if pendingSealed == "" {
		return fmt.Errorf("sqlstore: confirm totp: no pending secret given: %w", storage.ErrConflict)
	}
	res, err := s.q().ExecContext(ctx, `UPDATE mfa_totp SET
			secret_sealed = pending_sealed, pending_sealed = '', pending_at = 0,
			confirmed_at = $3, last_step = $4, last_used_at = $3
		WHERE account_id = $1 AND pending_sealed = $2`,
		accountID, pendingSealed, us(at), step)
	if err != nil {
		return wrapErr(err, "confirm totp")
	}
	n, err := affected(res, "confirm totp")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: confirm totp: the pending secret changed: %w", storage.ErrConflict)
	}
	return nil
}

// UseTOTPStep moves last_step forward only if step is after it: the
// condition and the write are one statement, so of two concurrent uses of
// one code the database lets exactly one through.
func (s *Store) UseTOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE mfa_totp SET last_step = $2, last_used_at = $3
		WHERE account_id = $1 AND secret_sealed <> '' AND last_step < $2`,
		accountID, step, us(at))
	if err != nil {
		return wrapErr(err, "use totp step")
	}
	n, err := affected(res, "use totp step")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: use totp step %d: already used or no factor: %w", step, storage.ErrConflict)
	}
	return nil
}

// DeleteTOTPFactor removes the account's factor.
func (s *Store) DeleteTOTPFactor(ctx context.Context, accountID string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM mfa_totp WHERE account_id = $1`, accountID)
	if err != nil {
		return wrapErr(err, "delete totp factor")
	}
	n, err := affected(res, "delete totp factor")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: delete totp factor: %w", storage.ErrNotFound)
	}
	return nil
}

// ReplaceRecoveryCodes swaps the account's set in one transaction, so no
// reader sees the old and new sets mixed.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID string, hashes []string, at time.Time) error {
	return s.withTx(ctx, func(tx *Store) error {
		if _, err := tx.q().ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE account_id = $1`, accountID); err != nil {
			return wrapErr(err, "replace recovery codes: delete")
		}
		for _, h := range hashes {
			if _, err := tx.q().ExecContext(ctx, `INSERT INTO mfa_recovery_codes (account_id, code_hash, created_at, used_at)
				VALUES ($1, $2, $3, 0)`, accountID, h, us(at)); err != nil {
				return wrapErr(err, "replace recovery codes: insert")
			}
		}
		return nil
	})
}

// UseRecoveryCode spends one unused code in one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID, codeHash string, at time.Time) error {
	if at.IsZero() {
		// used_at 0 means unused: a zero time would spend nothing.
		return fmt.Errorf("sqlstore: use recovery code: no time given")
	}
	res, err := s.q().ExecContext(ctx, `UPDATE mfa_recovery_codes SET used_at = $3
		WHERE account_id = $1 AND code_hash = $2 AND used_at = 0`, accountID, codeHash, us(at))
	if err != nil {
		return wrapErr(err, "use recovery code")
	}
	n, err := affected(res, "use recovery code")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: use recovery code: no unused code matches: %w", storage.ErrNotFound)
	}
	return nil
}

// CountRecoveryCodes counts the account's unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE account_id = $1 AND used_at = 0`, accountID).Scan(&n)
	if err != nil {
		return 0, wrapErr(err, "count recovery codes")
	}
	return n, nil
}
