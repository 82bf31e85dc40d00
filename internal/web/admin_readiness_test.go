package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/readiness/readinesstest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The readiness page shows who under an SSO-enforced, failback-allowed
// policy has no passkey; "Send reminders" confirms how many will be
// mailed, mails them through the real outbox once, and a second batch
// within 7 days mails nobody.
func TestAdminReadinessPageAndReminders(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		org, _, c := e.signedInOwner()
		f := readinesstest.SeedInto(t, e.store, org, e.clock.Now())
		without := []string{f.Member.Email, f.NoKey1.Email, f.NoKey2.Email}

		expect(t, c.get("/admin"), http.StatusOK, "Emergency sign-in readiness")
		page := c.get("/admin/readiness")
		expect(t, page, http.StatusOK, "5 people covered", "1 with an emergency passkey", "2 with any passkey",
			"3 without a passkey", "Engineers", f.NoKey1.DisplayName, f.NoKey2.Email, "Send reminders")
		for _, gone := range []string{f.Emergency.Email, f.Ordinary.Email, f.Denied.Email, f.Suspended.Email} {
			if strings.Contains(text(page.body), gone) {
				t.Errorf("the list of people without a passkey shows %s", gone)
			}
		}

		// Everyone covered, with which passkeys are flagged for emergencies.
		all := text(c.get("/admin/readiness?show=all").body)
		for _, want := range []string{f.Emergency.Email + " Engineers 1 emergency", f.Ordinary.Email + " Engineers 1, not flagged for emergencies",
			f.NoKey1.Email + " Engineers None"} {
			if !strings.Contains(all, want) {
				t.Errorf("everyone covered lacks %q:\n%s", want, all)
			}
		}

		expect(t, c.get("/admin/readiness/remind"), http.StatusOK, "3 people will be mailed", "reminded in the last 7 days are skipped")
		noCSRF := url.Values{httpserver.CSRFField: {"forged"}}
		if r := c.post("/admin/readiness/remind", noCSRF); r.status != http.StatusForbidden {
			t.Fatalf("a forged form answered %d", r.status)
		}
		expectRedirect(t, c.post("/admin/readiness/remind", nil), "/admin/readiness?notice=reminders-sent")
		e.readiness.Wait()
		msgs, err := mail.ReadOutbox(e.outbox)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range msgs {
			if strings.Contains(m.Text, "passkey") {
				to = append(to, m.To)
				if !strings.Contains(m.Text, e.publicURL+"/account") {
					t.Errorf("reminder without the account link:\n%s", m.Text)
				}
			}
		}
		slices.Sort(to)
		if !slices.Equal(to, without) {
			t.Errorf("reminded %v, want %v", to, without)
		}
		if evs := e.auditEvents(org.ID, readiness.ActionReminderSent); len(evs) != 1 || evs[0].Details["count"] != "3" {
			t.Errorf("audit %+v, want one batch of 3", evs)
		}

		expect(t, c.get("/admin/readiness"), http.StatusOK, "Reminded this week")
		expect(t, c.get("/admin/readiness/remind"), http.StatusOK, "Nobody will be mailed", "3 people were reminded in the last 7 days")
		expectRedirect(t, c.post("/admin/readiness/remind", nil), "/admin/readiness?notice=reminders-sent")
		e.readiness.Wait()
		if evs := e.auditEvents(org.ID, readiness.ActionReminderSent); len(evs) != 1 {
			t.Errorf("a second batch within 7 days was audited: %+v", evs)
		}

		// One chosen person, a week later.
		e.clock.Advance(8 * 24 * time.Hour)
		c = e.client() // the session has ended by then
		c.signIn(ownerEmail, ownerPassword)
		expect(t, c.get("/admin/readiness/remind?email="+url.QueryEscape(f.NoKey1.Email)), http.StatusOK, "1 person will be mailed")
		expectRedirect(t, c.post("/admin/readiness/remind", url.Values{"email": {f.NoKey1.Email}}), "/admin/readiness")
		if evs := e.auditEvents(org.ID, readiness.ActionReminderSent); len(evs) != 2 || evs[1].Details["emails"] != f.NoKey1.Email {
			t.Errorf("chosen reminder audit %+v", evs)
		}

		// A member may not see the page or send reminders.
		e.addMember(org.ID, "bob@acme.example", storage.RoleMember)
		m := e.client()
		m.signIn("bob@acme.example", memberPassword)
		if r := m.get("/admin/readiness"); r.status != http.StatusForbidden {
			t.Errorf("a member opened the readiness page: %d", r.status)
		}
		if r := m.post("/admin/readiness/remind", nil); r.status != http.StatusForbidden {
			t.Errorf("a member sent reminders: %d", r.status)
		}
	})
}
