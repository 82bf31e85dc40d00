package emergency_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// signedIn starts a real session for a under emergencyID on sessions and
// validates it once, so this node's cache holds it.
func (e *env) signedIn(sessions *session.Service, a storage.Account, emergencyID string) string {
	e.t.Helper()
	tok, _, err := sessions.Start(context.Background(), session.StartParams{Account: a, Method: "password", EmergencyID: emergencyID})
	must(e.t, err)
	if _, err := sessions.Validate(context.Background(), tok); err != nil {
		e.t.Fatalf("fresh session does not validate: %v", err)
	}
	return tok
}

// cachingSessions is this node's session service with a cache that trusts
// itself for the whole test (no feed is polled): only Forget can drop an
// entry, which is what the emergency's end must call.
func (e *env) cachingSessions() *session.Service {
	sessions := session.New(e.st, session.Config{StaleAfter: 24 * time.Hour, CacheTTL: 24 * time.Hour, TouchInterval: 24 * time.Hour},
		slog.New(slog.DiscardHandler), e.clk.Now)
	e.svc.SetSessionCache(sessions.Forget)
	return sessions
}

// An emergency started to sign out its sessions at its end does so when it
// runs out: they are revoked, published to other nodes, and refused on this
// node at once.
func TestExpirySignsOutWhenChosen(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		sessions := e.cachingSessions()
		em, err := e.svc.Start(e.as(e.admin), e.org.ID, emergency.StartInput{Reason: "IdP down", For: time.Hour, SignOutAtEnd: true})
		must(t, err)
		if !em.SignOutAtEnd {
			t.Fatal("the choice was not kept")
		}
		if ev := e.lastEvent("emergency.start"); ev.Details["sign_out_at_end"] != "true" {
			t.Fatalf("start event %+v", ev.Details)
		}
		grace := e.account("grace@acme.example", storage.RoleMember, storage.OriginAdmin)
		tok := e.signedIn(sessions, grace, em.ID)
		ordinary := e.signedIn(sessions, e.owner, "")

		e.clk.Advance(61 * time.Minute)
		since := e.clk.Now()
		if n, err := e.svc.Sweep(bg); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v", n, err)
		}
		if _, err := sessions.Validate(bg, tok); !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("a session of the expired emergency still validates here: %v", err)
		}
		if _, err := sessions.Validate(bg, ordinary); err != nil {
			t.Fatalf("an ordinary session was ended: %v", err)
		}
		list, err := st.ListEmergencySessions(bg, em.ID)
		must(t, err)
		if len(list) != 1 || list[0].RevokedAt.IsZero() || list[0].RevokeReason != "emergency_end" {
			t.Fatalf("emergency sessions %+v", list)
		}
		invs, err := st.InvalidationsSince(bg, since)
		must(t, err)
		if !slices.ContainsFunc(invs, func(i storage.Invalidation) bool { return i.Kind == "session" && i.Key == list[0].ID }) {
			t.Fatalf("other nodes not told: %+v", invs)
		}
		if ev := e.lastEvent("emergency.expired"); ev.Details["sessions_revoked"] != "1" || ev.Details["signed_out"] != "true" {
			t.Fatalf("expired event %+v", ev.Details)
		}
	})
}

// Without the choice, sessions outlive the emergency's expiry; an admin can
// turn the choice on (and off) while it runs, audited.
func TestSignOutAtEndToggle(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		sessions := e.cachingSessions()
		ctx := e.as(e.admin)
		em, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "IdP down", For: time.Hour})
		must(t, err)
		grace := e.account("grace@acme.example", storage.RoleMember, storage.OriginAdmin)
		tok := e.signedIn(sessions, grace, em.ID)

		on, off := true, false
		got, err := e.svc.Extend(ctx, e.org.ID, em.ID, emergency.ExtendInput{SignOutAtEnd: &on})
		must(t, err)
		if !got.SignOutAtEnd || !got.EndsAt.Equal(em.EndsAt) {
			t.Fatalf("toggle on: %+v", got)
		}
		if ev := e.lastEvent("emergency.extend"); ev.Details["sign_out_at_end"] != "true" {
			t.Fatalf("toggle not audited: %+v", ev.Details)
		}
		got, err = e.svc.Extend(ctx, e.org.ID, em.ID, emergency.ExtendInput{For: time.Hour, SignOutAtEnd: &off})
		must(t, err)
		if got.SignOutAtEnd || !got.EndsAt.Equal(em.EndsAt.Add(time.Hour)) {
			t.Fatalf("extend and toggle off: %+v", got)
		}
		if _, err := e.svc.Extend(ctx, e.org.ID, em.ID, emergency.ExtendInput{}); !errors.Is(err, emergency.ErrDuration) {
			t.Fatalf("empty extend: %v", err)
		}

		e.clk.Advance(121 * time.Minute)
		if n, err := e.svc.Sweep(bg); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v", n, err)
		}
		if _, err := sessions.Validate(bg, tok); err != nil {
			t.Fatalf("expiry ended a session nobody chose to end: %v", err)
		}
		if ev := e.lastEvent("emergency.expired"); ev.Details["signed_out"] != "false" {
			t.Fatalf("expired event %+v", ev.Details)
		}
	})
}
