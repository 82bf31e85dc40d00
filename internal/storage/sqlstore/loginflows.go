package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const loginFlowCols = `id, browser_hash, step, email, chosen, account_id, methods, connection_id,
	auth_time, return_to, prev_session, created_at, expires_at, used_at, version`

func scanLoginFlow(r scanner) (storage.LoginFlow, error) {
	var f storage.LoginFlow
	var methods string
	var authTime, created, expires, used int64
	if err := r.Scan(&f.ID, &f.BrowserHash, &f.Step, &f.Email, &f.Chosen, &f.AccountID, &methods,
		&f.ConnectionID, &authTime, &f.ReturnTo, &f.PrevSession, &created, &expires, &used, &f.Version); err != nil {
		return f, err
	}
	if methods != "" {
		f.Methods = strings.Split(methods, ",")
	}
	f.AuthTime, f.CreatedAt, f.ExpiresAt, f.UsedAt = fromUS(authTime), fromUS(created), fromUS(expires), fromUS(used)
	return f, nil
}

// joinMethods stores the method list as one comma-separated column: the
// values are a fixed vocabulary (amr names) that never contain a comma.
func joinMethods(m []string) (string, error) {
	for _, v := range m {
		if v == "" || strings.Contains(v, ",") {
			return "", fmt.Errorf("sqlstore: login flow method %q cannot be stored", v)
		}
	}
	return strings.Join(m, ","), nil
}

// CreateLoginFlow stores f; ErrConflict on a duplicate ID.
func (s *Store) CreateLoginFlow(ctx context.Context, f storage.LoginFlow) error {
	methods, err := joinMethods(f.Methods)
	if err != nil {
		return err
	}
	_, err = s.q().ExecContext(ctx, `INSERT INTO login_flows (`+loginFlowCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1)`,
		f.ID, f.BrowserHash, f.Step, f.Email, f.Chosen, f.AccountID, methods, f.ConnectionID,
		us(f.AuthTime), f.ReturnTo, f.PrevSession, us(f.CreatedAt), us(f.ExpiresAt), us(f.UsedAt))
	return wrapErr(err, "create login flow")
}

// GetLoginFlow returns the flow with id.
func (s *Store) GetLoginFlow(ctx context.Context, id string) (storage.LoginFlow, error) {
	f, err := scanLoginFlow(s.q().QueryRowContext(ctx, `SELECT `+loginFlowCols+` FROM login_flows WHERE id = $1`, id))
	if err != nil {
		return storage.LoginFlow{}, wrapErr(err, "get login flow")
	}
	return f, nil
}

// UpdateLoginFlow applies fn to the flow under a row lock (PostgreSQL) or
// the write lock (SQLite), and checks the version it read is still current.
func (s *Store) UpdateLoginFlow(ctx context.Context, id string, fn func(f *storage.LoginFlow) error) (storage.LoginFlow, error) {
	var out storage.LoginFlow
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanLoginFlow(tx.q().QueryRowContext(ctx,
			`SELECT `+loginFlowCols+` FROM login_flows WHERE id = $1`+tx.forUpdate(), id))
		if err != nil {
			return wrapErr(err, "update login flow: read")
		}
		next := cur
		next.Methods = append([]string(nil), cur.Methods...)
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.BrowserHash, next.CreatedAt = cur.ID, cur.BrowserHash, cur.CreatedAt
		methods, err := joinMethods(next.Methods)
		if err != nil {
			return err
		}
		out, err = scanLoginFlow(tx.q().QueryRowContext(ctx, `UPDATE login_flows SET
				step = $3, email = $4, chosen = $5, account_id = $6, methods = $7, connection_id = $8,
				auth_time = $9, return_to = $10, expires_at = $11, used_at = $12, prev_session = $13, version = version + 1
			WHERE id = $1 AND version = $2
			RETURNING `+loginFlowCols,
			id, cur.Version, next.Step, next.Email, next.Chosen, next.AccountID, methods, next.ConnectionID,
			us(next.AuthTime), next.ReturnTo, us(next.ExpiresAt), us(next.UsedAt), next.PrevSession))
		if err != nil {
			if isNoRows(err) {
				return fmt.Errorf("sqlstore: update login flow: version %d is stale: %w", cur.Version, storage.ErrConflict)
			}
			return wrapErr(err, "update login flow")
		}
		return nil
	})
	if err != nil {
		return storage.LoginFlow{}, err
	}
	return out, nil
}

// DeleteExpiredLoginFlows removes flows that expired before now.
func (s *Store) DeleteExpiredLoginFlows(ctx context.Context, now time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM login_flows WHERE expires_at < $1`, us(now))
	if err != nil {
		return 0, wrapErr(err, "delete expired login flows")
	}
	return affected(res, "delete expired login flows")
}
