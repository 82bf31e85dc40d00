package account

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// BusyError means every password-hashing slot stayed taken for the
// configured wait: the password was not checked and the attempt does not
// count against any throttle. Edges answer 503 with Retry-After.
type BusyError struct{ RetryAfter time.Duration }

// Kind reports RateLimited: nothing was checked, try again shortly.
func (e *BusyError) Kind() errs.Kind { return errs.RateLimited }

// Code returns "busy".
func (e *BusyError) Code() string { return "busy" }

func (e *BusyError) Error() string {
	return fmt.Sprintf("Gatehouse is busy. Try again in %s.", e.RetryAfter.Round(time.Second))
}

// busyRetryAfter is what a BusyError asks callers to wait: about how long
// a queue of slots takes to drain, each argon2id run taking tens of
// milliseconds.
const busyRetryAfter = time.Second

// hashGate bounds concurrent argon2id runs. Each run allocates its whole
// memory parameter (19 MiB with HashParams) for its duration, so a burst of
// sign-ins without a bound grows the process by that much per request;
// with it, memory for hashing stays at slots × memory, and the CPU, which
// never had more than GOMAXPROCS runs' worth to give, loses nothing.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
	runs  atomic.Int64 // argon2id runs admitted, for tests
}

func newHashGate(n int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, n), wait: wait}
}

// run calls fn holding a slot, waiting up to g.wait for one; it returns a
// *BusyError when none frees in time and ctx's error when ctx ends first.
func (g *hashGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return &BusyError{RetryAfter: busyRetryAfter}
		case <-ctx.Done():
			return fmt.Errorf("account: waiting to check a password: %w", ctx.Err())
		}
	}
	defer func() { <-g.slots }()
	g.runs.Add(1)
	fn()
	return nil
}

// hashPassword is HashPassword within the service's bound on concurrent
// argon2id runs.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	var hash string
	var err error
	if gerr := s.hashes.run(ctx, func() { hash, err = HashPassword(pw) }); gerr != nil {
		return "", gerr
	}
	return hash, err
}

// verifyPassword is VerifyPassword within the same bound; a hash that
// cannot be verified costs a dummy verification, so it takes as long as a
// real one. verr is VerifyPassword's error; err is the gate's.
func (s *Service) verifyPassword(ctx context.Context, encoded, pw string) (ok bool, verr, err error) {
	err = s.hashes.run(ctx, func() {
		if encoded == "" {
			dummyVerify(pw)
			return
		}
		ok, verr = VerifyPassword(encoded, pw)
	})
	return ok, verr, err
}
