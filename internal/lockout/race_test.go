package lockout_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Two admins at once each take a different owner out of break-glass. Each
// change is safe alone; together they would leave no owner able to sign in
// without the IdP. Exactly one may succeed, whatever the interleaving: the
// check locks the owner rows before it reads (PostgreSQL runs read
// committed, where two checks could otherwise both see the other owner).
func TestConcurrentChangesCannotBothPass(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		factors := new(lockouttest.Factors)
		s := newServices(t, st, factors.Lookup)
		ctx := authz.AsCLI(context.Background(), "test") // the operator: every change is theirs to make
		for round := range 5 {
			o := s.seedOrg(t, round)
			olive, pat := o.emails[0], o.emails[2] // both owners with passwords
			bg, err := s.policies.Create(ctx, o.id, "Break glass", storage.SSOOff, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, email := range []string{olive, pat} {
				if err := s.policies.SetMember(ctx, o.id, email, bg.ID); err != nil {
					t.Fatal(err)
				}
			}
			factors.MakeBreakGlass(t, st, o.id, bg.ID, o.acctIDs[0], o.acctIDs[2]) // enforcing SSO needs a break-glass owner
			for _, id := range o.domains {
				if _, err := s.domains.Verify(ctx, o.id, id); err != nil {
					t.Fatal(err)
				}
			}
			enforced, conn := storage.SSOEnforced, o.conns[0]
			if _, err := s.policies.Update(ctx, o.id, policy.DefaultName, policy.UpdateInput{SSO: &enforced, Connection: &conn}); err != nil {
				t.Fatal(err)
			}
			// Now only olive and pat are owners who can sign in without the
			// IdP (oscar has no password; gus is an admin).
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, email := range []string{olive, pat} {
				wg.Go(func() { errs[i] = s.policies.SetMember(ctx, o.id, email, "") })
			}
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, lockout.ErrLockout):
					t.Fatalf("round %d, change %d: %v", round, i, err)
				}
			}
			cfg, err := lockout.Load(ctx, st, o.id)
			if err != nil {
				t.Fatal(err)
			}
			if wins != 1 || !lockout.Evaluate(cfg).Safe {
				t.Fatalf("round %d: %d of 2 changes passed (%v); safe afterwards: %v", round, wins, errs, lockout.Evaluate(cfg).Safe)
			}
		}
	})
}
