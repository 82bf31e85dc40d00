package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func init() { goSteps[21] = backfillNameKeys }

// backfillNameKeys fills accounts.name_key for rows from before migration
// 0021 with storage.NameKey, which lowercases beyond ASCII (SQL's lower()
// does not on SQLite), so search finds "Émilie" by "é".
func backfillNameKeys(ctx context.Context, _ *Store, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, display_name FROM accounts`)
	if err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	type row struct{ id, name string }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name); err != nil {
			rows.Close()
			return fmt.Errorf("read names: %w", err)
		}
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	for _, r := range all {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name_key = $1 WHERE id = $2`, storage.NameKey(r.name), r.id); err != nil {
			return fmt.Errorf("write name key: %w", err)
		}
	}
	return nil
}
