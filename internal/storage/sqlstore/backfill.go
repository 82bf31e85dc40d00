package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
)

// goSteps are data changes that SQL alone cannot make, run right after the
// migration of the same version and in its transaction, so a database is
// never at that version without them.
var goSteps = map[int64]func(ctx context.Context, s *Store, tx *sql.Tx) error{
	4: backfillEmailSkeletons,
}

// backfillEmailSkeletons brings accounts created before migration 0004 in
// line with the emailaddr rules:
//   - an email whose normal form changed (an internationalized domain was
//     stored as its U-label, a full-width or ligature form was kept) is
//     rewritten to it when no other account holds that form, so the person
//     signs in typing the address as before;
//   - every account gets the skeleton of its (possibly rewritten) email.
//
// Addresses the rules now refuse (mixed scripts) are kept as they are — an
// account is not taken from anyone by a migration — and logged by account
// ID for an admin to review, together with lookalike pairs the new check
// would have refused.
func backfillEmailSkeletons(ctx context.Context, s *Store, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, org_id, email FROM accounts ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	type row struct{ id, org, email string }
	var all []row
	taken := map[string]bool{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.org, &r.email); err != nil {
			rows.Close()
			return fmt.Errorf("read accounts: %w", err)
		}
		all = append(all, r)
		taken[r.email] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	seen := map[[2]string]string{} // (org, skeleton) → first account ID
	for _, r := range all {
		email := r.email
		norm, err := emailaddr.Normalize(email)
		switch {
		case err != nil:
			s.logger.WarnContext(ctx, "stored email breaks the address rules; kept as it is, review it", "account_id", r.id, "err", err)
		case norm != email && taken[norm]:
			s.logger.WarnContext(ctx, "stored email's normal form belongs to another account; kept as it is, review it", "account_id", r.id)
		case norm != email:
			taken[norm] = true
			email = norm
			s.logger.InfoContext(ctx, "rewrote stored email to its normal form", "account_id", r.id)
		}
		skel := emailaddr.Skeleton(email)
		if first, dup := seen[[2]string{r.org, skel}]; dup {
			s.logger.WarnContext(ctx, "two accounts have lookalike emails; review them", "account_id", r.id, "lookalike_of", first)
		} else {
			seen[[2]string{r.org, skel}] = r.id
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = $1, email_skeleton = $2 WHERE id = $3`, email, skel, r.id); err != nil {
			return fmt.Errorf("update account %q: %w", r.id, err)
		}
	}
	return nil
}
