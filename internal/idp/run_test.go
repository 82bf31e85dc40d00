package idp

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The refresh loop, driven by ticks and the injected clock, picks up an
// IdP's certificate rollover once the metadata is due, until its context
// ends.
func TestRunRefreshesDueMetadata(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("loop")
		srv := newMetadataServer(t, metadataXML(entraEntity, entraSSO, false, idpKey1))
		c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Okta", MetadataURL: srv.URL + "/metadata"})
		if err != nil {
			t.Fatal(err)
		}
		srv.body.Store(metadataXML(entraEntity, entraSSO, false, idpKey1, idpKey2))

		tick := make(chan time.Time)
		e.svc.tick = tick
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan error, 1)
		go func() { done <- e.svc.Run(ctx) }()
		// The first pass runs at once and finds nothing due; the tick is
		// received only after it.
		tick <- e.clock.Now()
		if got, _ := e.svc.Get(e.ctx, org, c.ID); len(got.SigningCertsPEM) != 1 {
			t.Fatalf("refreshed before it was due: %d certificates", len(got.SigningCertsPEM))
		}
		e.clock.Advance(e.svc.cfg.MetadataRefresh)
		tick <- e.clock.Now()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := e.svc.Get(e.ctx, org, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.SigningCertsPEM) == 2 {
				if !got.MetadataFetchedAt.Equal(e.clock.Now()) {
					t.Errorf("fetched at %v, want %v", got.MetadataFetchedAt, e.clock.Now())
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the due connection was not refreshed after a tick")
			}
			time.Sleep(5 * time.Millisecond)
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
