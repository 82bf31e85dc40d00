package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// registeredPasskeys stands in for the WebAuthn service on the pages: it
// has one passkey per account and issues request options, but verifies
// nothing (no assertion is posted in this test).
type registeredPasskeys struct{}

func (registeredPasskeys) Count(context.Context, string) (int, int, error) { return 1, 1, nil }
func (registeredPasskeys) BeginLogin(context.Context, string) ([]byte, string, error) {
	return []byte(`{"publicKey":{"challenge":"AAAA","userVerification":"required"}}`), "ch", nil
}

// TestBrowserMFAAndEmergencyPages: in Chromium, the second-factor page
// takes a code and signs in; during an emergency the sign-in page shows
// the banner and the four ways, the passkey button made visible by
// login-passkey.js. Screenshots go to $GATEHOUSE_SCREENSHOTS.
func TestBrowserMFAAndEmergencyPages(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t, func(o *envOptions) {
		o.passkeys = registeredPasskeys{}
		o.finishPasskey = func(context.Context, string, []byte) (string, error) { return "", context.Canceled }
	})
	org, ann := e.strictMember("ann@" + corpDomain)
	secret, _ := e.enrolTOTP(ann)
	b := newBrowser(t, chromium)
	do, css := b.do, b.css
	submit := css("main form:not([hidden]) button[type=submit]")

	do("email", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), ann.Email), chromedp.Click(submit), chromedp.WaitVisible(css("#password")))
	do("password", chromedp.SendKeys(css("#password"), newPassword), chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css("#code")))
	if !strings.Contains(b.text("main"), "Confirm it's you") {
		t.Fatalf("MFA page: %s", b.text("main"))
	}
	do("passkey button", chromedp.WaitVisible(css("#passkey-form button")))
	b.shot("login-mfa")
	// The next page has no code field: waiting for it to go is waiting
	// for the navigation (the current page's h1 would match at once).
	do("code", chromedp.SendKeys(css("#code"), e.totpCode(secret)), chromedp.Submit(css("#code")),
		chromedp.WaitNotPresent(css("#code")), chromedp.WaitVisible(css("h1")))
	if b.path() != "/account" {
		t.Fatalf("after the code: at %s", b.path())
	}

	// The emergency page, for an address under enforced SSO.
	dev := e.startDevIdP()
	conn := e.connect(org.ID, dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	e.startEmergency(org.ID, "IdP down", e.clock.Now().Add(4*time.Hour))
	b2 := newBrowser(t, chromium)
	b2.do("email", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), "kim@"+corpDomain), chromedp.Submit(css("#email")),
		chromedp.WaitVisible(css("#password")), chromedp.WaitVisible(css("#passkey-form button")))
	text := b2.text("main")
	for _, want := range []string{"Single sign-on is unavailable.", "has turned on emergency sign-in until", "Use your passkey",
		"Sign in with password", "Set or reset your password", "Try Dev IdP SSO"} {
		if !strings.Contains(text, want) {
			t.Errorf("the emergency page lacks %q:\n%s", want, text)
		}
	}
	b2.shot("login-emergency")
}
