package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var invalidationTests = []namedTest{
	{"SinceAndDelete", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
		// Published out of time order, as two nodes might.
		for _, p := range []struct {
			kind, key string
			m         int
		}{{"session", "s1", 0}, {"account", "a1", 2}, {"session", "s2", 1}, {"session", "s3", 3}} {
			wantErr(t, "PublishInvalidation", s.PublishInvalidation(ctx, p.kind, p.key, at(p.m)), nil)
		}
		got, err := s.InvalidationsSince(ctx, at(1))
		wantErr(t, "InvalidationsSince", err, nil)
		keys := []string{}
		for _, inv := range got {
			keys = append(keys, inv.Kind+":"+inv.Key)
			if inv.Seq <= 0 {
				t.Fatalf("invalidation %s has Seq %d", inv.Key, inv.Seq)
			}
		}
		wantEqual(t, "since at(1), oldest first", keys, []string{"session:s2", "account:a1", "session:s3"})
		wantUTCMicros(t, "CreatedAt", got[0].CreatedAt, at(1))

		n, err := s.DeleteInvalidations(ctx, at(2))
		wantErr(t, "DeleteInvalidations", err, nil)
		wantEqual(t, "deleted", n, 2)
		got, err = s.InvalidationsSince(ctx, time.Time{})
		wantErr(t, "InvalidationsSince(zero)", err, nil)
		wantEqual(t, "left", len(got), 2)
	}},
}

var throttleTests = []namedTest{
	{"WindowAndRestart", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		const key = "acct:a@example.com"
		got, err := s.GetThrottle(ctx, key)
		wantErr(t, "GetThrottle(unknown)", err, nil)
		wantEqual(t, "unknown throttle", got, storage.Throttle{Key: key})

		window := 15 * time.Minute
		want := func(th storage.Throttle, failures int, start, last time.Time) {
			t.Helper()
			wantEqual(t, "throttle", th, storage.Throttle{Key: key, Failures: failures,
				WindowStart: storage.Truncate(start), LastFailure: storage.Truncate(last)})
		}
		th, err := s.RecordFailure(ctx, key, base, window)
		wantErr(t, "RecordFailure", err, nil)
		want(th, 1, base, base)
		th, err = s.RecordFailure(ctx, key, base.Add(window), window) // exactly at the edge: same window
		wantErr(t, "RecordFailure", err, nil)
		want(th, 2, base, base.Add(window))
		got, err = s.GetThrottle(ctx, key)
		wantErr(t, "GetThrottle", err, nil)
		want(got, 2, base, base.Add(window))

		restart := base.Add(window + time.Microsecond)
		th, err = s.RecordFailure(ctx, key, restart, window)
		wantErr(t, "RecordFailure after the window", err, nil)
		want(th, 1, restart, restart)

		wantErr(t, "ClearThrottle", s.ClearThrottle(ctx, key), nil)
		got, err = s.GetThrottle(ctx, key)
		wantErr(t, "GetThrottle after clear", err, nil)
		wantEqual(t, "cleared", got, storage.Throttle{Key: key})
		wantErr(t, "ClearThrottle(unknown)", s.ClearThrottle(ctx, "nope"), nil)
	}},
	{"ConcurrentFailuresAllCount", func(t *testing.T, s storage.Store) {
		errs := race(goroutines, func(i int) error {
			_, err := s.RecordFailure(ctxOf(t), "ip:203.0.113.7", base.Add(time.Duration(i)*time.Millisecond), time.Hour)
			return err
		})
		allSucceed(t, "RecordFailure", errs)
		got, err := s.GetThrottle(ctxOf(t), "ip:203.0.113.7")
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "failures", got.Failures, goroutines)
	}},
	{"DeleteStale", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		for i, key := range []string{"k0", "k1", "k2"} {
			_, err := s.RecordFailure(ctx, key, base.Add(time.Duration(i)*time.Hour), time.Minute)
			wantErr(t, "RecordFailure", err, nil)
		}
		n, err := s.DeleteStaleThrottles(ctx, base.Add(90*time.Minute))
		wantErr(t, "DeleteStaleThrottles", err, nil)
		wantEqual(t, "deleted", n, 2)
		got, err := s.GetThrottle(ctx, "k2")
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "kept", got.Failures, 1)
	}},
}
