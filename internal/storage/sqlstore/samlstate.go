package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const authnRequestCols = `id, connection_id, browser_hash, return_to, test, flow_id, tester_id, created_at, expires_at, used_at`

func scanAuthnRequest(r scanner) (storage.AuthnRequest, error) {
	var x storage.AuthnRequest
	var test, created, expires, used int64
	if err := r.Scan(&x.ID, &x.ConnectionID, &x.BrowserHash, &x.ReturnTo, &test, &x.FlowID, &x.TesterID, &created, &expires, &used); err != nil {
		return x, err
	}
	x.Test = test != 0
	x.CreatedAt, x.ExpiresAt, x.UsedAt = fromUS(created), fromUS(expires), fromUS(used)
	return x, nil
}

// CreateAuthnRequest stores an outstanding AuthnRequest; ErrConflict on a
// duplicate ID, ErrNotFound when the connection does not exist.
func (s *Store) CreateAuthnRequest(ctx context.Context, r storage.AuthnRequest) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO authn_requests (`+authnRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.ConnectionID, r.BrowserHash, r.ReturnTo, b2i(r.Test), r.FlowID, r.TesterID, us(r.CreatedAt), us(r.ExpiresAt), us(r.UsedAt))
	return wrapErr(err, "create AuthnRequest %q", r.ID)
}

// UseAuthnRequest consumes the request and returns it with UsedAt set. The
// used_at = 0 condition makes the UPDATE the arbiter: of two responses
// answering the same request (two nodes, a replayed POST) exactly one gets
// the row back; the other gets ErrConflict.
func (s *Store) UseAuthnRequest(ctx context.Context, id string, at time.Time) (storage.AuthnRequest, error) {
	r, err := scanAuthnRequest(s.q().QueryRowContext(ctx, `UPDATE authn_requests SET used_at = $2
		WHERE id = $1 AND used_at = 0 RETURNING `+authnRequestCols, id, us(at)))
	if err == nil {
		return r, nil
	}
	if !isNoRows(err) {
		return storage.AuthnRequest{}, wrapErr(err, "use AuthnRequest %q", id)
	}
	var one int
	if err := s.q().QueryRowContext(ctx, `SELECT 1 FROM authn_requests WHERE id = $1`, id).Scan(&one); err != nil {
		return storage.AuthnRequest{}, wrapErr(err, "use AuthnRequest %q", id)
	}
	return storage.AuthnRequest{}, fmt.Errorf("sqlstore: use AuthnRequest %q: already used: %w", id, storage.ErrConflict)
}

// RememberAssertion adds the assertion ID to the replay cache until
// expiresAt. ErrConflict if the (connection, assertion ID) pair is already
// there, expired or not: the row stays until DeleteExpiredSAMLState purges
// it, and is never overwritten. Replacing an expired row would need "now",
// which this call does not take, and would gain nothing: the caller keeps an
// ID at least as long as the assertion is valid, so an assertion whose row
// has expired fails its own time window anyway, and a new assertion reusing
// an ID is an IdP bug worth refusing.
//
// ON CONFLICT DO NOTHING rather than a failing INSERT keeps a PostgreSQL
// transaction usable after a replay is detected, so the caller can still
// write its audit event in it.
func (s *Store) RememberAssertion(ctx context.Context, connectionID, assertionID string, expiresAt time.Time) error {
	res, err := s.q().ExecContext(ctx, `INSERT INTO saml_assertions (connection_id, assertion_id, expires_at)
		VALUES ($1, $2, $3) ON CONFLICT (connection_id, assertion_id) DO NOTHING`,
		connectionID, assertionID, us(expiresAt))
	if err != nil {
		return wrapErr(err, "remember assertion at connection %q", connectionID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "remember assertion at connection %q", connectionID)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: remember assertion at connection %q: seen before (replay): %w", connectionID, storage.ErrConflict)
	}
	return nil
}

// DeleteExpiredSAMLState removes AuthnRequests and replay-cache entries
// that expired before now, and returns how many rows it removed in all.
func (s *Store) DeleteExpiredSAMLState(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, table := range []string{"authn_requests", "saml_assertions"} {
		// table is one of two constants above, never input.
		res, err := s.q().ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at < $1`, us(now))
		if err != nil {
			return total, wrapErr(err, "delete expired %s", table)
		}
		n, err := affected(res, "delete expired %s", table)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
