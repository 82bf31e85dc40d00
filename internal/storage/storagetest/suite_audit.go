package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// verifyChain fails t unless events are a whole, untampered chain from 1.
func verifyChain(t *testing.T, events []storage.AuditEvent) {
	t.Helper()
	prev := ""
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d, want %d (gap or fork)", i, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			t.Fatalf("event %d: PrevHash %q, want previous Hash %q", e.Seq, e.PrevHash, prev)
		}
		if want := storage.HashAuditEvent(e); e.Hash != want {
			t.Fatalf("event %d: Hash %q, recomputed %q", e.Seq, e.Hash, want)
		}
		prev = e.Hash
	}
}

func listAudit(t *testing.T, s storage.Store, f storage.AuditFilter) []storage.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(ctxOf(t), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	return evs
}

func mustAppend(t *testing.T, s storage.Store, e storage.AuditEvent) storage.AuditEvent {
	t.Helper()
	if err := s.AppendAudit(ctxOf(t), &e); err != nil {
		t.Fatalf("AppendAudit(%s): %v", e.Action, err)
	}
	return e
}

func seqs(evs []storage.AuditEvent) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

var auditTests = []namedTest{
	{"AppendAssignsChainFields", func(t *testing.T, s storage.Store) {
		in := storage.AuditEvent{
			OrgID: "o", Time: base, ActorType: "account", ActorID: "a", ActorEmail: "a@example.com",
			Action: "login.success", TargetType: "session", TargetID: "s1", Outcome: "success",
			IP: "203.0.113.7", UserAgent: "Mozilla/5.0", RequestID: "req-1",
			Details: map[string]string{"method": "password", "mfa": "none"},
		}
		first := mustAppend(t, s, in)
		if first.ID == "" || first.Seq != 1 || first.PrevHash != "" || first.Hash != storage.HashAuditEvent(first) {
			t.Fatalf("first event: ID %q Seq %d PrevHash %q Hash %q", first.ID, first.Seq, first.PrevHash, first.Hash)
		}
		wantUTCMicros(t, "Time", first.Time, base)
		in.ID = "caller-chosen-id"
		in.Details = nil
		second := mustAppend(t, s, in)
		wantEqual(t, "caller's ID kept", second.ID, "caller-chosen-id")
		wantEqual(t, "second links to first", [2]any{second.Seq, second.PrevHash}, [2]any{int64(2), first.Hash})

		got := listAudit(t, s, storage.AuditFilter{OrgID: "o"})
		wantEqual(t, "ListAudit returns what AppendAudit reported", got, []storage.AuditEvent{first, second})
		verifyChain(t, got)
	}},
	{"ConcurrentAppendsFormOneChain", func(t *testing.T, s storage.Store) {
		errs := race(goroutines, func(i int) error {
			return s.AppendAudit(ctxOf(t), &storage.AuditEvent{
				OrgID: "o", Action: "login.failure", ActorID: fmt.Sprint(i),
				Time: base.Add(time.Duration(i) * time.Millisecond),
			})
		})
		allSucceed(t, "AppendAudit", errs)
		evs := listAudit(t, s, storage.AuditFilter{OrgID: "o"})
		wantEqual(t, "events", len(evs), goroutines)
		verifyChain(t, evs)
	}},
	{"ChainsArePerOrganization", func(t *testing.T, s storage.Store) {
		// Interleave appends to three chains, including the
		// no-organization chain (OrgID "").
		orgs := []string{"o", "p", ""}
		errs := race(3*goroutines/2, func(i int) error {
			return s.AppendAudit(ctxOf(t), &storage.AuditEvent{OrgID: orgs[i%3], Action: "x", Time: base})
		})
		allSucceed(t, "AppendAudit", errs)
		for _, org := range orgs {
			evs := listAudit(t, s, storage.AuditFilter{OrgID: org})
			wantEqual(t, fmt.Sprintf("events of %q", org), len(evs), goroutines/2)
			verifyChain(t, evs)
			for _, e := range evs {
				if e.OrgID != org {
					t.Fatalf("chain %q holds an event of %q", org, e.OrgID)
				}
			}
		}
	}},
	{"AppendInsideTx", func(t *testing.T, s storage.Store) {
		mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "before", Time: base})
		err := s.InTx(ctxOf(t), func(tx storage.Store) error {
			mustAppend(t, tx, storage.AuditEvent{OrgID: "o", Action: "in-tx-1", Time: base})
			mustAppend(t, tx, storage.AuditEvent{OrgID: "o", Action: "in-tx-2", Time: base})
			return nil
		})
		wantErr(t, "InTx", err, nil)
		mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "after", Time: base})
		evs := listAudit(t, s, storage.AuditFilter{OrgID: "o"})
		wantEqual(t, "seqs", seqs(evs), []int64{1, 2, 3, 4})
		verifyChain(t, evs)
	}},
	{"HeadFollowsAppends", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		h, err := s.AuditHead(ctx, "o")
		wantErr(t, "AuditHead of an empty chain", err, nil)
		wantEqual(t, "head of an empty chain", h, storage.AuditHead{OrgID: "o"})
		mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "first", Time: base})
		last := mustAppend(t, s, storage.AuditEvent{OrgID: "o", Action: "second", Time: base.Add(time.Second)})
		mustAppend(t, s, storage.AuditEvent{OrgID: "p", Action: "other chain", Time: base.Add(time.Hour)})
		// A rolled-back append leaves the head where it was.
		rollback := errors.New("roll back")
		err = s.InTx(ctx, func(tx storage.Store) error {
			mustAppend(t, tx, storage.AuditEvent{OrgID: "o", Action: "undone", Time: base.Add(time.Minute)})
			return rollback
		})
		wantErr(t, "InTx", err, rollback)
		h, err = s.AuditHead(ctx, "o")
		wantErr(t, "AuditHead", err, nil)
		wantEqual(t, "head", h, storage.AuditHead{OrgID: "o", Seq: 2, Hash: last.Hash, Time: last.Time})
		wantUTCMicros(t, "head time", h.Time, base.Add(time.Second))
	}},
	{"Filters", auditFilterTests},
	{"Limits", func(t *testing.T, s storage.Store) {
		// Append in one transaction: a thousand commits would only test the disk.
		err := s.InTx(ctxOf(t), func(tx storage.Store) error {
			for i := range 1005 {
				if err := tx.AppendAudit(ctxOf(t), &storage.AuditEvent{OrgID: "o", Action: "x", Time: base.Add(time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
			return nil
		})
		wantErr(t, "append 1005 events", err, nil)
		wantEqual(t, "default limit", len(listAudit(t, s, storage.AuditFilter{OrgID: "o"})), 100)
		wantEqual(t, "explicit limit", len(listAudit(t, s, storage.AuditFilter{OrgID: "o", Limit: 7})), 7)
		all := listAudit(t, s, storage.AuditFilter{OrgID: "o", Limit: 5000})
		wantEqual(t, "limit capped at 1000", len(all), 1000)
		verifyChain(t, all)
		rest := listAudit(t, s, storage.AuditFilter{OrgID: "o", AfterSeq: 1000, Limit: 1000})
		wantEqual(t, "page after the cap", seqs(rest), []int64{1001, 1002, 1003, 1004, 1005})
	}},
}

func auditFilterTests(t *testing.T, s storage.Store) {
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, e := range []storage.AuditEvent{
		{Action: "login.success", ActorID: "a1", ActorEmail: "a@example.com", Time: at(0)}, // 1
		{Action: "login.failure", ActorEmail: "a@example.com", Time: at(1)},                // 2 (unknown account: email only)
		{Action: "session.revoke", ActorID: "a1", Time: at(2)},                             // 3
		{Action: "login_x.success", ActorID: "b1", Time: at(3)},                            // 4 ("_" must not act as a wildcard)
		{Action: "loginX.success", ActorID: "b1", Time: at(4)},                             // 5
		{Action: "Login.success", ActorID: "b1", Time: at(5)},                              // 6 (case differs)
		{Action: "50%.off", ActorID: "b1", Time: at(6)},                                    // 7
		{Action: "500.off", ActorID: "b1", Time: at(7)},                                    // 8
	} {
		e.OrgID = "o"
		mustAppend(t, s, e)
	}
	mustAppend(t, s, storage.AuditEvent{OrgID: "p", Action: "login.success", ActorID: "a1", Time: at(0)})

	for _, tc := range []struct {
		name string
		f    storage.AuditFilter
		want []int64
	}{
		{"all of one org", storage.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"actor by ID or email", storage.AuditFilter{ActorID: "a1"}, []int64{1, 3}},
		{"actor by email", storage.AuditFilter{ActorID: "a@example.com"}, []int64{1, 2}},
		{"exact action", storage.AuditFilter{Action: "login.success"}, []int64{1}},
		{"action prefix", storage.AuditFilter{Action: "login.*"}, []int64{1, 2}},
		{"prefix with _ is literal", storage.AuditFilter{Action: "login_*"}, []int64{4}},
		{"prefix with % is literal", storage.AuditFilter{Action: "50%*"}, []int64{7}},
		{"prefix is case-sensitive", storage.AuditFilter{Action: "Login.*"}, []int64{6}},
		{"bare * matches everything", storage.AuditFilter{Action: "*"}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"since (inclusive)", storage.AuditFilter{Since: at(6)}, []int64{7, 8}},
		{"until (exclusive)", storage.AuditFilter{Until: at(2)}, []int64{1, 2}},
		{"since and until", storage.AuditFilter{Since: at(1), Until: at(3)}, []int64{2, 3}},
		{"after seq", storage.AuditFilter{AfterSeq: 6}, []int64{7, 8}},
		{"combined", storage.AuditFilter{ActorID: "b1", Action: "login*", AfterSeq: 4, Limit: 1}, []int64{5}},
		{"nothing matches", storage.AuditFilter{ActorID: "nobody"}, []int64{}},
	} {
		f := tc.f
		f.OrgID = "o"
		wantEqual(t, tc.name, seqs(listAudit(t, s, f)), tc.want)
	}
	wantEqual(t, "other org", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "p"})), []int64{1})
	wantEqual(t, "unknown org", seqs(listAudit(t, s, storage.AuditFilter{OrgID: "nope"})), []int64{})
}
