package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// usablePasskey is a passkey that can sign in: one whose clone was
// suspected is refused until the person removes it.
const usablePasskey = `k.account_id = a.id AND k.clone_suspected_at = 0`

// readinessPolicy is the ID of the policy that covers account a, as
// PolicyFor resolves it (IdP groups included).
func (s *Store) readinessPolicy() string {
	return s.resolvedPolicy("a")
}

// readinessFrom is the accounts a PasskeyReadinessQuery covers: active,
// of the organization, whose policy is among the placeholders from $3 on.
// $1 is the organization, $2 the account status.
func (s *Store) readinessFrom(policies int) string {
	ph := make([]string, policies)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+3)
	}
	return ` FROM accounts a
		WHERE a.org_id = $1 AND a.status = $2
			AND ` + s.readinessPolicy() + ` IN (` + strings.Join(ph, ", ") + `)`
}

// ListPasskeyReadiness returns one page of q in one statement: the passkey
// counts are correlated subqueries on the passkeys_account index, so a
// page of a hundred accounts costs one round trip, not a hundred.
func (s *Store) ListPasskeyReadiness(ctx context.Context, q storage.PasskeyReadinessQuery) ([]storage.PasskeyReadinessRow, error) {
	if len(q.PolicyIDs) == 0 {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args := []any{q.OrgID, string(storage.StatusActive)}
	for _, id := range q.PolicyIDs {
		args = append(args, id)
	}
	where := ""
	if q.WithoutPasskey {
		where += ` AND NOT EXISTS (SELECT 1 FROM passkeys k WHERE ` + usablePasskey + `)`
	}
	if len(q.Emails) > 0 {
		ph := make([]string, len(q.Emails))
		for i, e := range q.Emails {
			args = append(args, e)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		where += ` AND a.email IN (` + strings.Join(ph, ", ") + `)`
	}
	args = append(args, q.AfterEmail)
	where += fmt.Sprintf(` AND a.email > $%d`, len(args))
	args = append(args, limit)
	rows, err := s.q().QueryContext(ctx, `SELECT a.id, a.email, a.display_name, `+s.readinessPolicy()+`,
			(SELECT COUNT(*) FROM passkeys k WHERE `+usablePasskey+`),
			(SELECT COUNT(*) FROM passkeys k WHERE `+usablePasskey+` AND k.emergency = 1),
			COALESCE((SELECT r.reminded_at FROM passkey_reminders r WHERE r.account_id = a.id), 0)`+
		s.readinessFrom(len(q.PolicyIDs))+where+fmt.Sprintf(` ORDER BY a.email LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, wrapErr(err, "list passkey readiness")
	}
	out, err := collect(rows, func(r scanner) (storage.PasskeyReadinessRow, error) {
		var row storage.PasskeyReadinessRow
		var total, emergency, reminded int64
		err := r.Scan(&row.AccountID, &row.Email, &row.DisplayName, &row.PolicyID, &total, &emergency, &reminded)
		row.Passkeys, row.EmergencyPasskeys, row.LastRemindedAt = int(total), int(emergency), fromUS(reminded)
		return row, err
	})
	return out, wrapErr(err, "list passkey readiness")
}

// CountPasskeyReadiness sums the accounts q covers in one statement.
func (s *Store) CountPasskeyReadiness(ctx context.Context, q storage.PasskeyReadinessQuery) (storage.PasskeyReadinessCounts, error) {
	var c storage.PasskeyReadinessCounts
	if len(q.PolicyIDs) == 0 {
		return c, nil
	}
	args := []any{q.OrgID, string(storage.StatusActive)}
	for _, id := range q.PolicyIDs {
		args = append(args, id)
	}
	var covered, with, emergency int64
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM passkeys k WHERE `+usablePasskey+`) THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM passkeys k WHERE `+usablePasskey+` AND k.emergency = 1) THEN 1 ELSE 0 END), 0)`+
		s.readinessFrom(len(q.PolicyIDs)), args...).Scan(&covered, &with, &emergency)
	if err != nil {
		return c, wrapErr(err, "count passkey readiness")
	}
	return storage.PasskeyReadinessCounts{Covered: int(covered), WithPasskey: int(with), WithEmergency: int(emergency)}, nil
}

// claimChunk bounds the accounts one claim statement names, far below
// both dialects' limits on bound parameters.
const claimChunk = 500

// ClaimPasskeyReminders upserts a reminder row per account whose last
// reminder is not after notAfter; the upsert's WHERE makes the claim
// atomic (a concurrent claim of the same account updates nothing, so
// RETURNING leaves it out), and the SELECT from accounts keeps another
// organization's accounts out.
func (s *Store) ClaimPasskeyReminders(ctx context.Context, orgID string, accountIDs []string, at, notAfter time.Time) ([]string, error) {
	var out []string
	for chunk := range slices.Chunk(accountIDs, claimChunk) {
		args := []any{orgID, us(at), us(notAfter)}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		rows, err := s.q().QueryContext(ctx, `INSERT INTO passkey_reminders (account_id, org_id, reminded_at)
			SELECT id, org_id, CAST($2 AS BIGINT) FROM accounts WHERE org_id = $1 AND id IN (`+strings.Join(ph, ", ")+`)
			ON CONFLICT (account_id) DO UPDATE SET reminded_at = excluded.reminded_at, org_id = excluded.org_id
				WHERE passkey_reminders.reminded_at <= $3
			RETURNING account_id`, args...)
		if err != nil {
			return nil, wrapErr(err, "claim passkey reminders")
		}
		ids, err := collect(rows, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, wrapErr(err, "claim passkey reminders")
		}
		out = append(out, ids...)
	}
	slices.Sort(out)
	return out, nil
}
