package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const accountCols = `id, org_id, email, display_name, password_hash, password_changed_at,
	role, status, created_at, updated_at, version, origin, password_origin, password_emergency_id`

func scanAccount(r scanner) (storage.Account, error) {
	var a storage.Account
	var pwChanged, created, updated int64
	var role, status string
	if err := r.Scan(&a.ID, &a.OrgID, &a.Email, &a.DisplayName, &a.PasswordHash, &pwChanged,
		&role, &status, &created, &updated, &a.Version, &a.Origin, &a.PasswordOrigin, &a.PasswordEmergencyID); err != nil {
		return a, err
	}
	a.Role, a.Status = storage.Role(role), storage.AccountStatus(status)
	a.PasswordChangedAt, a.CreatedAt, a.UpdatedAt = fromUS(pwChanged), fromUS(created), fromUS(updated)
	return a, nil
}

// CreateAccount inserts a; ErrConflict on a duplicate ID or email,
// ErrNotFound when its organization does not exist.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`, email_skeleton, name_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		a.ID, a.OrgID, a.Email, a.DisplayName, a.PasswordHash, us(a.PasswordChangedAt),
		string(a.Role), string(a.Status), us(a.CreatedAt), us(a.UpdatedAt), a.Version,
		orDefault(a.Origin, storage.OriginAdmin), a.PasswordOrigin, a.PasswordEmergencyID, emailaddr.Skeleton(a.Email), storage.NameKey(a.DisplayName))
	return wrapErr(err, "create account %q", a.ID)
}

// GetAccount returns the account with the ID.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	a, err := scanAccount(s.q().QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, wrapErr(err, "get account %q", id)
}

// GetAccountByEmail returns the account with the (already normalized) email.
func (s *Store) GetAccountByEmail(ctx context.Context, email string) (storage.Account, error) {
	a, err := scanAccount(s.q().QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = $1`, email))
	// The email is personal data: keep it out of error text that may be logged.
	return a, wrapErr(err, "get account by email")
}

// ListAccounts returns an organization's accounts ordered by email.
func (s *Store) ListAccounts(ctx context.Context, orgID string) ([]storage.Account, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE org_id = $1 ORDER BY email`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list accounts of organization %q", orgID)
	}
	out, err := collect(rows, scanAccount)
	return out, wrapErr(err, "list accounts of organization %q", orgID)
}

// skeletonLockClass is the first key of the transaction-level advisory
// locks ListAccountsByEmailSkeleton takes on PostgreSQL (the two-key lock
// space, apart from the migration lock's single key). Arbitrary but fixed.
const skeletonLockClass int32 = 0x656d6c73 // "emls"

// ListAccountsByEmailSkeleton returns orgID's accounts whose email_skeleton
// is skeleton, ordered by email.
//
// Inside a transaction it first locks (orgID, skeleton) until the
// transaction ends, so that two transactions each checking "no lookalike
// yet" and then creating one cannot both pass: the second waits, and its
// read then sees the first one's committed row. SQLite needs no lock:
// its write transactions begin IMMEDIATE and so run one at a time.
func (s *Store) ListAccountsByEmailSkeleton(ctx context.Context, orgID, skeleton string) ([]storage.Account, error) {
	if s.tx != nil && s.dialect == DialectPostgres {
		h := fnv.New32a()
		h.Write([]byte(orgID))
		h.Write([]byte{0})
		h.Write([]byte(skeleton))
		if _, err := s.q().ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, skeletonLockClass, int32(h.Sum32())); err != nil {
			return nil, wrapErr(err, "lock email skeleton")
		}
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE org_id = $1 AND email_skeleton = $2 ORDER BY email`, orgID, skeleton)
	if err != nil {
		return nil, wrapErr(err, "list accounts by email skeleton")
	}
	out, err := collect(rows, scanAccount)
	return out, wrapErr(err, "list accounts by email skeleton")
}

// UpdateAccount reads the account under a row lock (PostgreSQL) or the
// write lock (SQLite), lets fn edit a copy, and writes it back with
// version+1. The UPDATE still checks the version it read, so even a path
// that somehow skipped the lock cannot overwrite a newer row: it gets
// ErrConflict instead of a lost update.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(a *storage.Account) error) (storage.Account, error) {
	var out storage.Account
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanAccount(tx.q().QueryRowContext(ctx,
			`SELECT `+accountCols+` FROM accounts WHERE id = $1`+tx.forUpdate(), id))
		if err != nil {
			return wrapErr(err, "update account %q: read", id)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err // unchanged, as documented; the tx rolls back
		}
		// Identity and history are not fn's to change.
		next.ID, next.OrgID, next.CreatedAt = cur.ID, cur.OrgID, cur.CreatedAt
		out, err = scanAccount(tx.q().QueryRowContext(ctx, `UPDATE accounts SET
				email = $3, display_name = $4, password_hash = $5, password_changed_at = $6,
				role = $7, status = $8, updated_at = $9, email_skeleton = $10,
				password_origin = $11, password_emergency_id = $12, name_key = $13, version = version + 1
			WHERE id = $1 AND version = $2
			RETURNING `+accountCols,
			id, cur.Version, next.Email, next.DisplayName, next.PasswordHash, us(next.PasswordChangedAt),
			string(next.Role), string(next.Status), us(next.UpdatedAt), emailaddr.Skeleton(next.Email),
			next.PasswordOrigin, next.PasswordEmergencyID, storage.NameKey(next.DisplayName)))
		if err != nil {
			if isNoRows(err) {
				return fmt.Errorf("sqlstore: update account %q: version %d is stale: %w", id, cur.Version, storage.ErrConflict)
			}
			return wrapErr(err, "update account %q", id)
		}
		return nil
	})
	if err != nil {
		return storage.Account{}, err
	}
	return out, nil
}

// CountAccounts counts accounts holding one of roles (all accounts if none).
func (s *Store) CountAccounts(ctx context.Context, roles ...storage.Role) (int, error) {
	query := `SELECT COUNT(*) FROM accounts`
	args := make([]any, len(roles))
	if len(roles) > 0 {
		ph := make([]string, len(roles))
		for i, r := range roles {
			ph[i] = fmt.Sprintf("$%d", i+1)
			args[i] = string(r)
		}
		query += ` WHERE role IN (` + strings.Join(ph, ", ") + `)`
	}
	var n int
	err := s.q().QueryRowContext(ctx, query, args...).Scan(&n)
	return n, wrapErr(err, "count accounts")
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
