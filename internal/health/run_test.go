package health

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Run counts abandoned sign-ins and evaluates on every tick, so an IdP
// nobody comes back from opens an incident without anyone signing in.
func TestRunOpensAnIncidentFromAbandonedSignIns(t *testing.T) {
	st := sqltest.NewSQLite(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if err := st.CreateOrganization(ctx, storage.Organization{ID: "o1", Slug: "acme", Name: "Acme", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIdPConnection(ctx, storage.IdPConnection{ID: "c1", OrgID: "o1", Slug: "okta", Name: "Okta",
		AttributeMap: map[string]string{}, CreatedAt: t0, UpdatedAt: t0, Version: 1}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		if err := st.CreateAuthnRequest(ctx, storage.AuthnRequest{ID: id, ConnectionID: "c1", BrowserHash: "b",
			CreatedAt: t0.Add(-11 * time.Minute), ExpiresAt: t0.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	svc := New(st, nil, nil, Config{}, nil, func() time.Time { return t0 })
	tick := make(chan time.Time)
	svc.tick = tick
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- svc.Run(rctx) }()
	tick <- t0
	tick <- t0 // the second tick waits for the first pass to finish
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inc, err := st.GetOpenSSOIncident(ctx, "c1")
	if err != nil || inc.Cause != CauseFailureRatio {
		t.Fatalf("incident = %+v, %v", inc, err)
	}
}
