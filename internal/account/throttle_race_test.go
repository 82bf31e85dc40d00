package account_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestConcurrentGuessesAreCountedBeforeChecking: counters used to be read
// before any failure was recorded, so 40 wrong passwords posted at once
// for one account were all checked (and a right one among them signed
// in); 150 at once, 149. Every attempt is now counted before its password
// is checked, so however many arrive together, exactly the limit is
// checked and the rest are throttled — per account from one address or
// from many, and per address across many emails.
func TestConcurrentGuessesAreCountedBeforeChecking(t *testing.T) {
	t.Parallel()
	const n = 40
	tests := []struct {
		name      string
		email, ip func(i int) string
		limit     func(account.ThrottleConfig) int
	}{
		{"one account from one address",
			func(int) string { return "grace@acme.example" },
			func(int) string { return "198.51.100.7" },
			func(c account.ThrottleConfig) int { return min(c.AccountLimit, c.IPLimit) }},
		{"one account from rotating addresses",
			func(int) string { return "grace@acme.example" },
			func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) },
			func(c account.ThrottleConfig) int { return c.AccountLimit }},
		{"many emails from one address",
			func(i int) string { return fmt.Sprintf("user%d@acme.example", i) },
			func(int) string { return "198.51.100.8" },
			func(c account.ThrottleConfig) int { return c.IPLimit }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
				var cfg account.ThrottleConfig
				e := newEnv(t, st, func(c *account.Config) {
					c.Throttle.AccountLimit, c.Throttle.IPLimit = 5, 7
					if tt.name == "many emails from one address" {
						c.Throttle.IPLimit = 6
					}
					c.Hashing.Wait = time.Minute // this test is about throttling, not the hashing bound
					cfg = c.Throttle
				})
				org, _ := e.setup()
				e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)
				before := e.svc.HashRuns()

				errs := make([]error, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-start
						_, errs[i] = e.signIn(tt.email(i), "wrong password", tt.ip(i))
					})
				}
				close(start)
				wg.Wait()

				checked, throttled := 0, 0
				for i, err := range errs {
					var th *account.ThrottledError
					switch {
					case errors.Is(err, account.ErrBadCredentials):
						checked++
					case errors.As(err, &th):
						throttled++
					default:
						t.Fatalf("attempt %d: %v", i, err)
					}
				}
				want := tt.limit(cfg)
				if got := e.svc.HashRuns() - before; got != int64(want) {
					t.Fatalf("%d passwords checked, want %d", got, want)
				}
				if checked != want || throttled != n-want {
					t.Fatalf("%d answered wrong password and %d throttled, want %d and %d", checked, throttled, want, n-want)
				}
			})
		})
	}
}

// TestHashingIsBounded: 150 sign-ins at once used to run 150 argon2id
// computations side by side, 19 MiB each. Hashing now takes a slot of a
// fixed number; a request that finds none free within the wait is told
// the server is busy, and that attempt neither is checked nor counts
// against anyone's throttle.
func TestHashingIsBounded(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, func(c *account.Config) {
			c.Hashing = account.HashingConfig{MaxConcurrent: 2, Wait: time.Millisecond}
			c.Throttle.AccountLimit = 1
		})
		org, _ := e.setup()
		const pw = "grace under pressure"
		e.member(org, "grace@acme.example", pw, storage.RoleMember)

		release := e.svc.HoldHashSlots()
		before := e.svc.HashRuns()
		for _, email := range []string{"grace@acme.example", "ghost@acme.example"} {
			for range 3 {
				_, err := e.signIn(email, "wrong password", testIP)
				var busy *account.BusyError
				if !errors.As(err, &busy) || busy.RetryAfter <= 0 {
					t.Fatalf("sign-in with every slot taken: err = %v, want *BusyError with a Retry-After", err)
				}
			}
		}
		_, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: "new@acme.example", Password: "a new long password", Role: storage.RoleMember})
		var busy *account.BusyError
		if !errors.As(err, &busy) {
			t.Fatalf("hashing a new password with every slot taken: err = %v, want *BusyError", err)
		}
		if got := e.svc.HashRuns() - before; got != 0 {
			t.Fatalf("%d hashes ran with every slot taken", got)
		}
		release()

		// None of the busy attempts counted: with a limit of one failure,
		// the right password still gets in.
		if _, err := e.signIn("grace@acme.example", pw, testIP); err != nil {
			t.Fatalf("sign-in after the burst: %v", err)
		}
	})
}

// TestHashingWaitsForASlot: a request that finds every slot taken waits
// for one rather than failing at once.
func TestHashingWaitsForASlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqltest.NewSQLite(t), func(c *account.Config) {
		c.Hashing = account.HashingConfig{MaxConcurrent: 1, Wait: time.Minute}
	})
	org, _ := e.setup()
	const pw = "grace under pressure"
	e.member(org, "grace@acme.example", pw, storage.RoleMember)

	release := e.svc.HoldHashSlots()
	done := make(chan error)
	go func() {
		_, err := e.signIn("grace@acme.example", pw, testIP)
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("sign-in that waited for a slot: %v", err)
	}
}
