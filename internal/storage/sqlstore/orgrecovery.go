package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const orgRecoveryCols = `id, org_id, code_hash, created_at, created_by, used_at, used_by`

func scanOrgRecoveryCode(r scanner) (storage.OrgRecoveryCode, error) {
	var c storage.OrgRecoveryCode
	var created, used int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.CodeHash, &created, &c.CreatedBy, &used, &c.UsedBy); err != nil {
		return c, err
	}
	c.CreatedAt, c.UsedAt = fromUS(created), fromUS(used)
	return c, nil
}

// ReplaceOrgRecoveryCodes deletes orgID's codes and stores codes instead,
// in one transaction (the caller's, or one of its own).
func (s *Store) ReplaceOrgRecoveryCodes(ctx context.Context, orgID string, codes []storage.OrgRecoveryCode) error {
	return s.InTx(ctx, func(tx storage.Store) error {
		t := tx.(*Store)
		if _, err := t.q().ExecContext(ctx, `DELETE FROM org_recovery_codes WHERE org_id = $1`, orgID); err != nil {
			return wrapErr(err, "delete organization recovery codes")
		}
		for _, c := range codes {
			if c.OrgID != orgID {
				return fmt.Errorf("sqlstore: recovery code of organization %q in the set of %q", c.OrgID, orgID)
			}
			if _, err := t.q().ExecContext(ctx, `INSERT INTO org_recovery_codes (`+orgRecoveryCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				c.ID, c.OrgID, c.CodeHash, us(c.CreatedAt), c.CreatedBy, us(c.UsedAt), c.UsedBy); err != nil {
				return wrapErr(err, "create organization recovery code")
			}
		}
		return nil
	})
}

// UseOrgRecoveryCode marks the unused code used in one conditional UPDATE:
// whichever of two concurrent uses updates the row first wins, the other
// matches no row (used_at is no longer 0) and gets ErrNotFound.
func (s *Store) UseOrgRecoveryCode(ctx context.Context, orgID, codeHash, accountID string, at time.Time) (storage.OrgRecoveryCode, error) {
	c, err := scanOrgRecoveryCode(s.q().QueryRowContext(ctx, `UPDATE org_recovery_codes SET used_at = $1, used_by = $2
		WHERE org_id = $3 AND code_hash = $4 AND used_at = 0
		RETURNING `+orgRecoveryCols, us(at), accountID, orgID, codeHash))
	if err != nil {
		return storage.OrgRecoveryCode{}, wrapErr(err, "use organization recovery code")
	}
	return c, nil
}

// ListOrgRecoveryCodes returns orgID's codes, oldest first.
func (s *Store) ListOrgRecoveryCodes(ctx context.Context, orgID string) ([]storage.OrgRecoveryCode, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+orgRecoveryCols+` FROM org_recovery_codes WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list organization recovery codes")
	}
	defer rows.Close()
	var out []storage.OrgRecoveryCode
	for rows.Next() {
		c, err := scanOrgRecoveryCode(rows)
		if err != nil {
			return nil, wrapErr(err, "list organization recovery codes")
		}
		out = append(out, c)
	}
	return out, wrapErr(rows.Err(), "list organization recovery codes")
}
