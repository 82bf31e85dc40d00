package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAdminConsole sets single sign-on up the way an admin does, in
// a real Chromium and through the console only: sign in, add and verify
// the domain (TXT record on an in-process DNS server), add the development
// IdP by its metadata URL, run a test sign-in, enforce SSO on the default
// policy. Screenshots of every section go to $GATEHOUSE_SCREENSHOTS.
func TestBrowserAdminConsole(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	txt := startDNS(t)
	e := newEnv(t, func(o *envOptions) { o.dnsResolver = txt.Addr() })
	dev := e.startDevIdP()
	org, _ := e.setupOwner()
	e.factors.BreakGlassOwner(t, e.store, org.ID) // enforcing SSO needs one
	e.addMember(org.ID, "mia@acme.example", storage.RoleMember)

	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("open the console from the header", chromedp.Click(css(`.topbar-nav a[href="/admin"]`)), chromedp.WaitVisible(css(".stats")))
	if s := b.text("h1"); s != orgName {
		t.Errorf("overview heading = %q", s)
	}

	// 1. The domain.
	b.do("domains", chromedp.Click(css(`.admin-nav a[href="/admin/domains"]`)), chromedp.WaitVisible(css("#domain_name")))
	b.do("add the domain",
		chromedp.SendKeys(css("#domain_name"), corpDomain),
		chromedp.Click(css(`form[action="/admin/domains"] button`)),
		chromedp.WaitVisible(css(".record")),
	)
	value := b.text(`.record div:nth-child(3) code`)
	if !strings.HasPrefix(value, "gatehouse-verification=") {
		t.Fatalf("TXT value on the page = %q", value)
	}
	b.shot("admin-domain-pending")
	b.do("verify before publishing", chromedp.Click(css(`form[action$="/verify"] button`)), chromedp.WaitVisible(css("#form-error p")))
	if s := b.text("#form-error"); !strings.Contains(s, "No TXT record") {
		t.Errorf("refusal = %q", s)
	}
	txt.Add(corpDomain, value)
	b.do("verify", chromedp.Click(css(`form[action$="/verify"] button`)), chromedp.WaitVisible(css(".notice")))
	if s := b.text(".notice"); !strings.Contains(s, "verified") {
		t.Errorf("notice = %q", s)
	}
	b.do("domains list", chromedp.Click(css(`.admin-nav a[href="/admin/domains"]`)), chromedp.WaitVisible(css("table.data")))
	b.shot("admin-domains")

	// 2. The connection, by metadata URL.
	b.do("add a connection",
		chromedp.Click(css(`.admin-nav a[href="/admin/sso"]`)),
		chromedp.WaitVisible(css(`a[href="/admin/sso/new"]`)),
		chromedp.Click(css(`main a[href="/admin/sso/new"]`)),
		chromedp.WaitVisible(css("#metadata_url")),
	)
	b.shot("admin-sso-new")
	b.do("create it",
		chromedp.SendKeys(css("#name"), "Dev IdP"),
		chromedp.SendKeys(css("#metadata_url"), dev.MetadataURL()),
		chromedp.Click(css(`form[action="/admin/sso"] button[type=submit]`)),
		chromedp.WaitVisible(css("#give-heading")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "Connection added") {
		t.Errorf("notice = %q", s)
	}

	// Enforcing before any test sign-in is refused, with the override
	// offered, unticked.
	b.do("policies, too early", chromedp.Click(css(`.admin-nav a[href="/admin/policies"]`)), chromedp.WaitVisible(css("#sso-default-enforced")))
	b.do("enforce untested",
		chromedp.Click(css("#sso-default-enforced")),
		chromedp.SetValue(css("#connection-default"), "dev-idp"),
		chromedp.Click(css(`form[action="/admin/policies/default"] button`)),
		chromedp.WaitVisible(css(".check-force")),
	)
	if s := b.text(".policy .alert"); !strings.Contains(s, "Run a test sign-in through Dev IdP before enforcing SSO.") {
		t.Errorf("refusal = %q", s)
	}
	b.shot("admin-policies-refused")
	b.do("back to the connection", chromedp.Navigate(e.srv.URL+"/admin/sso/dev-idp"), chromedp.WaitVisible(css("#give-heading")))

	// 3. The test sign-in, from the connection page.
	b.do("run a test sign-in", chromedp.Click(css(`form[action="/saml/dev-idp/test"] button`)), chromedp.WaitVisible(css("#password")))
	b.do("sign in at the IdP",
		chromedp.SendKeys(css("#email"), erinEmail),
		chromedp.SendKeys(css("#password"), erinPassword),
		chromedp.Click(css("button[type=submit]")),
		chromedp.WaitVisible(css(`form[action$="/acs"] button`)),
		chromedp.Click(css(`form[action$="/acs"] button`)),
		chromedp.WaitVisible(css("#warnings-heading")),
	)
	if s := b.text("h1"); s != "Test sign-in succeeded" {
		t.Errorf("test page heading = %q", s)
	}
	b.do("back from the test", chromedp.Click(css(`main a[href="/admin/sso/dev-idp"]`)), chromedp.WaitVisible(css("#give-heading")))
	if s := b.text("h1"); !strings.Contains(s, "Tested") {
		t.Errorf("connection heading after the test = %q", s)
	}
	b.shot("admin-sso-detail")

	// 4. Enforce SSO on the default policy.
	b.do("policies", chromedp.Click(css(`.admin-nav a[href="/admin/policies"]`)), chromedp.WaitVisible(css(".policy")))
	b.do("enforce",
		chromedp.Click(css(`.policy input[value="enforced"]`)),
		chromedp.SetValue(css(".policy select"), "dev-idp"),
		chromedp.Click(css(`.policy form button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text(".notice"); s != "Policy saved." {
		t.Errorf("notice = %q", s)
	}
	// The default and the break-glass policy the set-up added.
	ps, err := e.policies.List(context.Background(), org.ID)
	if err != nil || len(ps) != 2 || ps[0].SSO != storage.SSOEnforced {
		t.Fatalf("policies = %+v, %v", ps, err)
	}
	b.shot("admin-policies")

	// The other sections, for the screenshots and a look at each.
	b.do("overview", chromedp.Click(css(`.admin-nav a[href="/admin"]`)), chromedp.WaitVisible(css(".stats")))
	if s := b.text("main"); !strings.Contains(s, "SSO enforced through Dev IdP") {
		t.Errorf("overview = %q", s)
	}
	b.shot("admin-overview")
	b.do("members", chromedp.Click(css(`.admin-nav a[href="/admin/members"]`)), chromedp.WaitVisible(css("#invite_email")))
	b.shot("admin-members")
	b.do("find a member", chromedp.SendKeys(css("#q"), "mia"), chromedp.Submit(css("#q")), chromedp.WaitVisible(css(`tbody th a`)))
	b.do("a member's page", chromedp.Click(css(`tbody th a`)), chromedp.WaitVisible(css("#role-heading")))
	b.shot("admin-member")
	b.do("remove confirmation", chromedp.Navigate(e.srv.URL+"/admin/sso/dev-idp/remove"), chromedp.WaitVisible(css(".card-narrow")))
	b.shot("admin-confirm")
	b.do("audit", chromedp.Click(css(`.admin-nav a[href="/admin/audit"]`)), chromedp.WaitVisible(css("table.data")))
	b.do("verify the chain", chromedp.Click(css(`a[href^="/admin/audit?verify=1"]`)), chromedp.WaitVisible(css(".callout-ok")))
	b.shot("admin-audit")
	b.do("connections", chromedp.Click(css(`.admin-nav a[href="/admin/sso"]`)), chromedp.WaitVisible(css("table.data")))
	b.shot("admin-sso")

	if b.shots != "" {
		phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		b.do("connection on a phone", phone, chromedp.Navigate(e.srv.URL+"/admin/sso/dev-idp"), chromedp.WaitVisible(css("#give-heading")))
		b.shot("admin-sso-detail-phone")
		b.do("members on a phone", chromedp.Navigate(e.srv.URL+"/admin/members"), chromedp.WaitVisible(css("#invite_email")))
		b.shot("admin-members-phone")
		b.do("audit on a phone", chromedp.Navigate(e.srv.URL+"/admin/audit"), chromedp.WaitVisible(css("table.data")))
		b.shot("admin-audit-phone")
		b.do("policies on a phone", chromedp.Navigate(e.srv.URL+"/admin/policies"), chromedp.WaitVisible(css(".policy")))
		b.shot("admin-policies-phone")
		dark := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			})
			return err
		})
		b.do("dark desktop", chromedp.EmulateViewport(1280, 900), dark, chromedp.Navigate(e.srv.URL+"/admin/sso/dev-idp"), chromedp.WaitVisible(css("#give-heading")))
		b.shot("admin-sso-detail-dark")
		b.do("dark overview", chromedp.Navigate(e.srv.URL+"/admin"), chromedp.WaitVisible(css(".stats")))
		b.shot("admin-overview-dark")
	}
}
