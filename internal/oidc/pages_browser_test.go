package oidc_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
	"github.com/gatehouse-id/gatehouse/internal/testenv/browsertest"
)

// appName has characters HTML must escape: the pages show it as text.
const appName = "Team Wiki & <Docs>"

// relyingParty is a tiny app on loopback that the browser ends at: its
// callback and signed-out pages say where the browser arrived.
func relyingParty(t *testing.T) *httptest.Server {
	t.Helper()
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/callback":
			fmt.Fprintf(w, `<!doctype html><title>App</title><p id="rp-done">code=%s state=%s</p>`,
				url.QueryEscape(r.URL.Query().Get("code")), url.QueryEscape(r.URL.Query().Get("state")))
		case "/bye":
			fmt.Fprint(w, `<!doctype html><title>App</title><p id="rp-bye">signed out of the app</p>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(rp.Close)
	return rp
}

// registerAt registers appName with rp's callback and signed-out pages.
func (g *gatehouse) registerAt(rp string) storage.App {
	g.t.Helper()
	a, _, err := g.App.Apps.Create(g.Admin, g.org.ID, apps.Input{Name: appName,
		RedirectURIs: []string{rp + "/callback"}, PostLogoutRedirectURIs: []string{rp + "/bye"}, Scopes: []string{"email"}})
	if err != nil {
		g.t.Fatalf("register %s: %v", appName, err)
	}
	return a
}

func authorizeURL(g *gatehouse, clientID, redirect string) string {
	return g.URL + "/oidc/authorize?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirect},
		"response_type": {"code"}, "scope": {"openid email"}, "state": {"st4te"}}.Encode()
}

// TestAppSignInPagesInBrowser signs in to an app in a real Chromium: every
// sign-in step names the app (escaped, as text), the second factor
// included, and the browser ends at the app with a code. Then the app asks
// for a sign-out without an ID token: the confirmation page names the
// organization and the app and signs out only when confirmed. Last, a
// sign-in request with a redirect URI the app never registered stops on
// an error page at Gatehouse. Screenshots at desktop and phone widths go
// to $GATEHOUSE_SCREENSHOTS.
func TestAppSignInPagesInBrowser(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	g := start(t)
	rp := relyingParty(t)
	app := g.registerAt(rp.URL)
	acct, err := g.App.Store.GetAccountByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	// Ada's policy asks for a second factor.
	required := storage.MFARequired
	if _, err := g.App.Policies.CreateWith(g.Admin, g.org.ID, policy.CreateInput{Name: "Two-step", SSO: storage.SSOOff,
		Settings: policy.Settings{MFA: &required}}); err != nil {
		t.Fatal(err)
	}
	if err := g.App.Policies.SetMember(g.Admin, g.org.ID, email, "Two-step"); err != nil {
		t.Fatal(err)
	}
	_, recovery := mfatest.EnrolTOTP(t, g.App.MFA, acct, g.App.Now())

	b := browsertest.New(t, chromium)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	wantApp := func(step string) {
		t.Helper()
		if got := b.Text("main .lede"); !strings.Contains(got, "to continue to "+appName) {
			t.Errorf("%s: the page says %q, want it to name %q", step, got, appName)
		}
	}

	// 1. The app sends the browser to Gatehouse: the email step names it.
	b.Do("open the app's sign-in", chromedp.Navigate(authorizeURL(g, app.ClientID, rp.URL+"/callback")), chromedp.WaitVisible(css("#email")))
	if b.Path() != "/login" {
		t.Fatalf("the app's sign-in opened %s", b.Location())
	}
	wantApp("email step")
	if h := b.Text("main h1"); h != "Sign in" {
		t.Errorf("email step heading %q", h)
	}
	b.ShotWidths("app-signin-email")

	// 2. The password step.
	b.Do("email", chromedp.SendKeys(css("#email"), email), chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("#password")))
	wantApp("password step")
	b.ShotWidths("app-signin-password")

	// 3. The second factor, with a recovery code.
	b.Do("password", chromedp.SendKeys(css("#password"), password), chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("#code")))
	wantApp("second-factor step")
	b.ShotWidths("app-signin-mfa")
	b.Do("use a recovery code", chromedp.Click(css(`a[href*="kind=recovery"]`)), chromedp.WaitReady(css(`input[name=kind][value=recovery]`)))
	wantApp("recovery-code step")
	b.Do("recovery code", chromedp.SendKeys(css("#code"), recovery[0]), chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("#rp-done")))
	if got := b.Text("#rp-done"); !strings.Contains(got, "state=st4te") || strings.Contains(got, "code= ") {
		t.Fatalf("the app got %q", got)
	}

	// 4. The app asks to sign out without an ID token: Gatehouse asks.
	end := g.URL + "/oidc/end_session?" + url.Values{"client_id": {app.ClientID},
		"post_logout_redirect_uri": {rp.URL + "/bye"}, "state": {"bye"}}.Encode()
	b.Do("the app's sign-out", chromedp.Navigate(end), chromedp.WaitVisible(css("main form button[type=submit]")))
	if h := b.Text("main h1"); h != "Sign out of Corp?" {
		t.Errorf("sign-out heading %q", h)
	}
	if got := b.Text("main .lede"); got != appName+" asked to sign you out." {
		t.Errorf("sign-out page says %q", got)
	}
	if got := b.Text("main .identity"); !strings.Contains(got, email) {
		t.Errorf("sign-out page does not say who is signed in: %q", got)
	}
	cancel, err := chromedp.Run(b.Ctx, chromedp.AttributeValue(css("main a.btn-secondary"), "href"))
	if err != nil || cancel.Value != rp.URL+"/bye?state=bye" {
		t.Errorf("Cancel goes to %q (%v)", cancel.Value, err)
	}
	if got := b.Text("main a.btn-secondary"); got != "Cancel" {
		t.Errorf("Cancel reads %q", got)
	}
	b.ShotWidths("app-signout-confirm")
	b.Do("confirm sign-out", chromedp.Click(css("main form button[type=submit]")), chromedp.WaitVisible(css("#rp-bye")))
	b.Do("account after sign-out", chromedp.Navigate(g.URL+"/account"), chromedp.WaitVisible(css("#email")))
	if b.Path() != "/login" {
		t.Errorf("after confirming, /account shows %s: still signed in", b.Location())
	}

	// 5. A redirect URI the app never registered: an error page here,
	// never a redirect there.
	bad := authorizeURL(g, app.ClientID, "https://evil.example/callback")
	status, loc, _ := g.browser().do(http.MethodGet, bad, nil)
	if status != http.StatusBadRequest || loc != "" {
		t.Fatalf("unregistered redirect URI: %d → %q", status, loc)
	}
	b.Do("unregistered redirect URI", chromedp.Navigate(bad), chromedp.WaitVisible(css(".status-code")))
	if u := b.Location(); u.Host != strings.TrimPrefix(g.URL, "http://") || u.Path != "/oidc/authorize" {
		t.Fatalf("the browser left for %s", u)
	}
	if h := b.Text("main h1"); h != appName+" can't sign you in" {
		t.Errorf("error heading %q", h)
	}
	if got := b.Text("main"); !strings.Contains(got, "isn't registered for it") || strings.Contains(got, "evil.example") ||
		strings.Contains(got, "redirect_uri") {
		t.Errorf("error page says %q", got)
	}
	b.ShotWidths("app-error-redirect-uri")
}
