package sso

import (
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestConcurrentCompletes: the database, not the node, decides races.
func TestConcurrentCompletes(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)

		// One response posted twice at once (a double submit, or two nodes):
		// exactly one sign-in.
		l := e.begin("/", false)
		resp := e.response(alice, l.requestID, nil)
		errs := run(2, func(int) error { _, err := e.complete(resp, l.relay, l.secret); return err })
		ok, reused := 0, 0
		for _, err := range errs {
			var r *Rejection
			switch {
			case err == nil:
				ok++
			case errors.As(err, &r) && (r.Reason == ReasonRequestReused || r.Reason == ReasonReplayed):
				reused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || reused != 1 {
			t.Errorf("double submit: %d sign-ins, %d refused", ok, reused)
		}

		// Two first sign-ins of a new person in two tabs: one account.
		bob := user{email: "bob@corp.example", oid: "33333333-0000-4000-8000-000000000001", groups: []string{"g"}}
		logins := []login{e.begin("/", false), e.begin("/", false)}
		resps := []string{e.response(bob, logins[0].requestID, nil), e.response(bob, logins[1].requestID, nil)}
		ids := make([]string, 2)
		errs = run(2, func(i int) error {
			res, err := e.complete(resps[i], logins[i].relay, logins[i].secret)
			ids[i] = res.Account.ID
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Errorf("concurrent first sign-in: %v", err)
			}
		}
		if ids[0] != ids[1] {
			t.Errorf("two accounts for one person: %v", ids)
		}
		if evs := e.events(e.orgA, "account.create"); len(evs) != 2 { // alice and bob
			t.Errorf("%d account.create events", len(evs))
		}
	})
}

func run(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
