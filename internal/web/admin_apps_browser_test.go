package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAdminApps registers an app in a real Chromium, from the
// console's navigation to the page that shows its secret once, and removes
// it through the confirmation page (no script involved).
func TestBrowserAdminApps(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	e.setupOwner()
	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("apps from the console navigation",
		chromedp.Navigate(e.srv.URL+"/admin"),
		chromedp.Click(css(`.admin-nav a[href="/admin/apps"]`)),
		chromedp.WaitVisible(css(`main a[href="/admin/apps/new"]`)),
		chromedp.Click(css(`main a[href="/admin/apps/new"]`)),
		chromedp.WaitVisible(css("#redirect_uris")),
	)
	b.ShotWidths("admin-app-new")
	b.do("register it",
		chromedp.SendKeys(css("#name"), "Grafana"),
		chromedp.SendKeys(css("#redirect_uris"), "https://grafana.example.com/login/generic_oauth"),
		chromedp.Click(css("#scope-groups")),
		chromedp.Click(css(`form[action="/admin/apps"] button[type=submit]`)),
		chromedp.WaitVisible(css("#client-secret")),
	)
	b.ShotWidths("admin-app-created")
	if s := b.text("#client-secret"); !strings.HasPrefix(s, "ghs_") {
		t.Fatalf("secret on the page = %q", s)
	}
	clientID := b.text("#client-id")
	b.do("back to the list", chromedp.Click(css(`.admin-nav a[href="/admin/apps"]`)), chromedp.WaitVisible(css("table.data")))
	if s := b.text("table.data"); !strings.Contains(s, "Grafana") || !strings.Contains(s, clientID) || strings.Contains(s, "ghs_") {
		t.Errorf("list = %q", s)
	}
	b.ShotWidths("admin-apps")
	b.do("remove it",
		chromedp.Click(css(`table.data a.btn`)),
		chromedp.WaitVisible(css(`a.btn-danger`)),
	)
	b.ShotWidths("admin-app")
	b.do("remove it, confirmed",
		chromedp.Click(css(`a.btn-danger`)),
		chromedp.WaitVisible(css(`form.button-row button.btn-danger`)),
		chromedp.Click(css(`form.button-row button.btn-danger`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "removed") {
		t.Errorf("notice = %q", s)
	}
}
