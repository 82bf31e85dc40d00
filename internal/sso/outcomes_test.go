package sso

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// outcomeLog is an Outcomes that writes down what it hears (internal/health
// imports this package, so its tests cannot be used here).
type outcomeLog struct {
	mu     sync.Mutex
	events []string
	st     storage.Store
	// unclaimed is how many expired, unused requests the store still held
	// when CountAbandoned was called.
	unclaimed int
}

func (o *outcomeLog) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, s)
}
func (o *outcomeLog) SSOStarted(_ context.Context, c storage.IdPConnection) {
	o.add("started " + c.Slug)
}
func (o *outcomeLog) SSOEnded(ctx context.Context, c storage.IdPConnection, requestID, reason string) {
	o.add("ended " + c.Slug + " " + reason)
	if requestID != "" {
		_ = o.st.MarkAuthnRequestCounted(ctx, requestID)
	}
}
func (o *outcomeLog) CountAbandoned(ctx context.Context, now time.Time) error {
	reqs, err := o.st.ClaimAbandonedAuthnRequests(ctx, now)
	o.unclaimed = len(reqs)
	return err
}

// Begin and Complete report every start and ending, an IdP error status
// with its own reason, and the purge lets abandoned requests be counted
// before it deletes them.
func TestOutcomesAreReported(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		log := &outcomeLog{st: st}
		e.svc.SetOutcomes(log)
		e.loginAs(alice)
		l := e.begin("/", false)
		_, err := e.complete(e.response(alice, l.requestID, func(o *samltest.Options) {
			o.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
		}), l.relay, l.secret)
		if err == nil {
			t.Fatal("an IdP error status was accepted")
		}
		e.begin("/", false) // never answered
		slug := e.conn.Slug
		want := []string{"started " + slug, "ended " + slug + " ", "started " + slug,
			"ended " + slug + " " + saml.ReasonStatusNotSuccess, "started " + slug}
		if !slices.Equal(log.events, want) {
			t.Fatalf("outcomes = %q, want %q", log.events, want)
		}
		e.clock.Advance(11 * time.Minute)
		if _, err := e.svc.PurgeExpired(e.ctx); err != nil {
			t.Fatal(err)
		}
		if log.unclaimed != 1 {
			t.Fatalf("the purge let %d abandoned requests be counted first, want 1", log.unclaimed)
		}
	})
}
