package web_test

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// seededActivity is what seedSignIns wrote: counts by day (YYYY-MM-DD)
// and series (password, sso, passkey, emergency, other, failure).
type seededActivity map[string]map[string]int

// seedSignIns appends sign-in events to org's audit log on the five days
// before today, as the sign-in paths record them (login.success with the
// session's method, login.failure without one), plus one outside the
// 30-day window that must not be drawn.
func (e *env) seedSignIns(orgID string) seededActivity {
	e.t.Helper()
	today := e.clock.Now().UTC().Truncate(24 * time.Hour)
	plan := []struct {
		daysAgo int
		method  string // "" for a failure
		n       int
	}{
		{1, "password", 3}, {1, "sso", 5}, {1, "", 2},
		{2, "sso", 7}, {2, "hwk", 1}, {2, "emergency", 2},
		{3, "password", 1}, {3, "swk", 2}, {3, "recovery", 1}, {3, "", 4},
		{5, "reset", 2}, {5, "sso", 1},
		{31, "password", 9},
	}
	series := map[string]string{"password": "password", "reset": "password", "sso": "sso", "hwk": "passkey", "swk": "passkey",
		"emergency": "emergency", "recovery": "other", "": "failure"}
	out := seededActivity{}
	for _, p := range plan {
		day := today.AddDate(0, 0, -p.daysAgo)
		for i := range p.n {
			ev := storage.AuditEvent{OrgID: orgID, ID: uuid.NewString(), Time: day.Add(time.Duration(9+i) * time.Hour),
				ActorType: "account", ActorID: "someone", Action: "login.success", Outcome: "success",
				Details: map[string]string{"method": p.method, "amr": "pwd"}}
			if p.method == "" {
				ev.Action, ev.Outcome, ev.Reason, ev.ActorType = "login.failure", "failure", "bad_password", "anonymous"
				ev.Details = map[string]string{"email": "someone@example.com"}
			}
			if err := e.store.AppendAudit(context.Background(), &ev); err != nil {
				e.t.Fatal(err)
			}
		}
		if p.daysAgo >= 30 {
			continue
		}
		k := day.Format(time.DateOnly)
		if out[k] == nil {
			out[k] = map[string]int{}
		}
		out[k][series[p.method]] += p.n
	}
	return out
}

var rectRE = regexp.MustCompile(`<rect class="chart-bar chart-[a-z]+" x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)" data-day="([0-9-]+)" data-series="([a-z]+)" data-count="([0-9]+)">`)

// chartBars reads the overview's bars: day → series → (count, height).
func chartBars(t *testing.T, body string) map[string]map[string][2]float64 {
	t.Helper()
	out := map[string]map[string][2]float64{}
	for _, m := range rectRE.FindAllStringSubmatch(body, -1) {
		h, _ := strconv.ParseFloat(m[1], 64)
		n, _ := strconv.Atoi(m[4])
		if out[m[2]] == nil {
			out[m[2]] = map[string][2]float64{}
		}
		out[m[2]][m[3]] = [2]float64{float64(n), h}
	}
	return out
}

// checkBars fails unless every seeded count is drawn with that count and
// every bar's height is its count on one common scale.
func checkBars(t *testing.T, bars map[string]map[string][2]float64, seeded seededActivity) {
	t.Helper()
	for day, bySeries := range seeded {
		for s, n := range bySeries {
			if got := bars[day][s]; int(got[0]) != n {
				t.Errorf("%s %s: bar for %v, seeded %d", day, s, got[0], n)
			}
		}
		if len(bars[day]) != len(bySeries) {
			t.Errorf("%s: bars %v, seeded %v", day, bars[day], bySeries)
		}
	}
	scale := -1.0
	for day, bySeries := range bars {
		for s, b := range bySeries {
			if scale < 0 {
				scale = b[1] / b[0]
			}
			if math.Abs(b[1]-b[0]*scale) > 0.01 {
				t.Errorf("%s %s: height %.4f for count %v, not on the scale %.4f per sign-in", day, s, b[1], b[0], scale)
			}
		}
	}
}

// The overview draws the last 30 days of sign-ins from the audit log:
// one bar per day and method, and failures, whose heights match the
// counts in the database; the same numbers are in a table; the counts
// that need attention link to where to act.
func TestAdminOverviewActivity(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	seeded := e.seedSignIns(org.ID)
	// Attention: one pending invitation; the owner and the invitee have
	// no second factor.
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "new@example.com", Role: storage.RoleMember, Invite: true}); err != nil {
		t.Fatal(err)
	}
	r := c.get("/admin")
	expect(t, r, http.StatusOK, "Sign-ins, last 30 days", "Needs attention",
		"1 invitation not yet accepted", "2 members without a second factor", "The same numbers as a table")
	for _, want := range []string{`<svg id="activity-chart" role="img" aria-labelledby="activity-chart-title activity-chart-desc"`,
		`<title id="activity-chart-title">Sign-ins per day`, `<desc id="activity-chart-desc">`,
		`href="/admin/members?status=invited"`, `href="/admin/members?nomfa=1"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	// Drawn by the server: no script in the section, nothing fetched.
	section := r.body[strings.Index(r.body, `id="activity"`):]
	section = strings.ReplaceAll(section[:strings.Index(section, "</section>")], `xmlns="http://www.w3.org/2000/svg"`, "")
	if strings.Contains(section, "<script") || strings.Contains(section, "http://") || strings.Contains(section, "https://") {
		t.Error("the chart needs a script or something from elsewhere")
	}
	bars := chartBars(t, r.body)
	// Today has the owner's own sign-in (password).
	today := e.clock.Now().UTC().Format(time.DateOnly)
	if bars[today]["password"][0] < 1 {
		t.Errorf("today's own sign-in is not drawn: %v", bars[today])
	}
	delete(bars, today)
	checkBars(t, bars, seeded)
	// Nothing outside the window: 30 days, today included.
	old := e.clock.Now().UTC().AddDate(0, 0, -31).Format(time.DateOnly)
	if strings.Contains(r.body, `data-day="`+old+`"`) {
		t.Error("a day outside the 30 days is drawn")
	}
	// The table has the same numbers: 1 day ago, password 3, SSO 5, failed 2.
	day1 := e.clock.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	row := regexp.MustCompile(`<tr data-day="` + day1 + `">(.*?)</tr>`).FindStringSubmatch(r.body)
	if row == nil || !strings.HasSuffix(text(row[1]), "3 5 0 0 0 2") {
		t.Errorf("table row for %s = %q", day1, row)
	}
}
