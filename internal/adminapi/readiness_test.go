package adminapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/readiness/readinesstest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// GET /passkeys/readiness lists who is covered and who has a passkey, in
// pages; POST /passkeys/reminders mails those without one once per 7
// days, through the real outbox; a read token may read, not remind.
func TestPasskeyReadinessAndReminders(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnvOn(t, st)
		f := readinesstest.SeedInto(t, st, e.orgA, time.Now())
		without := []string{f.Member.Email, f.NoKey1.Email, f.NoKey2.Email}

		var page apiview.ReadinessPage
		r := e.do(http.MethodGet, "/api/v1/passkeys/readiness", e.tokenA, nil)
		if r.status != http.StatusOK {
			t.Fatalf("readiness: %d %s", r.status, r.body)
		}
		r.json(t, &page)
		if s := page.Summary; s.Covered != 5 || s.WithPasskey != 2 || s.WithEmergencyPasskey != 1 || s.WithoutPasskey != 3 ||
			len(s.Policies) != 1 || s.Policies[0].Name != "Engineers" {
			t.Errorf("summary %+v", s)
		}
		if len(page.People) != 5 || page.Next != nil {
			t.Errorf("people %+v, next %v", page.People, page.Next)
		}
		var got []string
		after := ""
		for range 3 {
			var p apiview.ReadinessPage
			e.do(http.MethodGet, "/api/v1/passkeys/readiness?without=true&limit=2&after="+after, e.tokenA, nil).json(t, &p)
			for _, x := range p.People {
				got = append(got, x.Email)
			}
			if p.Next == nil {
				break
			}
			after = *p.Next
		}
		if !slices.Equal(got, without) {
			t.Errorf("without a passkey, paged: %v, want %v", got, without)
		}
		if r := e.do(http.MethodGet, "/api/v1/passkeys/readiness?limit=0", e.tokenA, nil); r.status != http.StatusBadRequest {
			t.Errorf("limit=0 answered %d", r.status)
		}

		readSecret, _ := e.token("dashboard", storage.TokenScopeRead)
		if r := e.do(http.MethodGet, "/api/v1/passkeys/readiness", readSecret, nil); r.status != http.StatusOK {
			t.Errorf("a read token cannot read readiness: %d", r.status)
		}
		if r := e.do(http.MethodPost, "/api/v1/passkeys/reminders", readSecret, nil); r.status != http.StatusForbidden {
			t.Errorf("a read token sent reminders: %d %s", r.status, r.body)
		}

		var res apiview.ReminderResult
		e.do(http.MethodPost, "/api/v1/passkeys/reminders", e.tokenA, []byte(`{"dry_run":true}`)).json(t, &res)
		if !res.DryRun || !slices.Equal(res.Mailed, without) {
			t.Errorf("dry run %+v", res)
		}
		r = e.do(http.MethodPost, "/api/v1/passkeys/reminders", e.tokenA, nil)
		if r.status != http.StatusOK {
			t.Fatalf("reminders: %d %s", r.status, r.body)
		}
		r.json(t, &res)
		if !slices.Equal(res.Mailed, without) {
			t.Errorf("mailed %v", res.Mailed)
		}
		e.readiness.Wait()
		if to := reminded(t, e.outbox); !slices.Equal(to, without) {
			t.Errorf("outbox %v, want %v", to, without)
		}
		e.do(http.MethodPost, "/api/v1/passkeys/reminders", e.tokenA, []byte(`{"emails":["`+f.NoKey1.Email+`"]}`)).json(t, &res)
		if len(res.Mailed) != 0 || !slices.Equal(res.Skipped, []string{f.NoKey1.Email}) {
			t.Errorf("second reminder within 7 days: %+v", res)
		}
		e.readiness.Wait()
		if to := reminded(t, e.outbox); len(to) != 3 {
			t.Errorf("%d reminders after the second request, want 3", len(to))
		}
		if r := e.do(http.MethodPost, "/api/v1/passkeys/reminders", e.tokenA, []byte(`{"emails":["nope"]}`)); r.status != http.StatusBadRequest {
			t.Errorf("a malformed address answered %d", r.status)
		}
		evs, err := st.ListAudit(t.Context(), storage.AuditFilter{OrgID: e.orgA.ID, Action: readiness.ActionReminderSent})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].ActorType != "api_token" || evs[0].Details["count"] != "3" {
			t.Errorf("audit %+v, want one batch of 3 by the token", evs)
		}
		// Another organization's token sees its own (empty) readiness.
		var other apiview.ReadinessPage
		e.do(http.MethodGet, "/api/v1/passkeys/readiness", e.tokenB, nil).json(t, &other)
		if other.Summary.Covered != 0 || len(other.People) != 0 {
			t.Errorf("organization B sees %+v", other)
		}
	})
}

// reminded lists the recipients of passkey reminders in the outbox.
func reminded(t *testing.T, dir string) []string {
	t.Helper()
	msgs, err := mail.ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "Set up emergency sign-in for ") {
			to = append(to, m.To)
		}
	}
	slices.Sort(to)
	return to
}
