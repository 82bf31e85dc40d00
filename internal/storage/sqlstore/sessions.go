package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const sessionCols = `id, token_hash, account_id, org_id, method, created_at, last_seen_at,
	idle_timeout_us, expires_at, ip, user_agent, revoked_at, revoke_reason, connection_id, idp_authn_at,
	amr, auth_time, emergency_id`

func scanSession(r scanner) (storage.Session, error) {
	var x storage.Session
	var created, lastSeen, idle, expires, revoked, authnAt, authTime int64
	var amr string
	if err := r.Scan(&x.ID, &x.TokenHash, &x.AccountID, &x.OrgID, &x.Method, &created, &lastSeen,
		&idle, &expires, &x.IP, &x.UserAgent, &revoked, &x.RevokeReason, &x.ConnectionID, &authnAt,
		&amr, &authTime, &x.EmergencyID); err != nil {
		return x, err
	}
	if err := json.Unmarshal([]byte(amr), &x.AMR); err != nil {
		return x, fmt.Errorf("session %q: amr column: %w", x.ID, err)
	}
	if len(x.AMR) == 0 {
		x.AMR = nil // one spelling of "none", whatever was stored
	}
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.RevokedAt = fromUS(created), fromUS(lastSeen), fromUS(expires), fromUS(revoked)
	x.IdPAuthnAt, x.AuthTime = fromUS(authnAt), fromUS(authTime)
	x.IdleTimeout = time.Duration(idle) * time.Microsecond
	return x, nil
}

// CreateSession inserts x; ErrConflict on a duplicate ID or token hash,
// ErrNotFound when the account does not exist.
func (s *Store) CreateSession(ctx context.Context, x storage.Session) error {
	amr := []byte("[]")
	if len(x.AMR) > 0 {
		var err error
		if amr, err = json.Marshal(x.AMR); err != nil {
			return fmt.Errorf("sqlstore: create session %q: amr: %w", x.ID, err)
		}
	}
	_, err := s.q().ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		x.ID, x.TokenHash, x.AccountID, x.OrgID, x.Method, us(x.CreatedAt), us(x.LastSeenAt),
		x.IdleTimeout.Microseconds(), us(x.ExpiresAt), x.IP, x.UserAgent, us(x.RevokedAt), x.RevokeReason,
		x.ConnectionID, us(x.IdPAuthnAt), string(amr), us(x.AuthTime), x.EmergencyID)
	if err != nil {
		return wrapErr(err, "create session %q", x.ID)
	}
	// The members page sorts and filters by last sign-in; keeping it on
	// the account saves a scan of sessions per page.
	_, err = s.q().ExecContext(ctx, `UPDATE accounts SET last_sign_in_at = $1
		WHERE id = $2 AND last_sign_in_at < $1`, us(x.CreatedAt), x.AccountID)
	return wrapErr(err, "create session %q: last sign-in", x.ID)
}

// GetSessionByTokenHash returns the session whose cookie hashes to tokenHash,
// revoked or not: the caller decides what a revoked session means.
func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (storage.Session, error) {
	x, err := scanSession(s.q().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, tokenHash))
	return x, wrapErr(err, "get session by token hash")
}

// GetSession returns the session with the ID.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	x, err := scanSession(s.q().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	return x, wrapErr(err, "get session %q", id)
}

// TouchSession moves LastSeenAt forward. The condition in the UPDATE makes
// it monotonic even when two nodes touch the same session out of order.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, id, us(lastSeen))
	if err != nil {
		return wrapErr(err, "touch session %q", id)
	}
	return s.requireRow(ctx, res, `SELECT 1 FROM sessions WHERE id = $1`, id, "touch session %q", id)
}

// ListSessions returns an account's sessions that are neither revoked nor
// past ExpiresAt at now, newest first.
func (s *Store) ListSessions(ctx context.Context, accountID string, now time.Time) ([]storage.Session, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE account_id = $1 AND revoked_at = 0 AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, accountID, us(now))
	if err != nil {
		return nil, wrapErr(err, "list sessions of account %q", accountID)
	}
	out, err := collect(rows, scanSession)
	return out, wrapErr(err, "list sessions of account %q", accountID)
}

// RevokeSession marks the session revoked. A second revoke keeps the first
// time and reason, and is not an error; an unknown ID is ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
		WHERE id = $1 AND revoked_at = 0`, id, us(at), reason)
	if err != nil {
		return wrapErr(err, "revoke session %q", id)
	}
	return s.requireRow(ctx, res, `SELECT 1 FROM sessions WHERE id = $1`, id, "revoke session %q", id)
}

// RevokeAccountSessions revokes the account's live sessions (not revoked,
// not past ExpiresAt at `at`) except exceptID, and returns how many.
func (s *Store) RevokeAccountSessions(ctx context.Context, accountID, exceptID, reason string, at time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE sessions SET revoked_at = $3, revoke_reason = $4
		WHERE account_id = $1 AND id <> $2 AND revoked_at = 0 AND expires_at > $3`,
		accountID, exceptID, us(at), reason)
	if err != nil {
		return 0, wrapErr(err, "revoke sessions of account %q", accountID)
	}
	return affected(res, "revoke sessions of account %q", accountID)
}

// DeleteExpiredSessions removes sessions that ended before cutoff: past
// their absolute expiry, idle for longer than their idle timeout, or revoked.
func (s *Store) DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error) {
	c := us(cutoff)
	res, err := s.q().ExecContext(ctx, `DELETE FROM sessions
		WHERE expires_at < $1
		   OR (revoked_at <> 0 AND revoked_at < $1)
		   OR (idle_timeout_us > 0 AND last_seen_at + idle_timeout_us < $1)`, c)
	if err != nil {
		return 0, wrapErr(err, "delete expired sessions")
	}
	return affected(res, "delete expired sessions")
}

// requireRow turns "UPDATE changed nothing" into ErrNotFound when the row
// does not exist, and into success when it exists but needed no change.
func (s *Store) requireRow(ctx context.Context, res interface{ RowsAffected() (int64, error) }, exists, key string, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, format, args...)
	}
	if n > 0 {
		return nil
	}
	var one int
	return wrapErr(s.q().QueryRowContext(ctx, exists, key).Scan(&one), format, args...)
}

func affected(res interface{ RowsAffected() (int64, error) }, format string, args ...any) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(err, format, args...)
	}
	return int(n), nil
}
