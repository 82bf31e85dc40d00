package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
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

// With the default probe interval (the tick's own minute), every tick
// probes even when a tick is measured a little earlier after its minute
// than the one before: an IdP that is down opens an incident after
// UnreachableAfter minutes, not twice as many.
func TestRunProbesOnEveryTickDespiteJitter(t *testing.T) {
	st := sqltest.NewSQLite(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if err := st.CreateOrganization(ctx, storage.Organization{ID: "o1", Slug: "acme", Name: "Acme", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL + "/metadata"
	down.Close() // the IdP is down: connection refused
	if err := st.CreateIdPConnection(ctx, storage.IdPConnection{ID: "c1", OrgID: "o1", Slug: "okta", Name: "Okta",
		MetadataURL: url, AttributeMap: map[string]string{}, CreatedAt: t0, UpdatedAt: t0, Version: 1}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := t0.Add(5 * time.Millisecond)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc := New(st, nil, nil, Config{ProbeInterval: time.Minute, Window: 15 * time.Minute,
		CheckFailures: 3, HTTPClient: &http.Client{Timeout: 5 * time.Second}}, nil, clock)
	tick := make(chan time.Time)
	svc.tick = tick
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- svc.Run(rctx) }()
	for i := range 3 {
		mu.Lock()
		now = t0.Add(time.Duration(i)*time.Minute + time.Duration(5-2*i)*time.Millisecond)
		mu.Unlock()
		tick <- now
	}
	tick <- now // waits for the third pass to finish
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checks, err := st.ListSSOChecks(ctx, "c1", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) < 3 {
		t.Fatalf("%d probes in 3 ticks a minute apart, want one per tick", len(checks))
	}
	if inc, err := st.GetOpenSSOIncident(ctx, "c1"); err != nil || inc.Cause == "" {
		t.Fatalf("after 3 failed probes: incident %+v, %v", inc, err)
	}
}
