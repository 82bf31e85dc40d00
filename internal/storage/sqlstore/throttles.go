package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const throttleCols = `throttle_key, failures, window_start, last_failure`

func scanThrottle(r scanner) (storage.Throttle, error) {
	var t storage.Throttle
	var start, last int64
	if err := r.Scan(&t.Key, &t.Failures, &start, &last); err != nil {
		return t, err
	}
	t.WindowStart, t.LastFailure = fromUS(start), fromUS(last)
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
		VALUES ($1, 1, $2, $2)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures     = CASE WHEN throttles.window_start < $3 THEN 1 ELSE throttles.failures + 1 END,
			window_start = CASE WHEN throttles.window_start < $3 THEN $2 ELSE throttles.window_start END,
			last_failure = $2
		RETURNING `+throttleCols,
		key, us(now), us(now.Add(-window))))
	return t, wrapErr(err, "record failure")
}

// ClearThrottle forgets the counter (after a successful sign-in).
func (s *Store) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.q().ExecContext(ctx, `DELETE FROM throttles WHERE throttle_key = $1`, key)
	return wrapErr(err, "clear throttle")
}

// DeleteStaleThrottles removes counters whose last failure is before cutoff.
func (s *Store) DeleteStaleThrottles(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM throttles WHERE last_failure < $1`, us(cutoff))
	if err != nil {
		return 0, wrapErr(err, "delete stale throttles")
	}
	return affected(res, "delete stale throttles")
}
