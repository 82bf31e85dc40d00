package console

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The overview's sign-in activity: a bar chart drawn here as inline SVG
// (no script, nothing fetched from elsewhere), with the same numbers as a
// table for screen readers and anyone who wants them exactly, and the
// counts that need an admin's attention, each linking to where to act.

// activityView is the overview's activity section.
type activityView struct {
	Chart     activityChart
	Rows      []activityRow // the table alternative, newest first
	Attention []attentionItem
	Total     int // successful sign-ins over the period
	Failures  int
}

// attentionItem is one count that needs attention and where to act on it.
type attentionItem struct {
	ID, Label, Href string
	Count           int
}

// activityRow is one day of the table.
type activityRow struct {
	Day, DayISO string
	Counts      []int // by account.ActivityMethods
	Failures    int
}

// activitySeries is one legend entry.
type activitySeries struct{ Key, Label string }

// activityChart is the SVG: every number in it is computed here.
type activityChart struct {
	Width, Height int
	Title, Desc   string
	Bars          []chartBar
	Ticks         []chartTick // horizontal grid lines with their labels
	Labels        []chartLabel
	Series        []activitySeries
	Baseline      float64
}

// chartBar is one rectangle: one series of one day. Count is what its
// height stands for (data-count), so a reader can check one against the
// other.
type chartBar struct {
	X, Y, W, H float64
	Series     string
	Day        string // YYYY-MM-DD
	Count      int
	Label      string // the tooltip
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X     float64
	Label string
}

// The chart's geometry, in SVG user units (it scales with the page).
const (
	chartLeft   = 36.0  // room for the axis labels
	chartTop    = 8.0   // room above the tallest bar
	chartPlot   = 180.0 // the height the tallest bar reaches
	chartSlot   = 22.0  // one day
	chartBarW   = 12.0  // the stacked successes
	chartFailW  = 5.0   // the failures, beside them
	chartBottom = 24.0  // room for the day labels
)

// activityLabels names the method groups for people.
var activityLabels = map[string]string{
	account.ActivityPassword: "Password", account.ActivitySSO: "SSO", account.ActivityPasskey: "Passkey",
	account.ActivityEmergency: "Emergency", account.ActivityOther: "Recovery",
}

// ActivityColumns are the table's method headings, in order.
func (activityView) ActivityColumns() []string {
	out := make([]string, 0, len(account.ActivityMethods))
	for _, m := range account.ActivityMethods {
		out = append(out, activityLabels[m])
	}
	return out
}

// overviewActivity reads the activity and the attention counts.
func (h *Handler) overviewActivity(ctx context.Context, adm storage.Account) (*activityView, error) {
	act, err := h.Accounts.SignInActivity(ctx, adm.OrgID)
	if err != nil {
		return nil, fmt.Errorf("read sign-in activity: %w", err)
	}
	v := &activityView{Chart: buildChart(act.Days)}
	for i := len(act.Days) - 1; i >= 0; i-- {
		d := act.Days[i]
		row := activityRow{Day: d.Day.Format("Mon 2 Jan"), DayISO: d.Day.Format(time.DateOnly), Failures: d.Failures}
		for _, m := range account.ActivityMethods {
			row.Counts = append(row.Counts, d.Successes[m])
		}
		v.Rows = append(v.Rows, row)
		v.Total += d.Total()
		v.Failures += d.Failures
	}
	v.Attention = append(v.Attention,
		attentionItem{ID: "attention-invitations", Count: act.Attention.InvitationsPending, Href: "/admin/members?status=invited",
			Label: plural(act.Attention.InvitationsPending, "invitation", "invitations") + " not yet accepted"},
		attentionItem{ID: "attention-no-mfa", Count: act.Attention.WithoutSecondFactor, Href: "/admin/members?nomfa=1",
			Label: plural(act.Attention.WithoutSecondFactor, "member", "members") + " without a second factor"})
	if h.IdPs != nil {
		n, href, err := h.expiringConnections(ctx, adm.OrgID)
		if err != nil {
			return nil, err
		}
		v.Attention = append(v.Attention, attentionItem{ID: "attention-certs", Count: n, Href: href,
			Label: plural(n, "connection", "connections") + " with a certificate expiring within 30 days"})
	}
	return v, nil
}

// certAttention is how far ahead an expiring IdP certificate is counted.
const certAttention = 30 * 24 * time.Hour

// expiringConnections counts the connections with a signing certificate
// that expires within certAttention (or has expired), and where to go:
// that connection's page when there is one, else the list.
func (h *Handler) expiringConnections(ctx context.Context, orgID string) (int, string, error) {
	cs, err := h.IdPs.List(ctx, orgID)
	if err != nil {
		return 0, "", fmt.Errorf("list connections: %w", err)
	}
	limit := h.now().Add(certAttention)
	n, href := 0, "/admin/sso"
	for _, c := range cs {
		certs, _ := idp.TrustedCertificates(c) // an unreadable one is warned about on its page
		for _, cert := range certs {
			if cert.NotAfter.Before(limit) {
				n++
				href = connHref(c)
				break
			}
		}
	}
	if n != 1 {
		href = "/admin/sso"
	}
	return n, href, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// buildChart lays out the bars: per day, the successes stacked by method
// and the failures beside them, on one scale whose top is the busiest
// day's larger count.
func buildChart(days []account.ActivityDay) activityChart {
	c := activityChart{
		Width:    int(chartLeft + chartSlot*float64(len(days)) + 4),
		Height:   int(chartTop + chartPlot + chartBottom),
		Baseline: chartTop + chartPlot,
	}
	for _, m := range account.ActivityMethods {
		c.Series = append(c.Series, activitySeries{Key: m, Label: activityLabels[m]})
	}
	c.Series = append(c.Series, activitySeries{Key: "failure", Label: "Failed"})
	top := 0
	total, failures := 0, 0
	for _, d := range days {
		top = max(top, d.Total(), d.Failures)
		total += d.Total()
		failures += d.Failures
	}
	top = niceCeiling(top)
	scale := chartPlot / float64(top)
	for _, v := range []int{0, top / 2, top} {
		c.Ticks = append(c.Ticks, chartTick{Y: c.Baseline - float64(v)*scale, Label: strconv.Itoa(v)})
	}
	for i, d := range days {
		x := chartLeft + float64(i)*chartSlot + 2
		day := d.Day.Format(time.DateOnly)
		y := c.Baseline
		for _, m := range account.ActivityMethods {
			n := d.Successes[m]
			if n == 0 {
				continue
			}
			hgt := float64(n) * scale
			y -= hgt
			c.Bars = append(c.Bars, chartBar{X: x, Y: y, W: chartBarW, H: hgt, Series: m, Day: day, Count: n,
				Label: fmt.Sprintf("%s: %d %s sign-%s", d.Day.Format("2 Jan"), n, activityLabels[m], plural(n, "in", "ins"))})
		}
		if d.Failures > 0 {
			hgt := float64(d.Failures) * scale
			c.Bars = append(c.Bars, chartBar{X: x + chartBarW + 1, Y: c.Baseline - hgt, W: chartFailW, H: hgt, Series: "failure",
				Day: day, Count: d.Failures, Label: fmt.Sprintf("%s: %d failed %s", d.Day.Format("2 Jan"), d.Failures, plural(d.Failures, "sign-in", "sign-ins"))})
		}
		// A label every week, and today's.
		if (len(days)-1-i)%7 == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + chartBarW/2, Label: d.Day.Format("2 Jan")})
		}
	}
	if len(days) > 0 {
		first, last := days[0].Day.Format("2 January"), days[len(days)-1].Day.Format("2 January 2006")
		c.Title = fmt.Sprintf("Sign-ins per day, %s to %s", first, last)
		c.Desc = fmt.Sprintf("%d successful sign-ins and %d failed ones over %d days, by method; the table below has each day's numbers.", total, failures, len(days))
	}
	return c
}

// niceCeiling rounds n up to a value whose half is a whole number that
// reads well on an axis (2, 4, 10, 20, 50, 100, …); at least 2.
func niceCeiling(n int) int {
	if n <= 2 {
		return 2
	}
	for step := 1; ; step *= 10 {
		for _, m := range []int{2, 4, 10} {
			if n <= m*step {
				return m * step
			}
		}
	}
}
