package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// startDNS starts an in-process DNS server (internal/devdns) on
// 127.0.0.1 that answers TXT queries from records the test adds: domain
// verification goes through the resolver path it uses in production.
func startDNS(t *testing.T) *devdns.Server {
	t.Helper()
	s, err := devdns.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestBrowserSSO signs in through the development IdP in a real Chromium:
// Gatehouse and the IdP on two servers on 127.0.0.1, the organization's
// domain verified by DNS (an in-process DNS server), the IdP connection
// created from the IdP's metadata URL. It goes through the choice page
// (SSO optional), the enforced hand-off from the email step, an
// IdP-initiated sign-in, a refused response and an admin's test sign-in.
func TestBrowserSSO(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	txt := startDNS(t)
	e := newEnv(t, func(o *envOptions) { o.dnsResolver = txt.Addr() })
	dev := e.startDevIdP()
	org, _ := e.setupOwner()

	// The organization proves it owns corp.example: the TXT record the
	// domain service asks for, published on the DNS server it asks.
	ctx := adminCtx(org.ID)
	d, err := e.domains.Add(ctx, org.ID, corpDomain)
	if err != nil {
		t.Fatal(err)
	}
	txt.Add(e.domains.RecordName(d), e.domains.TXTRecord(d))
	if d, err = e.domains.Verify(ctx, org.ID, d.ID); err != nil || d.VerifiedAt.IsZero() {
		t.Fatalf("verify %s: %v", corpDomain, err)
	}
	conn := e.connect(org.ID, dev, nil)
	e.setSSO(org.ID, storage.SSOOptional, conn)

	b := newBrowser(t, chromium)
	css := b.css
	signedInViaSSO := func(step string) {
		t.Helper()
		b.do(step, chromedp.WaitVisible(css(".profile")))
		if p := b.path(); p != "/account" {
			t.Fatalf("%s: at %s, want /account", step, p)
		}
		if s := b.text(".sessions"); !strings.Contains(s, "Single sign-on (Dev IdP)") {
			t.Errorf("%s: sessions list = %q", step, s)
		}
		if n := b.text(".profile"); !strings.Contains(n, erinEmail) || !strings.Contains(n, "Erin Example") {
			t.Errorf("%s: profile = %q", step, n)
		}
	}
	signInAtIdP := func(step string) {
		t.Helper()
		b.do(step+": IdP sign-in page", chromedp.WaitVisible(css("#password")))
		if u := b.location(); u.Host != strings.TrimPrefix(dev.srv.URL, "http://") {
			t.Fatalf("%s: at %s, not at the IdP", step, u)
		}
		b.do(step+": sign in at the IdP",
			chromedp.SendKeys(css("#email"), erinEmail),
			chromedp.SendKeys(css("#password"), erinPassword),
			chromedp.Click(css("button[type=submit]")),
			// The IdP's page that posts the response; no script there, so
			// the person presses Continue.
			chromedp.WaitVisible(css(`form[action$="/acs"] button`)),
			chromedp.Click(css(`form[action$="/acs"] button`)),
		)
	}
	signOut := func() {
		t.Helper()
		b.do("sign out", chromedp.Click(css(".topbar-signout button")), chromedp.WaitVisible(css(".notice")))
	}

	// 1. SSO optional: the choice page, then SSO.
	b.do("open login", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")))
	b.do("email step (optional SSO)",
		chromedp.SendKeys(css("#email"), erinEmail),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css(`a[href^="/login/sso?flow="]`)),
	)
	if s := b.text(`a[href^="/login/sso?flow="]`); s != "Continue with Dev IdP SSO" {
		t.Errorf("SSO button = %q", s)
	}
	if s := b.text("main form button[type=submit]"); s != "Sign in with password" {
		t.Errorf("password button = %q", s)
	}
	b.shot("sso-choice")
	b.do("continue with SSO", chromedp.Click(css(`a[href^="/login/sso?flow="]`)))
	signInAtIdP("choice")
	signedInViaSSO("after the choice page")
	signOut()

	// 2. SSO enforced: the email step goes straight to the IdP.
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	b.do("open login again", chromedp.Navigate(e.srv.URL+"/login?return_to="+url.QueryEscape("/account?via=sso")), chromedp.WaitVisible(css("#email")))
	b.do("email step (enforced SSO)",
		chromedp.SendKeys(css("#email"), erinEmail),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css("#password")),
	)
	b.shot("devidp-login")
	signInAtIdP("enforced")
	signedInViaSSO("after enforced SSO")
	if q := b.location().RawQuery; q != "via=sso" {
		t.Errorf("landed with query %q, want the return_to's via=sso", q)
	}
	b.shot("account-sso")
	signOut()

	// 3. IdP-initiated, once the connection allows it.
	allow := true
	if _, err := e.idps.Update(ctx, org.ID, conn.ID, idp.UpdateInput{AllowIdPInitiated: &allow}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"sp": {e.idps.ACSURL(conn)}, "audience": {e.idps.SPEntityID(conn)}, "RelayState": {"https://evil.example/"}}
	b.do("IdP portal", chromedp.Navigate(dev.srv.URL+"/idp-initiated?"+q.Encode()))
	signInAtIdP("IdP-initiated")
	signedInViaSSO("after IdP-initiated sign-in")
	signOut()

	// 4. A response Gatehouse refuses: signed for another SP.
	q.Set("audience", "https://other-sp.example/saml")
	q.Del("RelayState")
	b.do("IdP portal, wrong audience", chromedp.Navigate(dev.srv.URL+"/idp-initiated?"+q.Encode()))
	signInAtIdP("wrong audience")
	b.do("rejection page", chromedp.WaitVisible(css(".status-code")))
	if s := b.text("main"); !strings.Contains(s, "reason: audience_mismatch") || !strings.Contains(s, "send this code to your admin") {
		t.Errorf("rejection page = %q", s)
	}
	b.shot("sso-rejected")
	b.do("try again", chromedp.Click(css(`main a[href="/login"]`)), chromedp.WaitVisible(css("#email")))

	// 5. The owner (acme.example is not SSO-managed) runs a test sign-in.
	b.do("owner signs in",
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), ownerPassword),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css(".profile")),
	)
	b.do("start test sign-in",
		chromedp.Navigate(e.srv.URL+"/admin/sso/"+conn.Slug),
		chromedp.Click(css(`form[action="/saml/`+conn.Slug+`/test"] button`)),
	)
	signInAtIdP("test")
	b.do("test result", chromedp.WaitVisible(css("#warnings-heading")))
	if s := b.text("h1"); s != "Test sign-in succeeded" {
		t.Errorf("test page heading = %q", s)
	}
	b.shot("sso-test")
	if c, err := e.store.GetIdPConnection(context.Background(), conn.ID); err != nil || c.TestedAt.IsZero() {
		t.Errorf("connection not marked tested: %v", err)
	}
}
