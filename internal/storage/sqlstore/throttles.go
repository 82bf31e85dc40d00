package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const throttleCols = `throttle_key, failures, window_start, last_failure, blocked_until`

func scanThrottle(r scanner) (storage.Throttle, error) {
	var t storage.Throttle
	var start, last, blocked int64
	if err := r.Scan(&t.Key, &t.Failures, &start, &last, &blocked); err != nil {
		return t, err
	}
	t.WindowStart, t.LastFailure, t.BlockedUntil = fromUS(start), fromUS(last), fromUS(blocked)
	return t, nil
}

// GetThrottle returns the counter for key, or a zero Throttle with Key set.
func (s *Store) GetThrottle(ctx context.Context, key string) (storage.Throttle, error) {
	t, err := scanThrottle(s.q().QueryRowContext(ctx, `SELECT `+throttleCols+` FROM throttles WHERE throttle_key = $1`, key))
	if isNoRows(err) {
		return storage.Throttle{Key: key}, nil
	}
	return t, wrapErr(err, "get throttle")
}

// RecordFailure adds one failure in a single upsert, so concurrent failures
// on several nodes each count: the database applies them one after another
// on the row, with no read-modify-write in Go. A window that began before
// now-window restarts at now with one failure.
func (s *Store) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (storage.Throttle, error) {
	t, err := scanThrottle(s.q().QueryRowContext(ctx, `INSERT INTO throttles (`+throttleCols+`)
		VALUES ($1, 1, $2, $2, 0)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures     = CASE WHEN throttles.window_start < $3 THEN 1 ELSE throttles.failures + 1 END,
			window_start = CASE WHEN throttles.window_start < $3 THEN $2 ELSE throttles.window_start END,
			last_failure = $2
		RETURNING `+throttleCols,
		key, us(now), us(now.Add(-window))))
	return t, wrapErr(err, "record failure")
}

// reserveSQL admits and counts one attempt in a single upsert whose
// conflict branch updates only an unblocked row, so the database decides
// admission on the latest row version under its row lock (PostgreSQL) or
// write lock (SQLite): concurrent callers are serialised on the row and a
// refused one changes nothing. In a SET list every column names the old
// row. Parameters: $1 key, $2 now, $3 window start cutoff, $4 limit,
// $5 base delay, $6 max delay (times and delays in microseconds), cast so
// PostgreSQL need not guess their types.
var reserveSQL = func() string {
	r := strings.NewReplacer(
		"$2", "CAST($2 AS BIGINT)", "$3", "CAST($3 AS BIGINT)", "$4", "CAST($4 AS BIGINT)",
		"$5", "CAST($5 AS BIGINT)", "$6", "CAST($6 AS BIGINT)")
	next := `(CASE WHEN throttles.window_start < $3 THEN 1 ELSE throttles.failures + 1 END)`
	// The current delay is blocked_until - last_failure (negative when
	// unblocked); the next one doubles it within [base, max].
	doubled := `(2 * (throttles.blocked_until - throttles.last_failure))`
	grown := `(CASE WHEN ` + doubled + ` < $5 THEN $5 WHEN ` + doubled + ` > $6 THEN $6 ELSE ` + doubled + ` END)`
	return r.Replace(`INSERT INTO throttles (` + throttleCols + `)
		VALUES ($1, 1, $2, $2, CASE WHEN 1 >= $4 THEN $2 + $5 ELSE 0 END)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures      = ` + next + `,
			window_start  = CASE WHEN throttles.window_start < $3 THEN $2 ELSE throttles.window_start END,
			last_failure  = $2,
			blocked_until = CASE WHEN ` + next + ` < $4 THEN 0 WHEN ` + next + ` = $4 THEN $2 + $5 ELSE $2 + ` + grown + ` END
		WHERE throttles.blocked_until <= $2
		RETURNING ` + throttleCols)
}()

// ReserveAttempt counts one attempt on key if it is not blocked at now; see
// storage.Throttles. A refusal reads the blocking row back for its
// BlockedUntil (inside the caller's transaction when there is one).
func (s *Store) ReserveAttempt(ctx context.Context, key string, now time.Time, b storage.Backoff) (storage.Throttle, bool, error) {
	t, err := scanThrottle(s.q().QueryRowContext(ctx, reserveSQL,
		key, us(now), us(now.Add(-b.Window)), b.Limit, b.BaseDelay.Microseconds(), b.MaxDelay.Microseconds()))
	if err == nil {
		return t, true, nil
	}
	if !isNoRows(err) {
		return t, false, wrapErr(err, "reserve attempt")
	}
	t, err = s.GetThrottle(ctx, key)
	return t, false, err
}

// ReleaseAttempt gives back one admitted attempt; see storage.Throttles.
// Halving keeps the invariant blocked_until = last_failure + delay, so the
// next admitted attempt doubles from the delay before the released one.
func (s *Store) ReleaseAttempt(ctx context.Context, key string, b storage.Backoff) error {
	half := `((blocked_until - last_failure) / 2)`
	_, err := s.q().ExecContext(ctx, `UPDATE throttles SET
			failures      = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
			blocked_until = CASE WHEN failures - 1 < CAST($2 AS BIGINT) THEN 0
				ELSE last_failure + CASE WHEN `+half+` < CAST($3 AS BIGINT) THEN CAST($3 AS BIGINT) ELSE `+half+` END END
		WHERE throttle_key = $1`, key, b.Limit, b.BaseDelay.Microseconds())
	return wrapErr(err, "release attempt")
}

// ClearThrottle forgets the counter (after a successful sign-in).
func (s *Store) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.q().ExecContext(ctx, `DELETE FROM throttles WHERE throttle_key = $1`, key)
	return wrapErr(err, "clear throttle")
}

// DeleteStaleThrottles removes counters whose last failure is before
// cutoff, unless they still block after it: forgetting a counter that
// blocks would hand a guesser a fresh budget.
func (s *Store) DeleteStaleThrottles(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM throttles WHERE last_failure < $1 AND blocked_until < $1`, us(cutoff))
	if err != nil {
		return 0, wrapErr(err, "delete stale throttles")
	}
	return affected(res, "delete stale throttles")
}
