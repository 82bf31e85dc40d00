package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// reserveBackoff is a small budget so the tests reach the cap quickly.
var reserveBackoff = storage.Backoff{Window: 15 * time.Minute, Limit: 3, BaseDelay: time.Second, MaxDelay: 4 * time.Second}

var errRefused = errors.New("refused")

var reservationTests = []namedTest{
	{"BudgetThenDoublingDelays", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		const key = "acct:a@example.com"
		b := reserveBackoff
		reserve := func(at time.Time, wantOK bool, wantFailures int, wantBlocked time.Time) {
			t.Helper()
			th, ok, err := s.ReserveAttempt(ctx, key, at, b)
			wantErr(t, "ReserveAttempt", err, nil)
			if ok != wantOK {
				t.Fatalf("ReserveAttempt at %v: admitted = %v, want %v", at.Sub(base), ok, wantOK)
			}
			wantEqual(t, "failures", th.Failures, wantFailures)
			wantUTCMicros(t, "blocked until", th.BlockedUntil, wantBlocked)
		}
		reserve(base, true, 1, time.Time{})
		reserve(base, true, 2, time.Time{})
		reserve(base, true, 3, base.Add(time.Second)) // the limit-th blocks for base_delay
		reserve(base, false, 3, base.Add(time.Second))
		reserve(base.Add(999*time.Millisecond), false, 3, base.Add(time.Second))
		t1 := base.Add(time.Second) // blocked until exactly then: admitted
		reserve(t1, true, 4, t1.Add(2*time.Second))
		t2 := t1.Add(2 * time.Second)
		reserve(t2, true, 5, t2.Add(4*time.Second))
		t3 := t2.Add(4 * time.Second)
		reserve(t3, true, 6, t3.Add(4*time.Second)) // capped at max_delay

		// A released attempt halves the delay; below the limit it unblocks.
		wantErr(t, "ReleaseAttempt", s.ReleaseAttempt(ctx, key, b), nil)
		got, err := s.GetThrottle(ctx, key)
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "failures after release", got.Failures, 5)
		wantUTCMicros(t, "blocked after release", got.BlockedUntil, t3.Add(2*time.Second))
		for range 3 {
			wantErr(t, "ReleaseAttempt", s.ReleaseAttempt(ctx, key, b), nil)
		}
		got, err = s.GetThrottle(ctx, key)
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "failures below the limit", got.Failures, 2)
		wantUTCMicros(t, "unblocked below the limit", got.BlockedUntil, time.Time{})
		reserve(t3, true, 3, t3.Add(time.Second))
		wantErr(t, "ReleaseAttempt(unknown)", s.ReleaseAttempt(ctx, "nope", b), nil)

		// After the window (and the block) the count starts over.
		later := t3.Add(b.Window + time.Second)
		reserve(later, true, 1, time.Time{})
	}},
	{"ConcurrentReservationsNeverExceedTheBudget", func(t *testing.T, s storage.Store) {
		b := reserveBackoff
		b.Limit = 5
		admitted := make([]bool, goroutines)
		errs := race(goroutines, func(i int) error {
			_, ok, err := s.ReserveAttempt(ctxOf(t), "ip:203.0.113.9", base, b)
			admitted[i] = ok
			return err
		})
		allSucceed(t, "ReserveAttempt", errs)
		n := 0
		for _, ok := range admitted {
			if ok {
				n++
			}
		}
		wantEqual(t, "admitted", n, b.Limit)
		got, err := s.GetThrottle(ctxOf(t), "ip:203.0.113.9")
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "failures", got.Failures, b.Limit)
	}},
	{"TwoKeysReservedTogetherOrNotAtAll", func(t *testing.T, s storage.Store) {
		// An account key with room and an address key that runs out: an
		// attempt the address refuses must not use up the account's budget,
		// so both reservations share one transaction.
		wide := reserveBackoff
		wide.Limit = 1000
		errs := race(goroutines, func(i int) error {
			return s.InTx(ctxOf(t), func(tx storage.Store) error {
				if _, ok, err := tx.ReserveAttempt(ctxOf(t), "acct:b@example.com", base, wide); err != nil || !ok {
					return fmt.Errorf("account key: ok=%v: %w", ok, err)
				}
				if _, ok, err := tx.ReserveAttempt(ctxOf(t), "ip:198.51.100.4", base, reserveBackoff); err != nil {
					return err
				} else if !ok {
					return errRefused
				}
				return nil
			})
		})
		admitted := 0
		for i, err := range errs {
			switch {
			case err == nil:
				admitted++
			case !errors.Is(err, errRefused):
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		wantEqual(t, "admitted", admitted, reserveBackoff.Limit)
		got, err := s.GetThrottle(ctxOf(t), "acct:b@example.com")
		wantErr(t, "GetThrottle", err, nil)
		wantEqual(t, "account attempts counted", got.Failures, reserveBackoff.Limit)
	}},
	{"StaleCountersThatStillBlockAreKept", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		long := storage.Backoff{Window: time.Minute, Limit: 1, BaseDelay: 2 * time.Hour, MaxDelay: 2 * time.Hour}
		_, ok, err := s.ReserveAttempt(ctx, "acct:c@example.com", base, long)
		wantErr(t, "ReserveAttempt", err, nil)
		wantEqual(t, "admitted", ok, true)
		n, err := s.DeleteStaleThrottles(ctx, base.Add(time.Hour))
		wantErr(t, "DeleteStaleThrottles", err, nil)
		wantEqual(t, "deleted while blocking", n, 0)
		n, err = s.DeleteStaleThrottles(ctx, base.Add(3*time.Hour))
		wantErr(t, "DeleteStaleThrottles", err, nil)
		wantEqual(t, "deleted after the block", n, 1)
	}},
}
