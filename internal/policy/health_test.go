package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Re-enforcing SSO through a connection whose last sign-in failed needs a
// test sign-in made after the failure; force overrides, audited.
func TestEnforcingNeedsAFreshTestAfterAFailure(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		h := health.New(st, nil, nil, health.Config{}, nil, func() time.Time { return t0.Add(time.Hour) })
		e.svc.SetHealth(h)
		org := e.org("fresh")
		e.factors.BreakGlassOwner(t, st, org) // enforcing SSO needs one; this test is about the fresh test sign-in
		conn := e.conn(org, "fresh-idp", true)
		if _, err := e.svc.Create(e.ctx, org, "Staff", storage.SSOOptional, conn.Slug); err != nil {
			t.Fatal(err)
		}
		h.SSOEnded(e.ctx, conn, "", "signature_invalid") // the IdP rolled its certificate
		enforced := storage.SSOEnforced
		_, err := e.svc.Update(e.ctx, org, "Staff", UpdateInput{SSO: &enforced})
		if !errors.Is(err, ErrUntestedConnection) || !strings.Contains(err.Error(), "new test sign-in") {
			t.Fatalf("enforce after a failure: %v", err)
		}
		if _, err := e.svc.Create(e.ctx, org, "Ops", enforced, conn.Slug); !errors.Is(err, ErrUntestedConnection) {
			t.Fatalf("create enforced after a failure: %v", err)
		}
		p, err := e.svc.Update(e.ctx, org, "Staff", UpdateInput{SSO: &enforced, Force: true})
		if err != nil || p.SSO != enforced {
			t.Fatalf("forced: %+v, %v", p, err)
		}
		evs := e.events(org, "policy.update")
		if last := evs[len(evs)-1]; last.Details["override"] != "stale_test" {
			t.Fatalf("override not audited: %+v", last.Details)
		}
		// A test sign-in after the failure makes enforcing fine again.
		if _, err := st.UpdateIdPConnection(e.ctx, conn.ID, func(c *storage.IdPConnection) error {
			c.TestedAt = t0.Add(2 * time.Hour)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Create(e.ctx, org, "Ops", enforced, conn.Slug); err != nil {
			t.Fatalf("create enforced after a fresh test: %v", err)
		}
	})
}
