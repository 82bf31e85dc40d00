package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func windowSeqs(w audit.Window) []int64 {
	out := []int64{}
	for _, e := range w.Events {
		out = append(out, e.Seq)
	}
	return out
}

// NewestFirst pages newest first both ways and says which way more lie.
func TestNewestFirstWindows(t *testing.T) {
	st := sqltest.NewSQLite(t)
	svc := audit.NewService(st)
	ctx := context.Background()
	if w, err := svc.NewestFirst(ctx, storage.AuditFilter{OrgID: "org1", Limit: 3}); err != nil || len(w.Events) != 0 || w.Newer || w.Older {
		t.Fatalf("empty log: %+v %v", w, err)
	}
	record(t, st, "org1", 8)
	for _, c := range []struct {
		name         string
		f            storage.AuditFilter
		want         []int64
		newer, older bool
	}{
		{"newest", storage.AuditFilter{Limit: 3}, []int64{8, 7, 6}, false, true},
		{"older", storage.AuditFilter{Limit: 3, BeforeSeq: 6}, []int64{5, 4, 3}, true, true},
		{"oldest", storage.AuditFilter{Limit: 3, BeforeSeq: 3}, []int64{2, 1}, true, false},
		{"newer", storage.AuditFilter{Limit: 3, AfterSeq: 2}, []int64{5, 4, 3}, true, true},
		{"newer reaching the top is the newest page", storage.AuditFilter{Limit: 3, AfterSeq: 6}, []int64{8, 7, 6}, false, true},
		{"below the chain", storage.AuditFilter{Limit: 3, BeforeSeq: 1}, []int64{}, true, false},
		{"filtered to nothing past a cursor", storage.AuditFilter{Limit: 3, BeforeSeq: 5, Action: "none"}, []int64{}, false, false},
	} {
		c.f.OrgID = "org1"
		w, err := svc.NewestFirst(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := windowSeqs(w); len(got) != len(c.want) || (len(got) > 0 && (got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1])) ||
			w.Newer != c.newer || w.Older != c.older {
			t.Errorf("%s: %v newer=%v older=%v, want %v newer=%v older=%v", c.name, got, w.Newer, w.Older, c.want, c.newer, c.older)
		}
	}
	if _, err := svc.NewestFirst(ctx, storage.AuditFilter{OrgID: "org1", AfterSeq: 2, BeforeSeq: 5}); err == nil {
		t.Error("two cursors were accepted")
	}
	if e, err := svc.Event(ctx, "org1", 4); err != nil || e.Seq != 4 {
		t.Errorf("Event(4) = %d, %v", e.Seq, err)
	}
	for _, seq := range []int64{0, 9, -1} {
		if _, err := svc.Event(ctx, "org1", seq); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Event(%d) = %v, want not found", seq, err)
		}
	}
	if _, err := svc.Event(ctx, "org2", 4); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another organization's event: %v", err)
	}
}
