package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const tokenCols = `token_hash, purpose, account_id, org_id, created_at, expires_at, used_at, request_ip`

func scanToken(r scanner) (storage.OneTimeToken, error) {
	var t storage.OneTimeToken
	var created, expires, used int64
	if err := r.Scan(&t.TokenHash, &t.Purpose, &t.AccountID, &t.OrgID, &created, &expires, &used, &t.RequestIP); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromUS(created), fromUS(expires), fromUS(used)
	return t, nil
}

// CreateToken inserts t; ErrConflict on a duplicate hash.
func (s *Store) CreateToken(ctx context.Context, t storage.OneTimeToken) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO one_time_tokens (`+tokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.TokenHash, t.Purpose, t.AccountID, t.OrgID, us(t.CreatedAt), us(t.ExpiresAt), us(t.UsedAt), t.RequestIP)
	return wrapErr(err, "create %s token", t.Purpose)
}

// GetToken returns the token with the hash, used or not.
func (s *Store) GetToken(ctx context.Context, tokenHash string) (storage.OneTimeToken, error) {
	t, err := scanToken(s.q().QueryRowContext(ctx, `SELECT `+tokenCols+` FROM one_time_tokens WHERE token_hash = $1`, tokenHash))
	return t, wrapErr(err, "get one-time token")
}

// UseToken consumes the token. The used_at = 0 condition makes the UPDATE
// itself the arbiter: of two concurrent uses exactly one changes a row.
func (s *Store) UseToken(ctx context.Context, tokenHash string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at = 0`,
		tokenHash, us(at))
	if err != nil {
		return wrapErr(err, "use one-time token")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "use one-time token")
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := s.q().QueryRowContext(ctx, `SELECT 1 FROM one_time_tokens WHERE token_hash = $1`, tokenHash).Scan(&one); err != nil {
		return wrapErr(err, "use one-time token")
	}
	return fmt.Errorf("sqlstore: use one-time token: already used: %w", storage.ErrConflict)
}

// InvalidateTokens marks the account's unused tokens of the purpose used.
func (s *Store) InvalidateTokens(ctx context.Context, accountID, purpose string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $3
		WHERE account_id = $1 AND purpose = $2 AND used_at = 0`, accountID, purpose, us(at))
	return wrapErr(err, "invalidate %s tokens of account %q", purpose, accountID)
}

// DeleteExpiredTokens removes tokens that expired before cutoff.
func (s *Store) DeleteExpiredTokens(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM one_time_tokens WHERE expires_at < $1`, us(cutoff))
	if err != nil {
		return 0, wrapErr(err, "delete expired one-time tokens")
	}
	return affected(res, "delete expired one-time tokens")
}

const apiTokenCols = `id, org_id, name, token_hash, created_by, created_at, last_used_at, revoked_at, scope, expires_at, last_used_ip`

func scanAPIToken(r scanner) (storage.APIToken, error) {
	var t storage.APIToken
	var created, lastUsed, revoked, expires int64
	if err := r.Scan(&t.ID, &t.OrgID, &t.Name, &t.TokenHash, &t.CreatedBy, &created, &lastUsed, &revoked, &t.Scope,
		&expires, &t.LastUsedIP); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt, t.ExpiresAt = fromUS(created), fromUS(lastUsed), fromUS(revoked), fromUS(expires)
	return t, nil
}

// CreateAPIToken inserts t; ErrConflict on a duplicate ID, hash, or name in
// the organization; ErrNotFound when the organization does not exist.
func (s *Store) CreateAPIToken(ctx context.Context, t storage.APIToken) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO api_tokens (`+apiTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.ID, t.OrgID, t.Name, t.TokenHash, t.CreatedBy, us(t.CreatedAt), us(t.LastUsedAt), us(t.RevokedAt), t.Scope,
		us(t.ExpiresAt), t.LastUsedIP)
	return wrapErr(err, "create API token %q", t.Name)
}

// GetAPITokenByHash returns the token with the hash, revoked or not.
func (s *Store) GetAPITokenByHash(ctx context.Context, tokenHash string) (storage.APIToken, error) {
	t, err := scanAPIToken(s.q().QueryRowContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE token_hash = $1`, tokenHash))
	return t, wrapErr(err, "get API token by hash")
}

// ListAPITokens returns the organization's tokens, revoked included, newest first.
func (s *Store) ListAPITokens(ctx context.Context, orgID string) ([]storage.APIToken, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE org_id = $1
		ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list API tokens of organization %q", orgID)
	}
	out, err := collect(rows, scanAPIToken)
	return out, wrapErr(err, "list API tokens of organization %q", orgID)
}

// RevokeAPIToken revokes the token if it belongs to orgID (ErrNotFound
// otherwise, so one organization cannot probe another's token IDs).
// Revoking twice keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $3
		WHERE org_id = $1 AND id = $2 AND revoked_at = 0`, orgID, id, us(at))
	if err != nil {
		return wrapErr(err, "revoke API token %q", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "revoke API token %q", id)
	}
	if n > 0 {
		return nil
	}
	var one int
	return wrapErr(s.q().QueryRowContext(ctx, `SELECT 1 FROM api_tokens WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&one),
		"revoke API token %q", id)
}

// TouchAPIToken records a use at `at` from ip, moving LastUsedAt forward
// (never backward); a use at the same instant from another address
// replaces the address.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time, ip string) error {
	res, err := s.q().ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3
		WHERE id = $1 AND last_used_at <= $2`, id, us(at), ip)
	if err != nil {
		return wrapErr(err, "touch API token %q", id)
	}
	return s.requireRow(ctx, res, `SELECT 1 FROM api_tokens WHERE id = $1`, id, "touch API token %q", id)
}
