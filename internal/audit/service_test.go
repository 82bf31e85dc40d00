package audit_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A page says whether another follows only when one does: a page that
// happens to end exactly at the chain's end offers no empty next page.
func TestServiceListPageSaysWhetherMoreFollow(t *testing.T) {
	st := sqltest.NewSQLite(t)
	record(t, st, "org1", 5)
	svc := audit.NewService(st)
	ctx := context.Background()

	evs, more, err := svc.ListPage(ctx, storage.AuditFilter{OrgID: "org1", Limit: 2})
	if err != nil || len(evs) != 2 || !more {
		t.Fatalf("first page: %d events, more=%v, %v; want 2 and more", len(evs), more, err)
	}
	evs, more, err = svc.ListPage(ctx, storage.AuditFilter{OrgID: "org1", Limit: 3, AfterSeq: evs[1].Seq})
	if err != nil || len(evs) != 3 || more {
		t.Fatalf("last full page: %d events, more=%v, %v; want 3 and no more", len(evs), more, err)
	}
	evs, more, err = svc.ListPage(ctx, storage.AuditFilter{OrgID: "org1"})
	if err != nil || len(evs) != 5 || more {
		t.Fatalf("default limit: %d events, more=%v, %v", len(evs), more, err)
	}
	if _, _, err := svc.ListPage(ctx, storage.AuditFilter{OrgID: "org1", Limit: audit.MaxPageLimit + 1}); err == nil {
		t.Error("a page larger than storage serves was accepted")
	}
	if !audit.ValidHeadHash(evs[4].Hash) || audit.ValidHeadHash("ABC") {
		t.Error("ValidHeadHash disagrees with a stored hash or accepts a short one")
	}
}
