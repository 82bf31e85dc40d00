package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var errInjected = errors.New("injected failure")

// failingTx is a Store whose transactions fail at one step, to prove that
// a change and its audit event commit together or not at all.
type failingTx struct {
	storage.Store
	failAudit, failPublish bool
}

func (f failingTx) InTx(ctx context.Context, fn func(tx storage.Store) error) error {
	return f.Store.InTx(ctx, func(tx storage.Store) error {
		return fn(failingTx{Store: tx, failAudit: f.failAudit, failPublish: f.failPublish})
	})
}

func (f failingTx) AppendAudit(ctx context.Context, e *storage.AuditEvent) error {
	if f.failAudit {
		return errInjected
	}
	return f.Store.AppendAudit(ctx, e)
}

func (f failingTx) PublishInvalidation(ctx context.Context, kind, key string, at time.Time) error {
	if f.failPublish {
		return errInjected
	}
	return f.Store.PublishInvalidation(ctx, kind, key, at)
}

func TestChangeAndAuditEventCommitTogether(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		a := seedAccount(t, s, c.Now())

		t.Run("audit fails: no session", func(t *testing.T) {
			svc := New(failingTx{Store: s, failAudit: true}, Config{}, nil, c.Now)
			_, _, err := svc.Start(ctx, StartParams{Account: a, Method: "password"})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Start = %v, want the injected failure", err)
			}
			if list, _ := s.ListSessions(ctx, a.ID, c.Now()); len(list) != 0 {
				t.Fatalf("a session was written without its audit event: %+v", list)
			}
		})

		t.Run("session fails: no audit event", func(t *testing.T) {
			svc := newService(s, c)
			ghost := a
			ghost.ID = "no-such-account" // the sessions row's foreign key fails
			if _, _, err := svc.Start(ctx, StartParams{Account: ghost, Method: "password"}); err == nil {
				t.Fatal("Start for an account that does not exist succeeded")
			}
			if evs := auditEvents(t, s, a.OrgID, "*"); len(evs) != 0 {
				t.Fatalf("audit events without their session: %+v", evs)
			}
		})

		svc := newService(s, c)
		tok, sess := start(t, svc, a)
		before := len(auditEvents(t, s, a.OrgID, "*"))

		t.Run("publish fails: not revoked, not logged", func(t *testing.T) {
			broken := New(failingTx{Store: s, failPublish: true}, Config{}, nil, c.Now)
			if err := broken.Logout(ctx, tok); !errors.Is(err, errInjected) {
				t.Fatalf("Logout = %v, want the injected failure", err)
			}
			if err := broken.Revoke(ctx, a.ID, sess.ID, "admin"); !errors.Is(err, errInjected) {
				t.Fatalf("Revoke = %v, want the injected failure", err)
			}
			if _, err := broken.RevokeAll(ctx, a.ID, "", "admin"); !errors.Is(err, errInjected) {
				t.Fatalf("RevokeAll = %v, want the injected failure", err)
			}
			if stored, _ := s.GetSession(ctx, sess.ID); !stored.RevokedAt.IsZero() {
				t.Fatalf("session revoked although its transaction failed: %+v", stored)
			}
			if n := len(auditEvents(t, s, a.OrgID, "*")); n != before {
				t.Fatalf("audit events: %d, want %d", n, before)
			}
			mustValidate(t, svc, tok)
		})
	})
}
