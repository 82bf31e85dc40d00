package session

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// An app refreshing its tokens keeps the sign-in from going idle, writing
// its activity at most once a TouchInterval, as cookie requests do.
func TestKeepAliveKeepsTheSessionFromIdling(t *testing.T) {
	ctx := context.Background()
	s := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(s, c)
	_, sess := start(t, svc, seedAccount(t, s, c.Now()))
	lastSeen := func() time.Time {
		t.Helper()
		got, err := s.GetSession(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastSeenAt
	}
	keepAlive := func() {
		t.Helper()
		v, err := svc.ValidateID(ctx, sess.ID)
		if err != nil {
			t.Fatalf("ValidateID: %v", err)
		}
		if err := svc.KeepAlive(ctx, v); err != nil {
			t.Fatalf("KeepAlive: %v", err)
		}
	}
	started := lastSeen()

	c.Advance(svc.cfg.TouchInterval / 2)
	keepAlive()
	if got := lastSeen(); !got.Equal(started) {
		t.Errorf("activity within the touch interval was written: last seen %v, want %v", got, started)
	}

	// Refreshing every few hours for longer than the idle timeout keeps
	// the sign-in alive.
	step := svc.cfg.IdleTimeout / 2
	for range 4 {
		c.Advance(step)
		keepAlive()
	}
	if got := lastSeen(); !got.Equal(c.Now()) {
		t.Errorf("last seen %v after activity at %v", got, c.Now())
	}
	c.Advance(svc.cfg.IdleTimeout + time.Minute)
	if _, err := svc.ValidateID(ctx, sess.ID); err == nil {
		t.Error("the session outlived its idle timeout without activity")
	}
}
