package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// dayUS is a day in the microseconds event_time counts.
const dayUS = int64(24 * time.Hour / time.Microsecond)

// CountSignIns groups orgID's sign-in events by day, action and method.
// It reads the audit_events_activity index (org_id, action, event_time)
// for the window only, and extracts the method from the JSON details of
// those rows alone; the day is the whole days since `since`.
func (s *Store) CountSignIns(ctx context.Context, orgID string, since, until time.Time) ([]storage.SignInCount, error) {
	if !since.Equal(since.UTC().Truncate(24 * time.Hour)) {
		return nil, fmt.Errorf("sqlstore: count sign-ins: since %s is not a UTC midnight", since)
	}
	method := `COALESCE(json_extract(details, '$.method'), '')`
	if s.dialect == DialectPostgres {
		method = `COALESCE(CAST(details AS jsonb) ->> 'method', '')`
	}
	rows, err := s.q().QueryContext(ctx, `SELECT (event_time - $2) / $4 AS day, action, `+method+` AS method, COUNT(*)
		FROM audit_events
		WHERE org_id = $1 AND action IN ('login.success', 'login.failure') AND event_time >= $2 AND event_time < $3
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, orgID, us(since), us(until), dayUS)
	if err != nil {
		return nil, wrapErr(err, "count sign-ins of organization %q", orgID)
	}
	out, err := collect(rows, func(r scanner) (storage.SignInCount, error) {
		var c storage.SignInCount
		var day int64
		if err := r.Scan(&day, &c.Action, &c.Method, &c.Count); err != nil {
			return c, err
		}
		c.Day = since.UTC().Add(time.Duration(day) * 24 * time.Hour)
		return c, nil
	})
	return out, wrapErr(err, "count sign-ins of organization %q", orgID)
}

// CountAttention counts pending invitations and accounts without a second
// factor in one statement.
func (s *Store) CountAttention(ctx context.Context, orgID string, now time.Time) (storage.Attention, error) {
	var a storage.Attention
	err := s.q().QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM accounts a WHERE a.org_id = $1 AND a.status = 'active' AND a.password_hash = ''
			AND EXISTS (SELECT 1 FROM one_time_tokens t WHERE t.account_id = a.id AND t.purpose = $2
				AND t.used_at = 0 AND t.expires_at > $3)),
		(SELECT COUNT(*) FROM accounts a WHERE a.org_id = $1 AND a.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM mfa_totp m WHERE m.account_id = a.id AND m.secret_sealed <> '')
			AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id))`,
		orgID, storage.PurposeInvite, us(now)).Scan(&a.InvitationsPending, &a.WithoutSecondFactor)
	return a, wrapErr(err, "count what needs attention in organization %q", orgID)
}
