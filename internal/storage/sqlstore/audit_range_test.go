package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// A time-filtered page is the same whichever way ListAudit reads the range
// (sorted from the time index when it holds few events or lies far from
// the cursor, walked in seq order otherwise), in both orders, with a
// cursor and with an actor.
func TestListAuditTimeRangeBothPlans(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := open(t, unmigrated(t, dialect))
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 30 {
			e := storage.AuditEvent{OrgID: "o", Action: "x", ActorID: "a" + string(rune('0'+i%3)), Time: base.Add(time.Duration(i) * time.Hour)}
			if err := s.AppendAudit(t.Context(), &e); err != nil {
				t.Fatal(err)
			}
		}
		filters := []storage.AuditFilter{
			{Since: base.Add(5 * time.Hour), Until: base.Add(20 * time.Hour), Limit: 4, Newest: true},
			{Since: base.Add(5 * time.Hour), Until: base.Add(20 * time.Hour), Limit: 4},
			{Since: base.Add(5 * time.Hour), Limit: 3, Newest: true, BeforeSeq: 15},
			{Until: base.Add(10 * time.Hour), Limit: 3, AfterSeq: 2},
			{Since: base.Add(5 * time.Hour), Until: base.Add(20 * time.Hour), ActorID: "a1", Newest: true},
		}
		want := [][]int64{{20, 19, 18, 17}, {6, 7, 8, 9}, {14, 13, 12}, {3, 4, 5}, {20, 17, 14, 11, 8}}
		for _, n := range [][2]int{{20000, 50000}, {1, 50000}, {1, 0}} {
			undo := sqlstore.SetAuditPlan(n[0], n[1])
			for i, f := range filters {
				f.OrgID = "o"
				evs, err := s.ListAudit(t.Context(), f)
				if err != nil {
					t.Fatalf("threshold %d, filter %d: %v", n, i, err)
				}
				var got []int64
				for _, e := range evs {
					got = append(got, e.Seq)
				}
				if !slices.Equal(got, want[i]) {
					t.Errorf("threshold %d, filter %d: %v, want %v", n, i, got, want[i])
				}
			}
			undo()
		}
	})
}
