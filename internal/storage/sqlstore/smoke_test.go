package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/storagetest"
)

func TestSmoke(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		now := time.Now()
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateOrganization(ctx, storage.Organization{ID: "o1", Slug: "acme", Name: "Acme", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, storage.Account{ID: "a1", OrgID: "o1", Email: "a@x", Role: storage.RoleOwner, Status: storage.StatusActive, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, storage.Account{ID: "a2", OrgID: "o1", Email: "a@x"}); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("dup email: %v", err)
		}
		a, err := s.UpdateAccount(ctx, "a1", func(a *storage.Account) error { a.DisplayName = "X"; return nil })
		if err != nil || a.Version != 1 || a.DisplayName != "X" {
			t.Fatal(a, err)
		}
		e := &storage.AuditEvent{OrgID: "o1", Action: "login.success", Time: now}
		if err := s.AppendAudit(ctx, e); err != nil || e.Seq != 1 {
			t.Fatal(e, err)
		}
		evs, err := s.ListAudit(ctx, storage.AuditFilter{OrgID: "o1", Action: "login.*"})
		if err != nil || len(evs) != 1 {
			t.Fatal(evs, err)
		}
		th, err := s.RecordFailure(ctx, "k", now, time.Minute)
		if err != nil || th.Failures != 1 {
			t.Fatal(th, err)
		}
		n, err := s.CountAccounts(ctx, storage.RoleOwner, storage.RoleAdmin)
		if err != nil || n != 1 {
			t.Fatal(n, err)
		}
	})
}
