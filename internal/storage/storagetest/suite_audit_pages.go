package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// auditPageTests cover reading the log the way the console does: newest
// first, a page at a time by seq cursor in either direction, filtered by
// actor, action, outcome, target and time.
var auditPageTests = []namedTest{
	{"NewestFirstWithCursor", func(t *testing.T, s storage.Store) {
		for i := range 7 {
			mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "x", Time: base.Add(time.Duration(i) * time.Second)})
		}
		mustAppend(t, s, storage.AuditEvent{OrgID: "p", Action: "x", Time: base})
		wantEqual(t, "newest page", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 3})), []int64{7, 6, 5})
		wantEqual(t, "older page", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 3, BeforeSeq: 5})), []int64{4, 3, 2})
		wantEqual(t, "oldest page", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 3, BeforeSeq: 2})), []int64{1})
		wantEqual(t, "newer page, chain order", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Limit: 3, AfterSeq: 1})), []int64{2, 3, 4})
		wantEqual(t, "window", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, AfterSeq: 2, BeforeSeq: 6})), []int64{5, 4, 3})
	}},
	{"Filters", func(t *testing.T, s storage.Store) {
		evs := []storage.AuditEvent{
			{Action: "login.success", ActorID: "a1", ActorEmail: "ann@example.com", Outcome: "success", TargetType: "session", TargetID: "s1"},
			{Action: "login.failure", ActorID: "", ActorEmail: "ann@example.com", Outcome: "failure", Reason: "bad_credentials"},
			{Action: "account.suspend", ActorID: "a2", ActorEmail: "bob@example.com", Outcome: "success", TargetType: "account", TargetID: "a1"},
			{Action: "LOGIN.odd", ActorID: "a1", ActorEmail: "ann@example.com", Outcome: "success", TargetType: "account", TargetID: "a1"},
			{Action: "access.denied", ActorID: "a1", ActorEmail: "ann@example.com", Outcome: "denied", TargetType: "path", TargetID: "a1"},
			{Action: "login_x", ActorID: "a3", ActorEmail: "a1", Outcome: "success"},
		}
		for i, e := range evs {
			e.OrgID, e.Time = "o", base.Add(time.Duration(i)*time.Hour)
			mustAppend(t, s, e)
		}
		mustAppend(t, s, storage.AuditEvent{OrgID: "p", Action: "login.success", ActorID: "a1", Outcome: "success", TargetType: "account", TargetID: "a1", Time: base})
		for _, c := range []struct {
			name string
			f    storage.AuditFilter
			want []int64
		}{
			{"actor by ID or email, either column", storage.AuditFilter{ActorID: "a1"}, []int64{6, 5, 4, 1}},
			{"actor by email", storage.AuditFilter{ActorID: "ann@example.com"}, []int64{5, 4, 2, 1}},
			{"actor and action prefix", storage.AuditFilter{ActorID: "ann@example.com", Action: "login.*"}, []int64{2, 1}},
			{"prefix is exact-case and literal", storage.AuditFilter{Action: "login.*"}, []int64{2, 1}},
			{"exact action", storage.AuditFilter{Action: "account.suspend"}, []int64{3}},
			{"outcome", storage.AuditFilter{Outcome: "failure"}, []int64{2}},
			{"outcome denied", storage.AuditFilter{Outcome: "denied"}, []int64{5}},
			{"target type", storage.AuditFilter{TargetType: "account"}, []int64{4, 3}},
			{"target type and ID", storage.AuditFilter{TargetType: "account", TargetID: "a1"}, []int64{4, 3}},
			{"target ID alone", storage.AuditFilter{TargetID: "a1"}, []int64{5, 4, 3}},
			{"time range", storage.AuditFilter{Since: base.Add(time.Hour), Until: base.Add(3 * time.Hour)}, []int64{3, 2}},
			{"actor with cursor", storage.AuditFilter{ActorID: "a1", BeforeSeq: 5}, []int64{4, 1}},
			{"actor with limit", storage.AuditFilter{ActorID: "a1", Limit: 2}, []int64{6, 5}},
			{"actor with limit and cursor", storage.AuditFilter{ActorID: "ann@example.com", Limit: 2, BeforeSeq: 5}, []int64{4, 2}},
		} {
			f := c.f
			f.OrgID, f.Newest = "o", true
			wantEqual(t, c.name+", newest first", seqs(listAudit(t, s, f)), c.want)
			f.Newest = false
			if f.Limit == 0 {
				want := slices.Clone(c.want)
				slices.Reverse(want)
				wantEqual(t, c.name+", chain order", seqs(listAudit(t, s, f)), want)
			}
		}
		// An actor page in chain order takes the oldest matches first.
		wantEqual(t, "actor, chain order, limit", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", ActorID: "a1", Limit: 2})), []int64{1, 4})
	}},
	{"TimeRangeWithClocksOutOfOrder", func(t *testing.T, s storage.Store) {
		// Appends are stamped by several nodes' clocks: times go back a
		// little, a lot (a clock set back a day), and jump ahead (a clock an
		// hour fast). A date range holds exactly the events stamped in it.
		offsets := []time.Duration{0, 10, 5, 20, -86400, 30, 3600, 40, 35, 50, -70, 60, 55}
		var all []storage.AuditEvent
		for _, o := range offsets {
			all = append(all, mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "x", Time: base.Add(o * time.Second)}))
		}
		for _, r := range [][2]time.Duration{{0, 36}, {5, 41}, {-86400, 1}, {50, 3601}, {-71, 56}, {35, 36}} {
			since, until := storage.Truncate(base.Add(r[0]*time.Second)), storage.Truncate(base.Add(r[1]*time.Second))
			var want []int64
			for _, e := range all {
				if !e.Time.Before(since) && e.Time.Before(until) {
					want = append(want, e.Seq)
				}
			}
			name := fmt.Sprintf("range %v–%v", r[0]*time.Second, r[1]*time.Second)
			wantEqual(t, name+", chain order", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Since: since, Until: until})), append([]int64{}, want...))
			slices.Reverse(want)
			wantEqual(t, name+", newest first", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Since: since, Until: until, Newest: true})), append([]int64{}, want...))
			if len(want) > 2 {
				wantEqual(t, name+", older page", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Since: since, Until: until, Newest: true, BeforeSeq: want[1]})), want[2:])
				slices.Reverse(want)
				wantEqual(t, name+", newer page", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "o", Since: since, Until: until, AfterSeq: want[1]})), want[2:])
			}
		}
	}},
	{"CursorPagesStableWhileAppending", func(t *testing.T, s storage.Store) {
		// Pages walked by cursor while other events are appended neither
		// repeat nor skip an event that existed when the walk began.
		const initial = 40
		for i := range initial {
			mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: fmt.Sprint("x.", i%3), Time: base})
		}
		// Older, from the newest page the walk began on.
		first := listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 7, Action: "x.1"})
		top := first[0].Seq
		var wg sync.WaitGroup
		stop := make(chan struct{})
		appendErr := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := s.AppendAudit(ctxOf(t), &storage.AuditEvent{OrgID: "o", Action: "x.1", Time: base}); err != nil {
					appendErr <- err
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
		seen := seqs(first)
		for cur := first; len(cur) == 7; {
			cur = listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 7, Action: "x.1", BeforeSeq: cur[len(cur)-1].Seq})
			seen = append(seen, seqs(cur)...)
		}
		var want []int64
		for i := initial - 1; i >= 0; i-- {
			if i%3 == 1 {
				want = append(want, int64(i+1))
			}
		}
		wantEqual(t, "older pages", seen, want)
		// Newer again, from the oldest, up to where the walk began.
		var back []int64
		after := int64(0)
		for {
			cur := listAudit(t, s, storage.AuditFilter{OrgID: "o", Limit: 5, Action: "x.1", AfterSeq: after, BeforeSeq: top + 1})
			if len(cur) == 0 {
				break
			}
			back = append(back, seqs(cur)...)
			after = cur[len(cur)-1].Seq
		}
		slices.Reverse(back)
		wantEqual(t, "newer pages", back, want)
		close(stop)
		wg.Wait()
		select {
		case err := <-appendErr:
			t.Fatalf("concurrent AppendAudit: %v", err)
		default:
		}
		newest := listAudit(t, s, storage.AuditFilter{OrgID: "o", Newest: true, Limit: 1})
		if newest[0].Seq <= initial {
			t.Fatalf("no event was appended during the walk (newest %d)", newest[0].Seq)
		}
	}},
}
