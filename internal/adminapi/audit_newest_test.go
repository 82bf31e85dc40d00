package adminapi_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The audit list reads newest first by cursor both ways and filters by
// outcome and target, as the console does.
func TestAuditNewestFirstAndFilters(t *testing.T) {
	e := newEnv(t)
	for _, email := range []string{"a@acme.test", "b@acme.test", "c@acme.test", "d@acme.test"} {
		if r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"`+email+`"}`)); r.status != 201 {
			t.Fatalf("add %s = %d %s", email, r.status, r.body)
		}
	}
	if err := e.store.AppendAudit(t.Context(), &storage.AuditEvent{OrgID: e.orgA.ID, Action: "login.failure",
		ActorType: "anonymous", ActorEmail: "x@acme.test", Outcome: "failure", Reason: "bad_credentials"}); err != nil {
		t.Fatal(err)
	}
	get := func(query string) (apiview.AuditPage, response) {
		t.Helper()
		r := e.do("GET", "/api/v1/audit"+query, e.tokenA, nil)
		var p apiview.AuditPage
		if r.status == 200 {
			r.json(t, &p)
		}
		return p, r
	}
	all, _ := get("")
	n := len(all.Events)
	if n < 6 {
		t.Fatalf("only %d events", n)
	}

	// Newest first, two at a time, following next_before to the end.
	var walked []int64
	q := "?order=newest&limit=2"
	for range 20 {
		p, r := get(q)
		if r.status != 200 {
			t.Fatalf("page %s = %d %s", q, r.status, r.body)
		}
		if p.NextAfter != nil {
			t.Errorf("next_after set newest first")
		}
		for _, ev := range p.Events {
			walked = append(walked, ev.Seq)
		}
		if p.NextBefore == nil {
			break
		}
		q = "?order=newest&limit=2&before=" + itoa(*p.NextBefore)
	}
	if len(walked) != n {
		t.Fatalf("newest-first walk %v, want %d events", walked, n)
	}
	for i, s := range walked {
		if s != int64(n-i) {
			t.Fatalf("newest-first walk out of order: %v", walked)
		}
	}
	// Back up: the events just above a cursor, newest first.
	if p, _ := get("?order=newest&after=2&limit=2"); len(p.Events) != 2 || p.Events[0].Seq != int64(n) || p.NextBefore == nil || *p.NextBefore != int64(n-1) {
		t.Errorf("newest above 2 = %+v", p)
	}
	// Chain order below a cursor.
	if p, _ := get("?before=4"); len(p.Events) != 3 || p.Events[0].Seq != 1 {
		t.Errorf("before=4 = %d events", len(p.Events))
	}

	// Outcome and target filters.
	if p, _ := get("?outcome=failure"); len(p.Events) != 1 || p.Events[0].Reason != "bad_credentials" {
		t.Errorf("outcome=failure = %+v", p.Events)
	}
	created := all.Events[len(all.Events)-2] // the last account.create
	if created.Action != "account.create" {
		t.Fatalf("event %d is %s", created.Seq, created.Action)
	}
	p, _ := get("?target_type=account&target_id=" + created.TargetID)
	if len(p.Events) == 0 {
		t.Fatal("no events about the new account")
	}
	for _, ev := range p.Events {
		if ev.TargetType != "account" || ev.TargetID != created.TargetID {
			t.Errorf("target filter let through %+v", ev)
		}
	}

	for _, q := range []string{"?order=sideways", "?outcome=maybe", "?before=0", "?before=x", "?order=newest&order=oldest"} {
		if _, r := get(q); r.status != 400 || r.errCode(t) != "invalid_request" {
			t.Errorf("GET /audit%s = %d %s, want 400", q, r.status, r.body)
		}
	}
	// The export takes the filters but is never paged or reordered; a
	// filtered export is a selection, without the chain head line.
	for _, q := range []string{"?order=newest", "?before=3"} {
		if r := e.do("GET", "/api/v1/audit/export"+q, e.tokenA, nil); r.status != 400 {
			t.Errorf("export%s = %d", q, r.status)
		}
	}
	r := e.do("GET", "/api/v1/audit/export?outcome=failure", e.tokenA, nil)
	if r.status != 200 || strings.Count(string(r.body), "\n") != 1 || strings.Contains(string(r.body), `"record":"head"`) {
		t.Errorf("export?outcome=failure = %d %s", r.status, r.body)
	}
}
