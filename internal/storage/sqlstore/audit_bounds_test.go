package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// boundsBase is where the test chains' times start.
var boundsBase = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// skewedTimes returns n event times that mostly go forward ten seconds an
// event, each off by up to ±40 s (backsteps under and over a minute),
// with a few clocks far behind (a day, a month) and, from event 300, one
// clock an hour ahead whose time the others only reach 360 events later.
func skewedTimes(rng *rand.Rand, n int) []time.Time {
	out := make([]time.Time, n)
	var top time.Time
	for i := range out {
		t := boundsBase.Add(time.Duration(i)*10*time.Second + time.Duration(rng.IntN(80_000_001)-40_000_000)*time.Microsecond)
		switch {
		case i == 40 || i == 250:
			t = t.Add(-24 * time.Hour)
		case i == 120:
			t = t.Add(-30 * 24 * time.Hour)
		case i == 300:
			t = t.Add(time.Hour)
		case i == 200:
			t = top.Add(-time.Minute) // the most an event may lag unlisted
		case i == 210:
			t = top.Add(-time.Minute - time.Microsecond) // the least a listed backstep lags
		}
		out[i] = t
		if t.After(top) {
			top = t
		}
	}
	return out
}

// wantListsLikeBruteForce compares ListAudit with a filter applied to
// every event of org "o" for many random time ranges, cursors, limits and
// both orders, under each of ListAudit's plans.
func wantListsLikeBruteForce(t *testing.T, s *sqlstore.Store, rng *rand.Rand, all []storage.AuditEvent) {
	t.Helper()
	lo, hi := all[0].Time, all[0].Time
	for _, e := range all {
		if e.Time.Before(lo) {
			lo = e.Time
		}
		if e.Time.After(hi) {
			hi = e.Time
		}
	}
	lo, hi = lo.Add(-time.Minute), hi.Add(time.Minute)
	randTime := func() time.Time {
		if rng.IntN(6) == 0 {
			return time.Time{}
		}
		if rng.IntN(5) == 0 {
			return storage.Truncate(lo.Add(time.Duration(rng.Int64N(int64(hi.Sub(lo))))))
		}
		// Mostly near an event's time, where the bounds have to be exact.
		return storage.Truncate(all[rng.IntN(len(all))].Time.Add(time.Duration(rng.Int64N(int64(4*time.Minute))) - 2*time.Minute))
	}
	plans := []struct {
		name                     string
		rangeSort, walk, backMax int
	}{
		{"default plan", 20000, 50000, 1000},
		{"always walk", 0, 1 << 40, 1000},
		{"always walk, few backsteps read", 0, 1 << 40, 2},
		{"sort unless tiny", 3, 0, 1000},
	}
	for _, p := range plans {
		undo, undoScan := sqlstore.SetAuditPlan(p.rangeSort, p.walk), sqlstore.SetAuditBackstepScan(p.backMax)
		for i := range 120 {
			f := storage.AuditFilter{OrgID: "o", Since: randTime(), Until: randTime(), Newest: rng.IntN(2) == 0, Limit: 1 + rng.IntN(40)}
			if f.Since.IsZero() && f.Until.IsZero() {
				f.Until = randTime()
			}
			if i < 2 && len(all) > 210 {
				// Ranges that end just after the events that lag most.
				until := all[200+10*i].Time.Add(time.Microsecond)
				f = storage.AuditFilter{OrgID: "o", Since: until.Add(-time.Minute), Until: until, Newest: true, Limit: 1}
			}
			switch rng.IntN(4) {
			case 1:
				f.BeforeSeq = 1 + rng.Int64N(int64(len(all)))
			case 2:
				f.AfterSeq = rng.Int64N(int64(len(all)))
			case 3:
				f.ActorID = fmt.Sprint("a", rng.IntN(3))
			}
			var want []int64
			for _, e := range all {
				if (f.Since.IsZero() || !e.Time.Before(f.Since)) && (f.Until.IsZero() || e.Time.Before(f.Until)) &&
					(f.BeforeSeq == 0 || e.Seq < f.BeforeSeq) && e.Seq > f.AfterSeq &&
					(f.ActorID == "" || e.ActorID == f.ActorID) {
					want = append(want, e.Seq)
				}
			}
			if f.Newest {
				slices.Reverse(want)
			}
			want = want[:min(len(want), f.Limit)]
			evs, err := s.ListAudit(t.Context(), f)
			if err != nil {
				t.Fatalf("%s: ListAudit(%+v): %v", p.name, f, err)
			}
			got := []int64{}
			for _, e := range evs {
				got = append(got, e.Seq)
			}
			if want == nil {
				want = []int64{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: ListAudit(since %v, until %v, newest %v, before %d, after %d, actor %q, limit %d)\n got %v\nwant %v",
					p.name, f.Since, f.Until, f.Newest, f.BeforeSeq, f.AfterSeq, f.ActorID, f.Limit, got, want)
			}
		}
		undoScan()
		undo()
	}
}

// A time-filtered page is exactly the brute-force filter of the chain
// whichever plan reads it, with event times out of order along the chain:
// small clock skew, clocks far behind, one clock far ahead. The chain
// still verifies: the seq bounds' bookkeeping is not part of any hash.
func TestListAuditTimeRangeOutOfOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := open(t, unmigrated(t, dialect))
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, uint64(len(dialect))))
		var all []storage.AuditEvent
		for i, at := range skewedTimes(rng, 480) {
			e := storage.AuditEvent{OrgID: "o", Action: "x", ActorID: fmt.Sprint("a", i%3), Time: at}
			if err := s.AppendAudit(t.Context(), &e); err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
			// Another organization's chain, its times far off, in between.
			other := storage.AuditEvent{OrgID: "p", Action: "x", Time: at.Add(time.Duration(i%2) * 400 * 24 * time.Hour)}
			if err := s.AppendAudit(t.Context(), &other); err != nil {
				t.Fatal(err)
			}
		}
		wantListsLikeBruteForce(t, s, rng, all)
		wantChain(t, s, all)
	})
}

// A chain written before migration 0027 gets its running maxima from the
// migration, and appends after it continue them: pages are exact either
// side of the upgrade.
func TestMigrationBackfillsAuditMaxTime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		s := open(t, unmigrated(t, dialect))
		if err := s.MigrateBelow(ctx, 27); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(11, uint64(len(dialect))))
		times := skewedTimes(rng, 480)
		// The columns as release 0026 knew them, chained as AppendAudit
		// chained them.
		var all []storage.AuditEvent
		prev := ""
		for i, at := range times[:400] {
			e := storage.AuditEvent{OrgID: "o", Seq: int64(i + 1), ID: fmt.Sprint("ev-", i), Time: storage.Truncate(at),
				ActorID: fmt.Sprint("a", i%3), Action: "x", PrevHash: prev}
			e.Hash = storage.HashAuditEvent(e)
			prev = e.Hash
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO audit_events (org_id, seq, id, event_time, actor_type, actor_id,
				actor_email, action, target_type, target_id, outcome, reason, ip, user_agent, request_id, details, prev_hash, hash)
				VALUES ($1, $2, $3, $4, '', $5, '', 'x', '', '', '', '', '', '', '', '{}', $6, $7)`,
				e.OrgID, e.Seq, e.ID, e.Time.UnixMicro(), e.ActorID, e.PrevHash, e.Hash); err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO audit_heads (org_id, seq, hash, event_time) VALUES ('o', 400, $1, $2)`,
			prev, all[399].Time.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		wantListsLikeBruteForce(t, s, rng, all)
		for i, at := range times[400:] {
			e := storage.AuditEvent{OrgID: "o", Action: "x", ActorID: fmt.Sprint("a", (400+i)%3), Time: at}
			if err := s.AppendAudit(ctx, &e); err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
		}
		wantListsLikeBruteForce(t, s, rng, all)
		wantChain(t, s, all)
	})
}

// wantChain fails t unless org "o"'s stored chain is all, each event's
// hash what HashAuditEvent makes of it and its predecessor's.
func wantChain(t *testing.T, s *sqlstore.Store, all []storage.AuditEvent) {
	t.Helper()
	got, err := s.ListAudit(t.Context(), storage.AuditFilter{OrgID: "o", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("%d events stored, want %d", len(got), len(all))
	}
	prev := ""
	for i, e := range got {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != storage.HashAuditEvent(e) || e.Hash != all[i].Hash {
			t.Fatalf("event %d does not verify", e.Seq)
		}
		prev = e.Hash
	}
}
