package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TestSSOPeopleAreNotToldToUseTheirPassword: a person whose policy
// enforces SSO is invited, and resets, without ever being told to "sign in
// with your new password": the mail and the pages say they sign in through
// SSO and what the password is for.
func TestSSOPeopleAreNotToldToUseTheirPassword(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	if _, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{
		Email: erinEmail, DisplayName: "Erin", Invite: true,
	}); err != nil {
		t.Fatal(err)
	}
	msgs := e.mails()
	invite := msgs[len(msgs)-1]
	if !strings.Contains(invite.Text, "through your organization's single sign-on") ||
		strings.Contains(invite.Text, "choose your password and sign in") {
		t.Fatalf("invitation text:\n%s", invite.Text)
	}
	c := e.client()
	link := linkIn(t, invite.Text)
	page := c.get(pathOf(t, link))
	expect(t, page, http.StatusOK, "Set your password", "not used while it works")
	r := c.post("/reset", url.Values{"token": {tokenOf(t, link)}, "invite": {"1"}, "password": {newPassword}, "confirm": {newPassword}})
	expect(t, r, http.StatusOK, "Password set", "single sign-on, as before", "for when single sign-on is unavailable")
	if strings.Contains(text(r.body), "Sign in with it now") || strings.Contains(text(r.body), "Sign in with your new password") {
		t.Errorf("told to sign in with the password:\n%s", text(r.body))
	}

	// A reset mail says the same.
	expect(t, c.post("/forgot", url.Values{"email": {erinEmail}}), http.StatusOK)
	msgs = e.mails()
	if reset := msgs[len(msgs)-1]; !strings.Contains(reset.Text, "through your organization's single sign-on") {
		t.Errorf("reset text:\n%s", reset.Text)
	}
}
