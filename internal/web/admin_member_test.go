package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TestAdminMemberPageShowsSignInPolicyAndActivity: the page says when, how
// and from where they last signed in, which policy applies and why, their
// live sessions and what the audit log says about them, newest first.
func TestAdminMemberPageShowsSignInPolicyAndActivity(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	href := "/admin/members/" + mia.ID

	r := c.get(href)
	expect(t, r, http.StatusOK, "Last sign-in", "Never", "not signed in anywhere", "has not set up policies yet")
	if _, err := e.policies.EnsureDefault(adminCtx(org.ID), org.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, c.get(href), http.StatusOK, "Default", "No other policy names them")

	mc := e.client()
	mc.ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	mc.signIn(mia.Email, memberPassword)
	r = c.get(href)
	expect(t, r, http.StatusOK, "Password", "127.0.0.1", "Firefox on Linux", "1 signed in", "login.success")
	if !strings.Contains(r.body, `<time datetime="`) {
		t.Error("times are not <time datetime> elements")
	}
	if !strings.Contains(r.body, `id="last-sign-in"`) || strings.Contains(between(r.body, `id="last-sign-in"`, "</dd>"), "Never") {
		t.Error("the last sign-in is not shown")
	}

	// Explicitly named in a policy: the page says so.
	p, err := e.policies.Create(adminCtx(org.ID), org.ID, "Contractors", storage.SSOOff, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.policies.SetMember(adminCtx(org.ID), org.ID, mia.Email, p.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, c.get(href), http.StatusOK, "Contractors", "They are named as a member of this policy.")

	// Edit the name; a refused name stays in the form with its error.
	expectRedirect(t, c.post(href+"/name", url.Values{"display_name": {"Mia Martinez"}}), href+"?notice=name-changed")
	if a, _ := e.store.GetAccount(context.Background(), mia.ID); a.DisplayName != "Mia Martinez" {
		t.Errorf("name = %q", a.DisplayName)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.update" || ev.ActorID != owner.ID || ev.TargetID != mia.ID {
		t.Errorf("audit: %s by %s on %s", ev.Action, ev.ActorID, ev.TargetID)
	}
	long := strings.Repeat("n", 101)
	r = c.post(href+"/name", url.Values{"display_name": {long}})
	expect(t, r, http.StatusBadRequest, "There is a problem")
	if !strings.Contains(r.body, `value="`+long+`"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Error("the refused name is not kept in the form with its error")
	}

	// Newest first: the name change comes before the sign-in.
	r = c.get(href)
	activity := between(r.body, `id="activity-heading"`, "</section>")
	if i, j := strings.Index(activity, "account.update"), strings.Index(activity, "login.success"); i < 0 || j < 0 || i > j {
		t.Errorf("recent activity is not newest first:\n%s", text(activity))
	}
	if !strings.Contains(r.body, `href="/admin/audit?actor=mia%40acme.example"`) {
		t.Error("no link to the audit log filtered on the member")
	}

	// Sign out one session: theirs ends, the audit log says who did it.
	sid := between(r.body, href+"/sessions/", "/revoke")
	if sid == "" {
		t.Fatal("no session to sign out on the page")
	}
	expectRedirect(t, c.post(href+"/sessions/"+sid+"/revoke", nil), href+"?notice=session-revoked")
	eventually(t, "the member is signed out", func() bool { return mc.get("/account").status == http.StatusSeeOther })
	if ev := e.lastAudit(org.ID); ev.Action != "session.revoke" || ev.ActorID != owner.ID || ev.Details["session_id"] != sid {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expect(t, c.post(href+"/sessions/"+sid+"/revoke", nil), http.StatusNotFound, "That session has already ended.")
	// Someone else's session is not theirs to end through this page.
	own := c.get("/admin/members/" + owner.ID)
	ownSID := between(own.body, "/admin/members/"+owner.ID+"/sessions/", "/revoke")
	expect(t, c.post(href+"/sessions/"+ownSID+"/revoke", nil), http.StatusNotFound)
	if c.get("/account").status != http.StatusOK {
		t.Error("the owner's session ended through another member's page")
	}
}

// TestAdminMemberInvitationAndReset: an invitation is resent only to
// someone who never signed in; a reset link goes out like "Forgot
// password" would send it. Each is audited with the admin as actor.
func TestAdminMemberInvitationAndReset(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	nia, err := e.accounts.AddMember(adminCtx(org.ID), org.ID, account.MemberInput{Email: "nia@acme.example", Invite: true})
	if err != nil {
		t.Fatal(err)
	}
	e.accounts.Wait()
	first := linkIn(t, e.mails()[len(e.mails())-1].Text)
	href := "/admin/members/" + nia.ID
	expect(t, c.get(href), http.StatusOK, "Invited", "Resend invitation")

	expectRedirect(t, c.post(href+"/resend-invite", nil), href+"?notice=invite-resent")
	e.accounts.Wait()
	msg := e.mails()[len(e.mails())-1]
	if msg.To != "nia@acme.example" || !strings.Contains(msg.Subject, "invited") || linkIn(t, msg.Text) == first {
		t.Errorf("resent invitation: %+v", msg)
	}
	if _, err := e.accounts.CheckResetToken(context.Background(), tokenOf(t, first)); err == nil {
		t.Error("the first invitation still works after a resend")
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.invite_resend" || ev.ActorID != owner.ID || ev.TargetID != nia.ID {
		t.Errorf("audit: %s by %s on %s", ev.Action, ev.ActorID, ev.TargetID)
	}

	// Someone who has signed in gets no invitation: a reset link instead.
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	mref := "/admin/members/" + mia.ID
	if r := c.get(mref); strings.Contains(r.body, "Resend invitation") {
		t.Error("the page offers to re-invite someone who has a password")
	}
	before := e.auditCount()
	expect(t, c.post(mref+"/resend-invite", nil), http.StatusConflict, "already signed in or set a password")
	if e.auditCount() != before {
		t.Error("a refused resend wrote to the audit log")
	}
	n := len(e.mails())
	expectRedirect(t, c.post(mref+"/send-reset", nil), mref+"?notice=reset-sent")
	e.accounts.Wait()
	msgs := e.mails()
	if len(msgs) != n+1 || msgs[n].To != mia.Email || !strings.HasPrefix(msgs[n].Subject, "Reset your") {
		t.Fatalf("reset mail: %+v", msgs[n:])
	}
	if _, err := e.accounts.CheckResetToken(context.Background(), tokenOf(t, linkIn(t, msgs[n].Text))); err != nil {
		t.Errorf("the mailed reset link does not work: %v", err)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "password_reset.send" || ev.ActorID != owner.ID || ev.TargetID != mia.ID {
		t.Errorf("audit: %s by %s on %s", ev.Action, ev.ActorID, ev.TargetID)
	}

	// Suspended: neither mail goes out.
	if _, err := e.accounts.SetStatus(adminCtx(org.ID), org.ID, mia.ID, storage.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	expect(t, c.post(mref+"/send-reset", nil), http.StatusConflict, "The account is suspended")
}

// TestAdminMemberSuspendAndDeleteConfirm: both are a page of their own that
// says what will happen; deleting ends the sessions and removes the account.
func TestAdminMemberSuspendAndDeleteConfirm(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	href := "/admin/members/" + mia.ID
	page := c.get(href)
	if !strings.Contains(page.body, `href="`+href+`/suspend"`) || !strings.Contains(page.body, `href="`+href+`/delete"`) {
		t.Error("suspend and delete do not lead to their confirmation pages")
	}
	r := c.get(href + "/suspend")
	expect(t, r, http.StatusOK, "Suspend this member?", "signed out everywhere", "until an admin reactivates them")
	if !strings.Contains(r.body, `action="`+href+`/status"`) || !strings.Contains(r.body, `name="status" value="suspended"`) {
		t.Error("the suspend confirmation does not post the suspension")
	}
	expect(t, c.get(href+"/delete"), http.StatusOK, "Delete this member?", "cannot be undone", "Their sessions end", "audit log keeps")
	// Confirmation pages change nothing.
	if a, _ := e.store.GetAccount(context.Background(), mia.ID); a.Status != storage.StatusActive {
		t.Error("opening the confirmation page suspended them")
	}

	mc := e.client()
	mc.signIn(mia.Email, memberPassword)
	expectRedirect(t, c.post(href+"/delete", nil), "/admin/members?notice=member-deleted")
	eventually(t, "the deleted member is signed out", func() bool { return mc.get("/account").status == http.StatusSeeOther })
	if _, err := e.store.GetAccount(context.Background(), mia.ID); err == nil {
		t.Error("the account still exists")
	}
	ev := e.lastAudit(org.ID)
	if ev.Action != "account.delete" || ev.ActorID != owner.ID || ev.TargetID != mia.ID || ev.Details["email"] != mia.Email || ev.Details["sessions_revoked"] != "1" {
		t.Errorf("audit: %s by %s on %s %v", ev.Action, ev.ActorID, ev.TargetID, ev.Details)
	}
	expect(t, c.get(href), http.StatusNotFound)
	expect(t, c.get("/admin/members?notice=member-deleted"), http.StatusOK, "The member was deleted.")

	// Nobody deletes themselves, and the page does not offer it.
	if r := c.get("/admin/members/" + owner.ID); strings.Contains(r.body, "/delete\"") {
		t.Error("the owner's own page offers to delete them")
	}
	expect(t, c.post("/admin/members/"+owner.ID+"/delete", nil), http.StatusConflict, "delete your own account")
}

// TestAdminMemberRefusals: an admin cannot delete or change an owner; a
// member gets 403 from every member-page action; another organization's
// member is not found; nothing refused is written.
func TestAdminMemberRefusals(t *testing.T) {
	e := newEnv(t)
	org, owner := e.setupOwner()
	e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)

	ac := e.client()
	ac.signIn("ada@acme.example", memberPassword)
	oref := "/admin/members/" + owner.ID
	before := e.auditCount()
	for _, p := range []string{"/delete", "/name", "/send-reset"} {
		expect(t, ac.post(oref+p, url.Values{"display_name": {"Renamed"}}), http.StatusForbidden)
	}
	if a, err := e.store.GetAccount(context.Background(), owner.ID); err != nil || a.DisplayName == "Renamed" {
		t.Errorf("an admin changed the owner: %+v %v", a, err)
	}
	if n := e.auditCount() - before; n != 3 || len(e.deniedEvents(org.ID)) < 3 {
		t.Errorf("refusals wrote %d events, want the 3 access.denied", n)
	}

	// Without the CSRF token nothing happens, even for an admin.
	aref := "/admin/members/" + mia.ID
	before = e.auditCount()
	for _, p := range []string{"/delete", "/name", "/send-reset", "/resend-invite", "/sessions/x/revoke", "/sso-links/x/unlink"} {
		if r := ac.post(aref+p, url.Values{httpserver.CSRFField: {"forged-token-forged-token-forged-token-xxx"}, "display_name": {"Forged"}}); r.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged token: %d", p, r.status)
		}
	}
	if e.auditCount() != before {
		t.Error("forged POSTs wrote to the audit log")
	}
	if _, err := e.store.GetAccount(context.Background(), mia.ID); err != nil {
		t.Fatal("a forged POST deleted the member")
	}

	mc := e.client()
	mc.signIn(mia.Email, memberPassword)
	mref := "/admin/members/" + mia.ID
	for _, p := range []string{"", "/suspend", "/delete"} {
		expect(t, mc.get(mref+p), http.StatusForbidden, "Only your organization's owners and admins")
	}
	for _, p := range []string{"/delete", "/name", "/send-reset", "/resend-invite", "/sessions/x/revoke", "/sso-links/x/unlink"} {
		expect(t, mc.post(mref+p, url.Values{"display_name": {"Hacked"}}), http.StatusForbidden)
	}
	if a, _ := e.store.GetAccount(context.Background(), mia.ID); a.DisplayName == "Hacked" {
		t.Error("a member renamed themselves through the console")
	}

	// Another organization's member: 404 on every page and action.
	ctxB := adminCtx("beta")
	orgB, err := e.accounts.CreateOrganization(ctxB, "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	bob := e.addMember(orgB.ID, "bob@beta.example", storage.RoleMember)
	bc := e.client()
	bc.signIn(bob.Email, memberPassword)
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	bref := "/admin/members/" + bob.ID
	for _, p := range []string{"", "/suspend", "/delete", "/sso-links/x/unlink"} {
		r := c.get(bref + p)
		expect(t, r, http.StatusNotFound)
		if strings.Contains(r.body, "bob@beta.example") {
			t.Errorf("GET %s shows the other organization's member", p)
		}
	}
	before = e.auditCount()
	for _, p := range []string{"/delete", "/name", "/send-reset", "/resend-invite", "/sessions/x/revoke", "/sso-links/x/unlink"} {
		expect(t, c.post(bref+p, url.Values{"display_name": {"Hijacked"}}), http.StatusNotFound)
	}
	if e.auditCount() != before {
		t.Error("cross-organization attempts wrote to the audit log")
	}
	if a, err := e.store.GetAccount(context.Background(), bob.ID); err != nil || a.DisplayName == "Hijacked" {
		t.Errorf("the other organization's member changed: %+v %v", a, err)
	}
	if bc.get("/account").status != http.StatusOK {
		t.Error("the other organization's member was signed out")
	}
}

// TestAdminMemberUnlinkSSO: the page shows the connection and the IdP
// subject; unlinking is confirmed, audited, and the next SSO sign-in links
// again.
func TestAdminMemberUnlinkSSO(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	ec := e.client()
	idpURL := ec.startSSO(erinEmail, "")
	expectRedirect(t, ec.postACS(dev.signInAtIdP(t, idpURL, erinEmail, erinPassword), dev.srv.URL), "/")
	erin, err := e.accounts.GetMember(context.Background(), org.ID, erinEmail)
	if err != nil {
		t.Fatal(err)
	}
	links, err := e.store.ListAccountSSOLinks(context.Background(), erin.ID)
	if err != nil || len(links) != 1 {
		t.Fatalf("links = %v, %v", links, err)
	}
	href := "/admin/members/" + erin.ID
	r := c.get(href)
	expect(t, r, http.StatusOK, conn.Name, links[0].Subject, "Unlink", "Single sign-on")
	unlink := between(r.body, `href="`+href+`/sso-links/`, `"`)
	if unlink == "" {
		t.Fatal("no unlink link")
	}
	unlink = href + "/sso-links/" + unlink
	expect(t, c.get(unlink), http.StatusOK, "Remove this SSO link?", links[0].Subject, "links the IdP account again")
	expect(t, c.get(href+"/sso-links/0000/unlink"), http.StatusNotFound)
	expectRedirect(t, c.post(unlink, nil), href+"?notice=sso-unlinked")
	if got, _ := e.store.ListAccountSSOLinks(context.Background(), erin.ID); len(got) != 0 {
		t.Errorf("links after unlink: %v", got)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.sso_unlink" || ev.ActorID != owner.ID || ev.Details["subject"] != links[0].Subject {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expect(t, c.post(unlink, nil), http.StatusNotFound)
	expect(t, c.get(href), http.StatusOK, "Not linked to an account at your identity provider")
}

// between returns the text of s after the first from and before the next to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, to)
	return out
}
