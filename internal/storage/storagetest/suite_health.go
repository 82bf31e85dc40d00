package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var ssoHealthTests = []namedTest{
	{"OutcomesAggregatePerMinute", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		mustIdP(t, s, "o", "c2")
		m0 := base.Truncate(time.Minute)
		for i := 0; i < 3; i++ {
			wantErr(t, "started", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeStarted, m0.Add(time.Duration(i)*time.Second), 1), nil)
		}
		wantErr(t, "succeeded", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeSucceeded, m0.Add(5*time.Second), 1), nil)
		wantErr(t, "idp error", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeIdPError, m0.Add(70*time.Second), 2), nil)
		wantErr(t, "invalid", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeInvalid, m0.Add(80*time.Second), 1), nil)
		wantErr(t, "abandoned", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeAbandoned, m0.Add(130*time.Second), 4), nil)
		wantErr(t, "other connection", s.RecordSSOOutcome(ctx, "c2", storage.OutcomeSucceeded, m0, 9), nil)
		if err := s.RecordSSOOutcome(ctx, "c1", "bogus", m0, 1); err == nil {
			t.Fatal("unknown kind accepted")
		}
		list, err := s.ListSSOOutcomes(ctx, "c1", m0, m0.Add(time.Hour))
		wantErr(t, "ListSSOOutcomes", err, nil)
		wantEqual(t, "buckets", len(list), 3)
		wantEqual(t, "first bucket", list[0], storage.SSOOutcomeBucket{ConnectionID: "c1", Minute: m0.UTC(), Started: 3, Succeeded: 1})
		wantEqual(t, "second bucket", list[1], storage.SSOOutcomeBucket{ConnectionID: "c1", Minute: m0.Add(time.Minute).UTC(), IdPError: 2, Invalid: 1})
		sum, err := s.SumSSOOutcomes(ctx, "c1", m0, m0.Add(time.Hour))
		wantErr(t, "SumSSOOutcomes", err, nil)
		wantEqual(t, "sum", sum, storage.SSOOutcomeBucket{ConnectionID: "c1", Started: 3, Succeeded: 1, IdPError: 2, Invalid: 1, Abandoned: 4})
		wantEqual(t, "failures", sum.Failures(), 7)
		// [since, until): the minute at until is left out.
		sum, err = s.SumSSOOutcomes(ctx, "c1", m0.Add(time.Minute), m0.Add(2*time.Minute))
		wantErr(t, "SumSSOOutcomes window", err, nil)
		wantEqual(t, "window outcomes", sum.Outcomes(), 3)
		last, err := s.LastSSOOutcome(ctx, "c1")
		wantErr(t, "LastSSOOutcome", err, nil)
		wantEqual(t, "last outcome", last.Kind, storage.OutcomeAbandoned)
		// An older ending reported late does not replace a newer one.
		wantErr(t, "late success", s.RecordSSOOutcome(ctx, "c1", storage.OutcomeSucceeded, m0, 1), nil)
		last, _ = s.LastSSOOutcome(ctx, "c1")
		wantEqual(t, "last outcome after a late report", last.Kind, storage.OutcomeAbandoned)
		_, err = s.LastSSOOutcome(ctx, "nope")
		wantErr(t, "no outcome", err, storage.ErrNotFound)
		n, err := s.DeleteSSOOutcomes(ctx, m0.Add(time.Minute))
		wantErr(t, "DeleteSSOOutcomes", err, nil)
		wantEqual(t, "deleted buckets", n, 2) // c1's and c2's first minute
	}},
	{"ConcurrentOutcomesAllCount", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		errs := race(goroutines, func(int) error {
			return s.RecordSSOOutcome(ctxOf(t), "c1", storage.OutcomeStarted, base, 1)
		})
		for _, err := range errs {
			wantErr(t, "concurrent RecordSSOOutcome", err, nil)
		}
		sum, err := s.SumSSOOutcomes(ctxOf(t), "c1", base.Add(-time.Hour), base.Add(time.Hour))
		wantErr(t, "SumSSOOutcomes", err, nil)
		wantEqual(t, "started", sum.Started, goroutines)
	}},
	{"AbandonedClaimedOnce", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		for _, id := range []string{"gone", "answered", "fresh", "refused"} {
			r := newAuthnRequest(id, "c1")
			if id == "fresh" {
				r.ExpiresAt = base.Add(time.Hour)
			}
			wantErr(t, "CreateAuthnRequest", s.CreateAuthnRequest(ctx, r), nil)
		}
		_, err := s.UseAuthnRequest(ctx, "answered", base.Add(time.Minute))
		wantErr(t, "UseAuthnRequest", err, nil)
		wantErr(t, "MarkAuthnRequestCounted", s.MarkAuthnRequestCounted(ctx, "refused"), nil)
		wantErr(t, "MarkAuthnRequestCounted(unknown)", s.MarkAuthnRequestCounted(ctx, "nope"), nil)
		now := base.Add(11 * time.Minute)
		got, err := s.ClaimAbandonedAuthnRequests(ctx, now)
		wantErr(t, "ClaimAbandonedAuthnRequests", err, nil)
		wantEqual(t, "claimed", len(got), 1)
		wantEqual(t, "claimed ID", got[0].ID, "gone")
		got, err = s.ClaimAbandonedAuthnRequests(ctx, now.Add(time.Minute))
		wantErr(t, "second claim", err, nil)
		wantEqual(t, "claimed twice", len(got), 0)
	}},
	{"Checks", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		for i := 0; i < 5; i++ {
			c := storage.SSOCheck{ConnectionID: "c1", Kind: storage.CheckProbe, At: base.Add(time.Duration(i) * time.Minute),
				OK: i%2 == 0, Latency: 1500 * time.Microsecond, Detail: "HTTP 200"}
			wantErr(t, "RecordSSOCheck", s.RecordSSOCheck(ctx, c), nil)
		}
		wantErr(t, "metadata check", s.RecordSSOCheck(ctx, storage.SSOCheck{ConnectionID: "c1", Kind: storage.CheckMetadata, At: base, Detail: "timeout"}), nil)
		got, err := s.ListSSOChecks(ctx, "c1", storage.CheckProbe, 2)
		wantErr(t, "ListSSOChecks", err, nil)
		wantEqual(t, "newest first", got, []storage.SSOCheck{
			{ConnectionID: "c1", Kind: storage.CheckProbe, At: storage.Truncate(base.Add(4 * time.Minute)), OK: true, Latency: 1500 * time.Microsecond, Detail: "HTTP 200"},
			{ConnectionID: "c1", Kind: storage.CheckProbe, At: storage.Truncate(base.Add(3 * time.Minute)), OK: false, Latency: 1500 * time.Microsecond, Detail: "HTTP 200"},
		})
		all, err := s.ListSSOChecks(ctx, "c1", "", 0)
		wantErr(t, "ListSSOChecks all kinds", err, nil)
		wantEqual(t, "all checks", len(all), 6)
		n, err := s.DeleteSSOChecks(ctx, base.Add(2*time.Minute))
		wantErr(t, "DeleteSSOChecks", err, nil)
		wantEqual(t, "deleted checks", n, 3)
	}},
	{"IncidentsOneOpenPerConnection", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		inc := storage.SSOIncident{ID: "i1", OrgID: "o", ConnectionID: "c1", Cause: "unreachable", StartedAt: base, Details: "3 probes failed"}
		wantErr(t, "OpenSSOIncident", s.OpenSSOIncident(ctx, inc), nil)
		second := inc
		second.ID = "i2"
		wantErr(t, "second open incident", s.OpenSSOIncident(ctx, second), storage.ErrConflict)
		open, err := s.GetOpenSSOIncident(ctx, "c1")
		wantErr(t, "GetOpenSSOIncident", err, nil)
		want := inc
		want.StartedAt = storage.Truncate(base)
		wantEqual(t, "open incident", open, want)
		wantErr(t, "MarkSSOIncidentFailing", s.MarkSSOIncidentFailing(ctx, "i1", base.Add(time.Minute)), nil)
		wantErr(t, "MarkSSOIncidentFailing backwards", s.MarkSSOIncidentFailing(ctx, "i1", base), nil)
		open, _ = s.GetOpenSSOIncident(ctx, "c1")
		wantEqual(t, "last failing", open.LastFailingAt, storage.Truncate(base.Add(time.Minute)))
		closed, err := s.CloseSSOIncident(ctx, "i1", base.Add(time.Hour))
		wantErr(t, "CloseSSOIncident", err, nil)
		wantEqual(t, "ended", closed.EndedAt, storage.Truncate(base.Add(time.Hour)))
		_, err = s.CloseSSOIncident(ctx, "i1", base.Add(2*time.Hour))
		wantErr(t, "closed twice", err, storage.ErrConflict)
		_, err = s.CloseSSOIncident(ctx, "nope", base)
		wantErr(t, "unknown incident", err, storage.ErrNotFound)
		_, err = s.GetOpenSSOIncident(ctx, "c1")
		wantErr(t, "no open incident", err, storage.ErrNotFound)
		second.StartedAt = base.Add(3 * time.Hour)
		wantErr(t, "a new incident after the first closed", s.OpenSSOIncident(ctx, second), nil)
		list, err := s.ListSSOIncidents(ctx, "o", base)
		wantErr(t, "ListSSOIncidents", err, nil)
		wantEqual(t, "incidents", len(list), 2)
		wantEqual(t, "newest first", list[0].ID, "i2")
		list, _ = s.ListSSOIncidents(ctx, "o", base.Add(2*time.Hour))
		wantEqual(t, "only the open one ended after since", len(list), 1)
		gone := storage.SSOIncident{ID: "i3", OrgID: "o", ConnectionID: "nope", Cause: "unreachable", StartedAt: base}
		wantErr(t, "unknown connection", s.OpenSSOIncident(ctx, gone), storage.ErrNotFound)
	}},
	{"ConcurrentIncidentOneWinner", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		errs := race(goroutines, func(i int) error {
			return s.OpenSSOIncident(ctxOf(t), storage.SSOIncident{ID: "i" + string(rune('a'+i)), OrgID: "o", ConnectionID: "c1", Cause: "failure_ratio", StartedAt: base})
		})
		oneWinner(t, "concurrent OpenSSOIncident", errs, storage.ErrConflict)
	}},
	{"CertNoticeOnce", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		n := storage.SSOCertNotice{ConnectionID: "c1", Fingerprint: "ab12", Days: 30, SentAt: base}
		wantErr(t, "RecordSSOCertNotice", s.RecordSSOCertNotice(ctx, n), nil)
		wantErr(t, "again", s.RecordSSOCertNotice(ctx, n), storage.ErrConflict)
		n.Days = 7
		wantErr(t, "next threshold", s.RecordSSOCertNotice(ctx, n), nil)
		// A PostgreSQL transaction stays usable after the duplicate.
		err := s.InTx(ctx, func(tx storage.Store) error {
			if err := tx.RecordSSOCertNotice(ctx, n); err == nil {
				t.Error("duplicate in tx accepted")
			}
			return tx.RecordSSOCertNotice(ctx, storage.SSOCertNotice{ConnectionID: "c1", Fingerprint: "ab12", Days: 1, SentAt: base})
		})
		wantErr(t, "InTx", err, nil)
	}},
}
