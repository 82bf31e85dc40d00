package devapp_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserSignInToAnApp is a person in Chromium signing in to an app
// through Gatehouse: the app sends them to Gatehouse's sign-in page, they
// type their email and password, and they land back in the app signed in
// (the form post's redirects cross from Gatehouse to the app, which a
// browser holds to the page's Content-Security-Policy). A second app sign-in
// needs no page at all; signing out of the app ends the Gatehouse session.
func TestBrowserSignInToAnApp(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	p := startPair(t)
	deadline, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			where, _ := chromedp.Run(ctx, chromedp.Location())
			text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nat %s:\n%s", step, err, where, text)
		}
		if shots != "" {
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "devapp-"+strings.ReplaceAll(step, " ", "-")+".png"), png, 0o644)
			}
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	here := func() (string, string) {
		t.Helper()
		where, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.Text(css("main")))
		return where, text
	}
	do("app", chromedp.Navigate(p.AppURL+"/"), chromedp.Click(css(`a.button`)), chromedp.WaitVisible(css(`#email`)))
	do("email", chromedp.SendKeys(css(`#email`), email), chromedp.Submit(css(`#email`)), chromedp.WaitVisible(css(`#password`)))
	do("password", chromedp.SendKeys(css(`#password`), password), chromedp.Submit(css(`#password`)),
		chromedp.WaitVisible(css(`#claims`)))
	where, text := here()
	if !strings.HasPrefix(where, p.AppURL) || !strings.Contains(text, email) || !strings.Contains(text, "Grace Hopper") {
		t.Fatalf("after signing in the browser is at %s showing:\n%s", where, text)
	}

	// Sign out of the app only (forget its cookie), then sign in again:
	// Gatehouse knows the browser, so no page asks anything.
	do("forget the app's session", chromedp.Navigate(p.AppURL+"/"), chromedp.Click(css(`#forget`)),
		chromedp.WaitVisible(css(`a.button`)))
	do("sign in again", chromedp.Click(css(`a.button`)), chromedp.WaitVisible(css(`#claims`)))
	if where, _ = here(); !strings.HasPrefix(where, p.AppURL) {
		t.Fatalf("a second app sign-in went to %s", where)
	}

	do("sign out", chromedp.Click(css(`#signout`)), chromedp.WaitVisible(css(`a.button`)))
	do("gatehouse after sign-out", chromedp.Navigate(p.Issuer+"/account"), chromedp.WaitVisible(css(`#email`)))
}
