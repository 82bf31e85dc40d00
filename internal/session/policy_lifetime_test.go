package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A policy's lifetimes replace the deployment's, shorter or longer; an
// emergency sign-in is recorded on the session and its audit event.
func TestStartTakesPolicyLifetimesAndEmergency(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		c := newClock()
		svc := newService(st, c)
		a := seedAccount(t, st, c.Now())
		ctx := context.Background()

		short, sess, err := svc.Start(ctx, StartParams{Account: a, Method: "password", IdleTimeout: 10 * time.Minute, MaxLifetime: time.Hour, EmergencyID: "em-1"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.IdleTimeout != 10*time.Minute || !sess.ExpiresAt.Equal(storage.Truncate(c.Now()).Add(time.Hour)) || sess.EmergencyID != "em-1" {
			t.Fatalf("session %+v", sess)
		}
		evs := auditEvents(t, st, a.OrgID, "login.success")
		if evs[len(evs)-1].Details["emergency_id"] != "em-1" {
			t.Fatalf("login.success details %v", evs[len(evs)-1].Details)
		}
		_, longSess, err := svc.Start(ctx, StartParams{Account: a, Method: "password", MaxLifetime: 2 * svc.cfg.MaxLifetime})
		if err != nil {
			t.Fatal(err)
		}
		if want := storage.Truncate(c.Now()).Add(2 * svc.cfg.MaxLifetime); !longSess.ExpiresAt.Equal(want) || longSess.IdleTimeout != svc.cfg.IdleTimeout {
			t.Fatalf("a longer policy lifetime: session %+v", longSess)
		}
		c.Advance(20 * time.Minute)
		if _, err := svc.Validate(ctx, short); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a session idle beyond the policy's 10 minutes still validates: %v", err)
		}
	})
}
