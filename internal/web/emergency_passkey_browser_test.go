package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// addVirtualAuthenticator gives the tab Chromium's virtual authenticator
// (DevTools WebAuthn domain): a platform authenticator that keeps
// discoverable credentials and verifies the user, without a prompt. It
// belongs to the tab, not to the cookies: clearing cookies keeps it.
func addVirtualAuthenticator(ctx context.Context, tg *chromedp.Target) error {
	if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return err
	}
	_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true, // no omitempty: false would leave every ceremony waiting
		},
	})
	return err
}

// clearCookies signs the browser out of everything (Gatehouse and the
// IdP) while the tab, and so its authenticator, stays.
func clearCookies(ctx context.Context, tg *chromedp.Target) error {
	_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
	return err
}

// startDevIdPOnLocalhost is startDevIdP at http://localhost:PORT: with
// Gatehouse on localhost too (for WebAuthn), the IdP's form post to the
// ACS stays same-site, so the plain-http SameSite=Lax binding cookie goes
// with it (an IdP on 127.0.0.1 would be cross-site and refused).
func (e *env) startDevIdPOnLocalhost() *devIdP {
	e.t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	dev, err := devidp.New(devidp.Config{
		BaseURL: "http://localhost:" + strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port),
		Users: []devidp.User{{Email: erinEmail, Password: erinPassword, GivenName: "Erin", Surname: "Example",
			Groups: []string{"staff", "admins"}}},
		Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ts.Config.Handler = dev.Handler()
	ts.Start()
	e.t.Cleanup(ts.Close)
	return &devIdP{IdP: dev, srv: ts}
}

// TestBrowserEmergencyPasskey is issue #7's browser test of failback: in a
// real Chromium, erin signs in through SSO (the dev IdP's form), adds an
// emergency passkey on /account with the virtual authenticator; while SSO
// works the passkey does not sign her in; the IdP goes down, an admin
// declares an emergency, and "Use your passkey" on the emergency page signs
// her in without any mail, with a session marked hwk + emergency.
//
// The time from the emergency's start to the session cookie in Chromium is
// logged (not asserted) for docs/BENCHMARKS.md.
func TestBrowserEmergencyPasskey(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t, func(o *envOptions) { o.localhost = true })
	if e.passkeys == nil {
		t.Fatalf("no passkey service for %s", e.publicURL)
	}
	dev := e.startDevIdPOnLocalhost()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)

	b := newBrowser(t, chromium)
	css := b.css
	submit := css("main button[type=submit]")
	idpHost := "localhost:" + strconv.Itoa(dev.srv.Listener.Addr().(*net.TCPAddr).Port)
	emailStep := func(step string, waitFor string) {
		t.Helper()
		b.do(step,
			chromedp.Navigate(e.publicURL+"/login"),
			chromedp.WaitVisible(css("#email")),
			chromedp.SendKeys(css("#email"), erinEmail),
			chromedp.Click(submit),
			chromedp.WaitVisible(css(waitFor)),
		)
	}
	b.do("virtual authenticator", chromedp.Func(addVirtualAuthenticator))

	// 1. While SSO works: erin signs in at the IdP and adds an emergency passkey.
	emailStep("email step (SSO enforced)", "#password")
	if u := b.location(); u.Host != idpHost {
		t.Fatalf("the email step led to %s, not to the IdP", u)
	}
	b.do("sign in at the IdP",
		chromedp.SendKeys(css("#email"), erinEmail),
		chromedp.SendKeys(css("#password"), erinPassword),
		chromedp.Click(css("button[type=submit]")),
		chromedp.WaitVisible(css(`form[action$="/acs"] button`)),
		chromedp.Click(css(`form[action$="/acs"] button`)),
		chromedp.WaitVisible(css(".profile")),
	)
	b.do("open the passkey section", chromedp.Navigate(e.publicURL+"/account"), chromedp.WaitVisible(css("#passkey-add")))
	b.do("add an emergency passkey",
		chromedp.SendKeys(css("#passkey_name"), "Work laptop"),
		chromedp.Click(css("#passkey_emergency")),
		chromedp.Click(css("#passkey-add button[type=submit]")),
		chromedp.WaitVisible(css(".passkey-name")),
	)
	if s := b.text(".passkey"); !strings.Contains(s, "Work laptop") || !strings.Contains(s, "Emergency sign-in") {
		t.Fatalf("listed passkey = %q", s)
	}
	erin, err := e.store.GetAccountByEmail(context.Background(), erinEmail)
	if err != nil {
		t.Fatal(err)
	}
	if total, emergency, err := e.passkeys.Count(context.Background(), erin.ID); err != nil || total != 1 || emergency != 1 {
		t.Fatalf("stored passkeys: %d (%d emergency), %v", total, emergency, err)
	}

	// 2. Before any emergency the passkey is no way in: the email step
	// goes straight to the IdP, with no passkey offered on the way.
	b.do("sign out (clear cookies)", chromedp.Func(clearCookies))
	emailStep("email step before the emergency", "#password")
	if u := b.location(); u.Host != idpHost {
		t.Fatalf("before the emergency the email step led to %s, not to the IdP", u)
	}

	// Even posted by hand, in a sign-in flow of its own (as login-passkey.js
	// would on the emergency page), the passkey is refused.
	if got := b.passkeyOutsideTheForm(e.publicURL, erinEmail); got != http.StatusUnauthorized {
		t.Errorf("a passkey sign-in before the emergency answered %d, want 401", got)
	}
	if c := sessionCookieIn(t, b, e); c != "" {
		t.Fatal("the passkey signed erin in while SSO works")
	}

	// 3. The IdP goes down; the same tab (same authenticator) has no cookies.
	dev.srv.Close()
	b.do("clear cookies", chromedp.Func(clearCookies))

	// 4. An admin declares an emergency; erin uses her passkey.
	until := e.clock.Now().Add(4 * time.Hour)
	started := time.Now()
	em := e.startEmergency(org.ID, "IdP down", until)
	emailStep("email step during the emergency", "#passkey-form button")
	if s := b.text(".callout-warning"); !strings.Contains(s, "Single sign-on is unavailable.") ||
		!strings.Contains(s, "Corp has turned on emergency sign-in until "+until.UTC().Format("15:04 UTC on 2 January")) {
		t.Errorf("emergency banner = %q", s)
	}
	if s := b.text("#passkey-form button"); s != "Use your passkey" {
		t.Errorf("passkey button = %q", s)
	}
	// The passkey button comes first: the password field does not take the focus.
	if focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`)); err != nil || focused == "password" {
		t.Errorf("focused element %q, %v: want the passkey button first, not the password", focused, err)
	}
	b.shot("login-emergency")
	b.do("use the passkey", chromedp.Click(css("#passkey-form button")), chromedp.WaitVisible(css(".profile")))
	var cookie string
	for cookie == "" {
		if cookie = sessionCookieIn(t, b, e); cookie == "" && b.deadline.Err() != nil {
			t.Fatal("no session cookie in Chromium")
		}
	}
	t.Logf("emergency start to session cookie in Chromium: %v", time.Since(started).Round(time.Millisecond))
	b.shot("account-after-emergency-passkey")
	if p := b.path(); p != "/account" {
		t.Errorf("after the passkey: at %s, want /account", p)
	}
	if s := b.text(".profile"); !strings.Contains(s, erinEmail) {
		t.Errorf("profile = %q", s)
	}
	v, err := e.sessions.Validate(context.Background(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Methods(); !slices.Contains(m, "hwk") || !slices.Contains(m, "emergency") || v.Session.EmergencyID != em.ID || v.Session.AccountID != erin.ID {
		t.Errorf("session: methods %q, emergency %q (want %q), account %q (want %q)", m, v.Session.EmergencyID, em.ID, v.Session.AccountID, erin.ID)
	}
	// The hand-made post refused before the emergency is no artifact of the
	// test: during it, the same post signs erin in (a redirect, which
	// fetch's redirect: "manual" shows as status 0).
	b.do("clear cookies again", chromedp.Func(clearCookies))
	if got := b.passkeyOutsideTheForm(e.publicURL, erinEmail); got != 0 || sessionCookieIn(t, b, e) == "" {
		t.Errorf("the hand-made passkey post during the emergency answered %d, want a redirect with a session", got)
	}
}

// sessionCookieIn is Gatehouse's session cookie in Chromium, or "".
func sessionCookieIn(t *testing.T, b *browser, e *env) string {
	t.Helper()
	cookies, err := chromedp.Run(b.ctx, chromedp.Action[network.GetCookiesResult](func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{e.publicURL}})
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == e.sessions.CookieName() {
			return c.Value
		}
	}
	return ""
}

// passkeyOutsideTheForm does by hand, from a Gatehouse page, what
// login-passkey.js does on the emergency page: the email step for email
// (its answer names the flow, in the link on to SSO), the options, the
// authenticator's answer, the post to /login/passkey. It returns the
// post's HTTP status.
func (b *browser) passkeyOutsideTheForm(publicURL, email string) int {
	b.t.Helper()
	b.do("open a Gatehouse page", chromedp.Navigate(publicURL+"/login"), chromedp.WaitVisible(b.css("#email")))
	var status int
	b.do("post a passkey by hand", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		status, err = chromedp.Evaluate[int](`(async (email) => {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
  const csrf = document.querySelector("input[name=csrf_token]").value;
  const step = await (await fetch("/login", {method: "POST", body: new URLSearchParams({csrf_token: csrf, email: email})})).text();
  const m = step.match(/flow=([A-Za-z0-9_-]{43})/);
  if (!m) { return -1; }
  const form = () => new URLSearchParams({csrf_token: csrf, flow: m[1]});
  const res = await fetch("/login/passkey/options", {method: "POST", body: form()});
  if (!res.ok) { return res.status; }
  const begun = await res.json();
  const pk = begun.options.publicKey;
  pk.challenge = unb64(pk.challenge);
  const cred = await navigator.credentials.get({publicKey: pk});
  const r = cred.response;
  const body = form();
  body.set("challenge", begun.challenge);
  body.set("assertion", JSON.stringify({id: cred.id, rawId: b64(cred.rawId), type: cred.type, response: {
    authenticatorData: b64(r.authenticatorData), clientDataJSON: b64(r.clientDataJSON), signature: b64(r.signature),
    userHandle: r.userHandle ? b64(r.userHandle) : null}}));
  return (await fetch("/login/passkey", {method: "POST", body: body, redirect: "manual"})).status;
})(`+strconv.Quote(email)+`)`, chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	return status
}
