package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const emergencyCols = `id, org_id, reason, started_at, ends_at, ended_at,
	started_by_type, started_by_id, started_by_email, ended_by_type, ended_by_id, ended_by_email,
	end_reason, automatic, cause, scoped, version, sign_out_at_end`

func scanEmergency(r scanner) (storage.Emergency, error) {
	var e storage.Emergency
	var started, ends, ended int64
	var automatic, scoped, signOut int
	if err := r.Scan(&e.ID, &e.OrgID, &e.Reason, &started, &ends, &ended,
		&e.StartedByType, &e.StartedByID, &e.StartedByEmail, &e.EndedByType, &e.EndedByID, &e.EndedByEmail,
		&e.EndReason, &automatic, &e.Cause, &scoped, &e.Version, &signOut); err != nil {
		return e, err
	}
	e.StartedAt, e.EndsAt, e.EndedAt = fromUS(started), fromUS(ends), fromUS(ended)
	e.Automatic, e.Scoped, e.SignOutAtEnd = automatic != 0, scoped != 0, signOut != 0
	return e, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateEmergency stores e and its scope. The partial unique index on open
// emergencies turns a second open one into ErrConflict on every node.
func (s *Store) CreateEmergency(ctx context.Context, e storage.Emergency) error {
	ids := slices.Clone(e.PolicyIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return s.withTx(ctx, func(tx *Store) error {
		_, err := tx.q().ExecContext(ctx, `INSERT INTO emergencies (`+emergencyCols+`)
			VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, '', '', '', '', $9, $10, $11, 1, $12)`,
			e.ID, e.OrgID, e.Reason, us(e.StartedAt), us(e.EndsAt),
			e.StartedByType, e.StartedByID, e.StartedByEmail, boolInt(e.Automatic), e.Cause, boolInt(e.Scoped || len(ids) > 0),
			boolInt(e.SignOutAtEnd))
		if err != nil {
			return wrapErr(err, "create emergency %q", e.ID)
		}
		for _, pid := range ids {
			var one int
			if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM policies WHERE org_id = $1 AND id = $2`, e.OrgID, pid).Scan(&one); err != nil {
				return wrapErr(err, "create emergency %q: policy %q", e.ID, pid)
			}
			if _, err := tx.q().ExecContext(ctx, `INSERT INTO emergency_policies (emergency_id, policy_id) VALUES ($1, $2)`, e.ID, pid); err != nil {
				return wrapErr(err, "create emergency %q: scope", e.ID)
			}
		}
		return nil
	})
}

// withPolicies fills in the scope of scoped emergencies.
func (s *Store) withPolicies(ctx context.Context, es []storage.Emergency) ([]storage.Emergency, error) {
	for i := range es {
		if !es[i].Scoped {
			continue
		}
		rows, err := s.q().QueryContext(ctx, `SELECT policy_id FROM emergency_policies WHERE emergency_id = $1 ORDER BY policy_id`, es[i].ID)
		if err != nil {
			return nil, wrapErr(err, "read scope of emergency %q", es[i].ID)
		}
		ids, err := collect(rows, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, wrapErr(err, "read scope of emergency %q", es[i].ID)
		}
		es[i].PolicyIDs = ids
	}
	return es, nil
}

func (s *Store) oneEmergency(ctx context.Context, what, query string, args ...any) (storage.Emergency, error) {
	e, err := scanEmergency(s.q().QueryRowContext(ctx, query, args...))
	if err != nil {
		return storage.Emergency{}, wrapErr(err, "%s", what)
	}
	out, err := s.withPolicies(ctx, []storage.Emergency{e})
	if err != nil {
		return storage.Emergency{}, err
	}
	return out[0], nil
}

// GetEmergency returns orgID's emergency id.
func (s *Store) GetEmergency(ctx context.Context, orgID, id string) (storage.Emergency, error) {
	return s.oneEmergency(ctx, fmt.Sprintf("get emergency %q", id),
		`SELECT `+emergencyCols+` FROM emergencies WHERE org_id = $1 AND id = $2`, orgID, id)
}

// OpenEmergency returns orgID's open emergency.
func (s *Store) OpenEmergency(ctx context.Context, orgID string) (storage.Emergency, error) {
	return s.oneEmergency(ctx, "open emergency",
		`SELECT `+emergencyCols+` FROM emergencies WHERE org_id = $1 AND ended_at = 0`, orgID)
}

// EmergencyInForce is one query on the open-emergency index: at most one
// row per organization is open, and its scope is checked by primary key.
func (s *Store) EmergencyInForce(ctx context.Context, orgID, policyID string, now time.Time) (storage.Emergency, error) {
	e, err := scanEmergency(s.q().QueryRowContext(ctx, `SELECT `+emergencyCols+` FROM emergencies e
		WHERE e.org_id = $1 AND e.ended_at = 0 AND e.started_at <= $2 AND e.ends_at > $2
		  AND (e.scoped = 0 OR $3 = '' OR EXISTS (
		      SELECT 1 FROM emergency_policies p WHERE p.emergency_id = e.id AND p.policy_id = $3))`,
		orgID, us(now), policyID))
	if err != nil {
		return storage.Emergency{}, wrapErr(err, "emergency in force")
	}
	return e, nil
}

// ListEmergencies returns orgID's emergencies, newest first.
func (s *Store) ListEmergencies(ctx context.Context, orgID string, limit int) ([]storage.Emergency, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+emergencyCols+` FROM emergencies WHERE org_id = $1
		ORDER BY started_at DESC, id DESC LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, wrapErr(err, "list emergencies")
	}
	out, err := collect(rows, scanEmergency)
	if err != nil {
		return nil, wrapErr(err, "list emergencies")
	}
	return s.withPolicies(ctx, out)
}

// ListDueEmergencies returns open emergencies past their end.
func (s *Store) ListDueEmergencies(ctx context.Context, now time.Time) ([]storage.Emergency, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+emergencyCols+` FROM emergencies
		WHERE ended_at = 0 AND ends_at <= $1 ORDER BY ends_at, id`, us(now))
	if err != nil {
		return nil, wrapErr(err, "list due emergencies")
	}
	out, err := collect(rows, scanEmergency)
	if err != nil {
		return nil, wrapErr(err, "list due emergencies")
	}
	return s.withPolicies(ctx, out)
}

// UpdateEmergency applies fn under a row lock and a version check.
func (s *Store) UpdateEmergency(ctx context.Context, orgID, id string, fn func(e *storage.Emergency) error) (storage.Emergency, error) {
	var out storage.Emergency
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := tx.oneEmergency(ctx, fmt.Sprintf("update emergency %q: read", id),
			`SELECT `+emergencyCols+` FROM emergencies WHERE org_id = $1 AND id = $2`+tx.forUpdate(), orgID, id)
		if err != nil {
			return err
		}
		next := cur
		next.PolicyIDs = slices.Clone(cur.PolicyIDs)
		if err := fn(&next); err != nil {
			return err
		}
		res, err := tx.q().ExecContext(ctx, `UPDATE emergencies SET ends_at = $4, ended_at = $5,
				ended_by_type = $6, ended_by_id = $7, ended_by_email = $8, end_reason = $9,
				sign_out_at_end = $10, version = version + 1
			WHERE org_id = $1 AND id = $2 AND version = $3`,
			orgID, id, cur.Version, us(next.EndsAt), us(next.EndedAt),
			next.EndedByType, next.EndedByID, next.EndedByEmail, next.EndReason, boolInt(next.SignOutAtEnd))
		if err != nil {
			return wrapErr(err, "update emergency %q", id)
		}
		if n, err := affected(res, "update emergency %q", id); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("sqlstore: update emergency %q: version %d is stale: %w", id, cur.Version, storage.ErrConflict)
		}
		out, err = tx.oneEmergency(ctx, fmt.Sprintf("update emergency %q: reread", id),
			`SELECT `+emergencyCols+` FROM emergencies WHERE org_id = $1 AND id = $2`, orgID, id)
		return err
	})
	if err != nil {
		return storage.Emergency{}, err
	}
	return out, nil
}

// ClearEmergencyPasswords empties the passwords set during emergency id.
func (s *Store) ClearEmergencyPasswords(ctx context.Context, id string, at time.Time) ([]string, error) {
	if id == "" {
		return nil, fmt.Errorf("sqlstore: clear emergency passwords: no emergency ID")
	}
	rows, err := s.q().QueryContext(ctx, `UPDATE accounts SET password_hash = '', password_origin = '',
			password_emergency_id = '', updated_at = $3, version = version + 1
		WHERE password_emergency_id = $1 AND password_origin = $2
		RETURNING id`, id, storage.PasswordEmergency, us(at))
	if err != nil {
		return nil, wrapErr(err, "clear passwords of emergency %q", id)
	}
	ids, err := collect(rows, func(r scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
	if err != nil {
		return nil, wrapErr(err, "clear passwords of emergency %q", id)
	}
	slices.Sort(ids)
	return ids, nil
}

// ListEmergencySessions returns the sessions made under emergency id.
func (s *Store) ListEmergencySessions(ctx context.Context, id string) ([]storage.Session, error) {
	if id == "" {
		return nil, nil
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE emergency_id = $1
		ORDER BY created_at DESC, id DESC`, id)
	if err != nil {
		return nil, wrapErr(err, "list sessions of emergency %q", id)
	}
	out, err := collect(rows, scanSession)
	return out, wrapErr(err, "list sessions of emergency %q", id)
}

// RevokeEmergencySessions revokes the live sessions made under emergency id.
func (s *Store) RevokeEmergencySessions(ctx context.Context, id, reason string, at time.Time) ([]storage.Session, error) {
	if id == "" {
		return nil, nil
	}
	var out []storage.Session
	err := s.withTx(ctx, func(tx *Store) error {
		rows, err := tx.q().QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
			WHERE emergency_id = $1 AND revoked_at = 0 AND expires_at > $2 ORDER BY created_at, id`+tx.forUpdate(), id, us(at))
		if err != nil {
			return wrapErr(err, "revoke sessions of emergency %q", id)
		}
		if out, err = collect(rows, scanSession); err != nil {
			return wrapErr(err, "revoke sessions of emergency %q", id)
		}
		_, err = tx.q().ExecContext(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
			WHERE emergency_id = $1 AND revoked_at = 0 AND expires_at > $2`, id, us(at), reason)
		return wrapErr(err, "revoke sessions of emergency %q", id)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
