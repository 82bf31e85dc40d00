package sso

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The purge loop, driven by ticks and the injected clock, removes an
// expired AuthnRequest and keeps a live one, until its context ends.
func TestRunPurgesExpiredState(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		db := st.(interface{ DB() *sql.DB }).DB()
		stored := func(id string) bool {
			t.Helper()
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM authn_requests WHERE id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		old := e.begin("/old", false)
		e.clock.Advance(2 * time.Hour) // past the old request's expiry
		fresh := e.begin("/fresh", false)
		if !stored(old.requestID) || !stored(fresh.requestID) {
			t.Fatal("the requests were not stored")
		}

		tick := make(chan time.Time)
		e.svc.tick = tick
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan error, 1)
		go func() { done <- e.svc.Run(ctx) }()
		tick <- e.clock.Now() // received: the loop is running
		deadline := time.Now().Add(10 * time.Second)
		for stored(old.requestID) {
			if time.Now().After(deadline) {
				t.Fatal("the expired AuthnRequest was not purged after a tick")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !stored(fresh.requestID) {
			t.Error("the purge removed a live AuthnRequest")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}
