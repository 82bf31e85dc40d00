package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAdminMemberPage opens a member's page in a real Chromium from
// the members list, reads their last sign-in and policy, suspends them
// through the confirmation page and deletes them through its own (no
// script involved). With GATEHOUSE_SCREENSHOTS set, the page and both
// confirmations are shot at desktop and phone widths.
func TestBrowserAdminMemberPage(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	org, _ := e.setupOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	if _, err := e.policies.EnsureDefault(adminCtx(org.ID), org.ID); err != nil {
		t.Fatal(err)
	}
	mc := e.client()
	mc.ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	mc.signIn(mia.Email, memberPassword)

	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("the member's page from the list",
		chromedp.Navigate(e.srv.URL+"/admin/members?q=mia%40acme.example"),
		chromedp.Click(css(`tbody th[scope=row] a`)),
		chromedp.WaitVisible(css("#last-sign-in")),
	)
	if s := b.text("#last-sign-in"); !strings.Contains(s, "Password") || !strings.Contains(s, "Safari on macOS") || !strings.Contains(s, "127.0.0.1") {
		t.Errorf("last sign-in = %q", s)
	}
	if s := b.text("#policy"); !strings.Contains(s, "Default") || !strings.Contains(s, "No other policy names them") {
		t.Errorf("policy = %q", s)
	}
	b.ShotWidths("admin-member")

	b.do("suspend: the confirmation page",
		chromedp.Click(css(`a.btn-danger[href$="/suspend"]`)),
		chromedp.WaitVisible(css("ul.consequences")),
	)
	if s := b.text("main"); !strings.Contains(s, "Suspend this member?") || !strings.Contains(s, "signed out everywhere") {
		t.Errorf("suspend confirmation = %q", s)
	}
	b.ShotWidths("admin-member-suspend")
	b.do("suspend",
		chromedp.Click(css(`form.button-row button.btn-danger`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "suspended") {
		t.Errorf("notice = %q", s)
	}
	eventually(t, "the suspended member is signed out", func() bool { return mc.get("/account").status == 303 })

	b.do("delete: the confirmation page",
		chromedp.Click(css(`a.btn-danger[href$="/delete"]`)),
		chromedp.WaitVisible(css("ul.consequences")),
	)
	if s := b.text("main"); !strings.Contains(s, "cannot be undone") {
		t.Errorf("delete confirmation = %q", s)
	}
	b.ShotWidths("admin-member-delete")
	b.do("delete",
		chromedp.Click(css(`form.button-row button.btn-danger`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "deleted") || b.path() != "/admin/members" {
		t.Errorf("after deleting: %s, notice %q", b.path(), s)
	}
	if s := b.text("main"); strings.Contains(s, "mia@acme.example") {
		t.Error("the deleted member is still listed")
	}
}
