package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAdminTokens creates an API token in a real Chromium from the
// console's navigation, reads its secret once, and revokes it through the
// confirmation page, without any script.
func TestBrowserAdminTokens(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	e.setupOwner()
	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("tokens from the console navigation",
		chromedp.Navigate(e.srv.URL+"/admin"),
		chromedp.Click(css(`.admin-nav a[href="/admin/tokens"]`)),
		chromedp.WaitVisible(css("#token_name")),
	)
	b.do("create one",
		chromedp.SendKeys(css("#token_name"), "nightly export"),
		chromedp.Click(css("#scope-admin")),
		chromedp.SetValue(css("#token_expires"), "90"),
		chromedp.Click(css(`form[action="/admin/tokens"] button[type=submit]`)),
		chromedp.WaitVisible(css("#token-secret")),
	)
	b.ShotWidths("admin-token-created")
	secret := b.text("#token-secret")
	if !apiTokenSecretRE.MatchString(secret) {
		t.Fatalf("secret on the page = %q", secret)
	}
	if _, err := e.accounts.AuthenticateAPIToken(fromAddress("198.51.100.4"), secret); err != nil {
		t.Fatalf("the secret shown does not authenticate: %v", err)
	}
	b.do("the list, after a use",
		chromedp.Click(css(`.admin-nav a[href="/admin/tokens"]`)),
		chromedp.WaitVisible(css("#tokens")),
	)
	if s := b.text("#tokens"); !strings.Contains(s, "nightly export") || !strings.Contains(s, "198.51.100.4") || strings.Contains(s, "gh_") {
		t.Errorf("list = %q", s)
	}
	b.ShotWidths("admin-tokens")
	b.do("revoke it",
		chromedp.Click(css(`#tokens a.btn`)),
		chromedp.WaitVisible(css(`form.button-row button.btn-danger`)),
	)
	b.shot("admin-token-revoke-confirm")
	b.do("confirm",
		chromedp.Click(css(`form.button-row button.btn-danger`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "revoked") {
		t.Errorf("notice = %q", s)
	}
	if s := b.text("#tokens"); !strings.Contains(s, "Revoked") {
		t.Errorf("list after revoking = %q", s)
	}
	if _, err := e.accounts.AuthenticateAPIToken(fromAddress("198.51.100.4"), secret); err == nil {
		t.Error("the revoked token still authenticates")
	}
}

// TestBrowserOverviewChart reads the sign-in chart as Chromium renders
// it: the SVG is there with its title, and each bar's drawn height is its
// count, which is what was seeded into the database, on one scale.
func TestBrowserOverviewChart(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	org, _ := e.setupOwner()
	seeded := e.seedSignIns(org.ID)
	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("overview", chromedp.Navigate(e.srv.URL+"/admin"), chromedp.WaitVisible(css("#activity-chart")))
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify({
		title: document.querySelector('#activity-chart > title').textContent,
		role: document.querySelector('#activity-chart').getAttribute('role'),
		width: document.querySelector('#activity-chart').getBoundingClientRect().width,
		bars: [...document.querySelectorAll('#activity-chart rect.chart-bar')].map(r => ({
			day: r.dataset.day, series: r.dataset.series, count: +r.dataset.count,
			height: r.getBBox().height}))})`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Title, Role string
		Width       float64
		Bars        []struct {
			Day, Series string
			Count       int
			Height      float64
		}
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if got.Role != "img" || !strings.HasPrefix(got.Title, "Sign-ins per day") || got.Width < 300 {
		t.Errorf("chart: role %q, title %q, width %v", got.Role, got.Title, got.Width)
	}
	bars := map[string]map[string][2]float64{}
	for _, br := range got.Bars {
		if bars[br.Day] == nil {
			bars[br.Day] = map[string][2]float64{}
		}
		bars[br.Day][br.Series] = [2]float64{float64(br.Count), br.Height}
	}
	delete(bars, e.clock.Now().UTC().Format("2006-01-02")) // the owner's own sign-in
	checkBars(t, bars, seeded)
	b.ShotWidths("admin-overview-chart")
}
