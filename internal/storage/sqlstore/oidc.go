package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const oidcAuthRequestCols = `id, client_id, org_id, request, hint_subject, created_at, expires_at, done_at,
	account_id, session_id, auth_time, amr, emergency_id, code_hash, code_expires_at, code_used_at`

func scanOIDCAuthRequest(r scanner) (storage.OIDCAuthRequest, error) {
	var x storage.OIDCAuthRequest
	var req, amr string
	var created, expires, done, authTime, codeExp, codeUsed int64
	if err := r.Scan(&x.ID, &x.ClientID, &x.OrgID, &req, &x.HintSubject, &created, &expires, &done,
		&x.AccountID, &x.SessionID, &authTime, &amr, &x.EmergencyID, &x.CodeHash, &codeExp, &codeUsed); err != nil {
		return x, err
	}
	x.Request = []byte(req)
	if err := json.Unmarshal([]byte(amr), &x.AMR); err != nil {
		return x, fmt.Errorf("oidc auth request %q: amr column: %w", x.ID, err)
	}
	x.CreatedAt, x.ExpiresAt, x.DoneAt, x.AuthTime = fromUS(created), fromUS(expires), fromUS(done), fromUS(authTime)
	x.CodeExpiresAt, x.CodeUsedAt = fromUS(codeExp), fromUS(codeUsed)
	return x, nil
}

// jsonList stores a string list as a JSON array ("[]" for none).
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// The lookups by hash repeat the partial indexes' condition (the hash is
// not empty): neither SQLite nor a generic PostgreSQL plan can tell that a
// bound parameter is never empty, and without the condition both scan the whole
// table (every token ever issued) on every refresh and code redemption.
const (
	qOIDCAuthRequestByCode = `SELECT ` + oidcAuthRequestCols + ` FROM oidc_auth_requests
		WHERE code_hash = $1 AND code_hash <> ''`
	qOIDCRefreshToken = `SELECT ` + oidcTokenCols + ` FROM oidc_tokens
		WHERE token_hash = $1 AND token_hash <> '' AND kind = $2`
)

// CreateOIDCAuthRequest stores r.
func (s *Store) CreateOIDCAuthRequest(ctx context.Context, r storage.OIDCAuthRequest) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO oidc_auth_requests (`+oidcAuthRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		r.ID, r.ClientID, r.OrgID, string(r.Request), r.HintSubject, us(r.CreatedAt), us(r.ExpiresAt), us(r.DoneAt),
		r.AccountID, r.SessionID, us(r.AuthTime), jsonList(r.AMR), r.EmergencyID, r.CodeHash, us(r.CodeExpiresAt), us(r.CodeUsedAt))
	return wrapErr(err, "create oidc auth request")
}

// GetOIDCAuthRequest returns the request with id.
func (s *Store) GetOIDCAuthRequest(ctx context.Context, id string) (storage.OIDCAuthRequest, error) {
	r, err := scanOIDCAuthRequest(s.q().QueryRowContext(ctx, `SELECT `+oidcAuthRequestCols+` FROM oidc_auth_requests WHERE id = $1`, id))
	return r, wrapErr(err, "get oidc auth request")
}

// GetOIDCAuthRequestByCode returns the request whose code has codeHash.
func (s *Store) GetOIDCAuthRequestByCode(ctx context.Context, codeHash string) (storage.OIDCAuthRequest, error) {
	if codeHash == "" {
		return storage.OIDCAuthRequest{}, fmt.Errorf("sqlstore: get oidc auth request by code: %w", storage.ErrNotFound)
	}
	r, err := scanOIDCAuthRequest(s.q().QueryRowContext(ctx, qOIDCAuthRequestByCode, codeHash))
	return r, wrapErr(err, "get oidc auth request by code")
}

// CompleteOIDCAuthRequest records the sign-in once, in one conditional
// UPDATE.
func (s *Store) CompleteOIDCAuthRequest(ctx context.Context, id string, d storage.OIDCAuthRequest) error {
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_auth_requests SET done_at = $1, account_id = $2, session_id = $3,
		auth_time = $4, amr = $5, emergency_id = $6 WHERE id = $7 AND done_at = 0`,
		us(d.DoneAt), d.AccountID, d.SessionID, us(d.AuthTime), jsonList(d.AMR), d.EmergencyID, id)
	return s.oneRow(ctx, res, err, id, "complete oidc auth request")
}

// SetOIDCAuthCode records the code of a completed request once.
func (s *Store) SetOIDCAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = $1, code_expires_at = $2
		WHERE id = $3 AND done_at <> 0 AND code_hash = ''`, codeHash, us(expiresAt), id)
	return s.oneRow(ctx, res, err, id, "set oidc auth code")
}

// UseOIDCAuthCode marks the code redeemed; one of two concurrent uses wins.
func (s *Store) UseOIDCAuthCode(ctx context.Context, id string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_auth_requests SET code_used_at = $1
		WHERE id = $2 AND code_hash <> '' AND code_used_at = 0`, us(at), id)
	return s.oneRow(ctx, res, err, id, "use oidc auth code")
}

// oneRow turns a conditional UPDATE of auth request id that changed no row
// into ErrConflict (the row exists) or ErrNotFound (it does not).
func (s *Store) oneRow(ctx context.Context, res interface{ RowsAffected() (int64, error) }, err error, id, what string) error {
	if err != nil {
		return wrapErr(err, "%s", what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "%s", what)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetOIDCAuthRequest(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", what, storage.ErrConflict)
}

// DeleteOIDCAuthRequest removes the request with id.
func (s *Store) DeleteOIDCAuthRequest(ctx context.Context, id string) error {
	_, err := s.q().ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = $1`, id)
	return wrapErr(err, "delete oidc auth request")
}

const oidcTokenCols = `id, kind, token_hash, family_id, auth_request_id, client_id, org_id, account_id, session_id,
	scopes, auth_time, amr, emergency_id, created_at, expires_at, revoked_at, rotated_at`

func scanOIDCToken(r scanner) (storage.OIDCToken, error) {
	var t storage.OIDCToken
	var scopes, amr string
	var authTime, created, expires, revoked, rotated int64
	if err := r.Scan(&t.ID, &t.Kind, &t.TokenHash, &t.FamilyID, &t.AuthRequestID, &t.ClientID, &t.OrgID, &t.AccountID,
		&t.SessionID, &scopes, &authTime, &amr, &t.EmergencyID, &created, &expires, &revoked, &rotated); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("oidc token %q: scopes column: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(amr), &t.AMR); err != nil {
		return t, fmt.Errorf("oidc token %q: amr column: %w", t.ID, err)
	}
	t.AuthTime, t.CreatedAt, t.ExpiresAt = fromUS(authTime), fromUS(created), fromUS(expires)
	t.RevokedAt, t.RotatedAt = fromUS(revoked), fromUS(rotated)
	return t, nil
}

// CreateOIDCToken stores t.
func (s *Store) CreateOIDCToken(ctx context.Context, t storage.OIDCToken) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO oidc_tokens (`+oidcTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		t.ID, t.Kind, t.TokenHash, t.FamilyID, t.AuthRequestID, t.ClientID, t.OrgID, t.AccountID, t.SessionID,
		jsonList(t.Scopes), us(t.AuthTime), jsonList(t.AMR), t.EmergencyID, us(t.CreatedAt), us(t.ExpiresAt),
		us(t.RevokedAt), us(t.RotatedAt))
	return wrapErr(err, "create oidc token")
}

// GetOIDCToken returns the token with id.
func (s *Store) GetOIDCToken(ctx context.Context, id string) (storage.OIDCToken, error) {
	t, err := scanOIDCToken(s.q().QueryRowContext(ctx, `SELECT `+oidcTokenCols+` FROM oidc_tokens WHERE id = $1`, id))
	return t, wrapErr(err, "get oidc token")
}

// GetOIDCRefreshToken returns the refresh token with tokenHash.
func (s *Store) GetOIDCRefreshToken(ctx context.Context, tokenHash string) (storage.OIDCToken, error) {
	if tokenHash == "" {
		return storage.OIDCToken{}, fmt.Errorf("sqlstore: get oidc refresh token: %w", storage.ErrNotFound)
	}
	t, err := scanOIDCToken(s.q().QueryRowContext(ctx, qOIDCRefreshToken, tokenHash, storage.OIDCRefreshToken))
	return t, wrapErr(err, "get oidc refresh token")
}

// RotateOIDCRefreshToken marks a live refresh token rotated, once.
func (s *Store) RotateOIDCRefreshToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_tokens SET rotated_at = $1
		WHERE id = $2 AND kind = $3 AND rotated_at = 0 AND revoked_at = 0`, us(at), id, storage.OIDCRefreshToken)
	if err != nil {
		return wrapErr(err, "rotate oidc refresh token")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "rotate oidc refresh token")
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetOIDCToken(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: rotate oidc refresh token: %w", storage.ErrConflict)
}

// RevokeOIDCToken revokes one token.
func (s *Store) RevokeOIDCToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, us(at), id)
	return wrapErr(err, "revoke oidc token")
}

// RevokeOIDCTokenFamily revokes every live token of the family.
func (s *Store) RevokeOIDCTokenFamily(ctx context.Context, familyID string, at time.Time) (int, error) {
	return s.revokeWhere(ctx, "family_id", familyID, at)
}

// RevokeOIDCAuthRequestTokens revokes every live token issued from the
// authorization request.
func (s *Store) RevokeOIDCAuthRequestTokens(ctx context.Context, authRequestID string, at time.Time) (int, error) {
	return s.revokeWhere(ctx, "auth_request_id", authRequestID, at)
}

// revokeWhere revokes the tokens whose column (a constant of this file,
// never input) equals value.
func (s *Store) revokeWhere(ctx context.Context, column, value string, at time.Time) (int, error) {
	if value == "" {
		return 0, nil
	}
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = $1 WHERE `+column+` = $2 AND revoked_at = 0`, us(at), value)
	if err != nil {
		return 0, wrapErr(err, "revoke oidc tokens")
	}
	n, err := res.RowsAffected()
	return int(n), wrapErr(err, "revoke oidc tokens")
}

// LockOIDCSigningKeys takes a transaction-scoped advisory lock on
// PostgreSQL. On SQLite the write transaction (BEGIN IMMEDIATE) already
// holds the database's only write lock.
func (s *Store) LockOIDCSigningKeys(ctx context.Context) error {
	if s.tx == nil {
		return fmt.Errorf("sqlstore: lock oidc signing keys: not in a transaction")
	}
	if s.dialect != DialectPostgres {
		return nil
	}
	// A fixed key of Gatehouse's own: "oidckeys" read as an integer.
	_, err := s.q().ExecContext(ctx, `SELECT pg_advisory_xact_lock(7983449108549429619)`)
	return wrapErr(err, "lock oidc signing keys")
}

const oidcKeyCols = `id, algorithm, sealed_key, public_jwk, created_at, active_until, expires_at`

// CreateOIDCSigningKey stores k.
func (s *Store) CreateOIDCSigningKey(ctx context.Context, k storage.OIDCSigningKey) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO oidc_signing_keys (`+oidcKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Algorithm, k.SealedKey, k.PublicJWK, us(k.CreatedAt), us(k.ActiveUntil), us(k.ExpiresAt))
	return wrapErr(err, "create oidc signing key")
}

// ListOIDCSigningKeys returns the keys not expired at now, newest first.
func (s *Store) ListOIDCSigningKeys(ctx context.Context, now time.Time) ([]storage.OIDCSigningKey, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+oidcKeyCols+` FROM oidc_signing_keys WHERE expires_at > $1
		ORDER BY created_at DESC, id`, us(now))
	if err != nil {
		return nil, wrapErr(err, "list oidc signing keys")
	}
	defer rows.Close()
	var out []storage.OIDCSigningKey
	for rows.Next() {
		var k storage.OIDCSigningKey
		var created, active, expires int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.SealedKey, &k.PublicJWK, &created, &active, &expires); err != nil {
			return nil, wrapErr(err, "list oidc signing keys")
		}
		k.CreatedAt, k.ActiveUntil, k.ExpiresAt = fromUS(created), fromUS(active), fromUS(expires)
		out = append(out, k)
	}
	return out, wrapErr(rows.Err(), "list oidc signing keys")
}

// DeleteExpiredOIDC removes rows that ended before cutoff.
func (s *Store) DeleteExpiredOIDC(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for _, q := range []string{
		`DELETE FROM oidc_auth_requests WHERE expires_at < $1 AND (code_expires_at = 0 OR code_expires_at < $1)`,
		`DELETE FROM oidc_tokens WHERE expires_at < $1`,
		`DELETE FROM oidc_signing_keys WHERE expires_at < $1`,
	} {
		res, err := s.q().ExecContext(ctx, q, us(cutoff))
		if err != nil {
			return total, wrapErr(err, "delete expired oidc rows")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrapErr(err, "delete expired oidc rows")
		}
		total += int(n)
	}
	return total, nil
}
