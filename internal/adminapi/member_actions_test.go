package adminapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// outboxWith counts the mails in the outbox to addr whose text has substr.
func (e *env) outboxWith(t *testing.T, addr, substr string) int {
	t.Helper()
	e.accounts.Wait()
	msgs, err := mail.ReadOutbox(e.outbox)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.To == addr && strings.Contains(m.Text, substr) {
			n++
		}
	}
	return n
}

// The member endpoints beside role and status: rename, delete, resend an
// invitation, send a reset link, list and remove SSO links. Each refuses a
// read token, another organization's token and (on owners) an admin token,
// writing nothing; the last owner is never deleted.
func TestAPIMemberActions(t *testing.T) {
	e := newEnv(t)
	mia := e.addMember(t, "mia@acme.test", storage.RoleMember)
	nia, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: "nia@acme.test", Invite: true})
	if err != nil {
		t.Fatal(err)
	}
	readSecret, _ := e.token("dashboard", storage.TokenScopeRead)
	adminSecret, _ := e.token("helpdesk", storage.TokenScopeAdmin)
	conn := e.addManualIdP(e.tokenA, "Corp IdP", "https://idp.corp.test", "https://idp.corp.test/sso")
	now := storage.Truncate(time.Now())
	if err := e.store.CreateSSOLink(e.ctx, storage.SSOLink{ConnectionID: conn.ID, Subject: "mia-at-idp", AccountID: mia.ID, CreatedAt: now, LastLoginAt: now}); err != nil {
		t.Fatal(err)
	}

	// Refusals, all before anything changes.
	before := e.auditCount()
	m := "/api/v1/members/" + mia.ID
	for _, c := range []struct{ method, path string }{
		{"PATCH", m}, {"DELETE", m}, {"POST", m + "/resend-invite"}, {"POST", m + "/send-reset"}, {"DELETE", m + "/sso-links/x"},
	} {
		var b []byte
		if c.method == "PATCH" {
			b = []byte(`{"display_name":"Hacked"}`)
		}
		if r := e.do(c.method, c.path, readSecret, b); r.status != 403 {
			t.Errorf("read token %s %s = %d %s", c.method, c.path, r.status, r.body)
		}
		if r := e.do(c.method, c.path, e.tokenB, b); r.status != 404 || r.errCode(t) != "not_found" {
			t.Errorf("org B's token %s %s = %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if r := e.do("GET", m+"/sso-links", e.tokenB, nil); r.status != 404 {
		t.Errorf("org B's token lists org A's links = %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/members/"+e.ownerA.ID, adminSecret, nil); r.status != 403 {
		t.Errorf("admin token deletes an owner = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/members/"+e.ownerA.ID, e.tokenA, nil); r.status != 409 || r.errCode(t) != "last_owner" {
		t.Errorf("delete the last owner = %d %s, want 409 last_owner", r.status, r.body)
	}
	if r := e.do("POST", m+"/resend-invite", e.tokenA, nil); r.status != 409 || r.errCode(t) != "not_invited" {
		t.Errorf("re-invite someone with a password = %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", m, e.tokenA, []byte(`{"display_name":"`+strings.Repeat("x", 101)+`"}`)); r.status != 400 {
		t.Errorf("too long a name = %d %s", r.status, r.body)
	}
	if n, denied := e.auditCount()-before, len(e.events(e.orgA.ID, "access.denied")); n > denied {
		t.Errorf("refusals wrote %d audit events besides access.denied", n-denied)
	}
	if a, _ := e.store.GetAccount(e.ctx, mia.ID); a.DisplayName != "" {
		t.Fatalf("a refusal renamed her: %q", a.DisplayName)
	}
	if _, err := e.store.GetAccount(e.ctx, e.ownerA.ID); err != nil {
		t.Fatal("the last owner is gone")
	}

	// Rename.
	r := e.do("PATCH", m, e.tokenA, []byte(`{"display_name":"Mia Martinez"}`))
	var got apiview.Member
	r.json(t, &got)
	if r.status != 200 || got.DisplayName != "Mia Martinez" {
		t.Errorf("rename = %d %s", r.status, r.body)
	}
	if evs := e.events(e.orgA.ID, "account.update"); len(evs) != 1 || evs[0].TargetID != mia.ID || evs[0].ActorType != "api_token" {
		t.Errorf("rename events: %+v", evs)
	}

	// Resend the invitation to the one who never signed in; reset link to Mia.
	if r := e.do("POST", "/api/v1/members/"+nia.ID+"/resend-invite", e.tokenA, nil); r.status != 204 {
		t.Errorf("resend = %d %s", r.status, r.body)
	}
	if n := e.outboxWith(t, "nia@acme.test", "invited"); n != 2 {
		t.Errorf("invitations mailed to nia: %d, want 2", n)
	}
	if r := e.do("POST", m+"/send-reset", e.tokenA, []byte(`{}`)); r.status != 204 {
		t.Errorf("send reset = %d %s", r.status, r.body)
	}
	if n := e.outboxWith(t, "mia@acme.test", "reset the password"); n != 1 {
		t.Errorf("reset mails to mia: %d", n)
	}
	if evs := e.events(e.orgA.ID, "password_reset.send"); len(evs) != 1 || evs[0].TargetID != mia.ID {
		t.Errorf("reset events: %+v", evs)
	}

	// SSO links: listed with their IDs, removed by ID.
	r = e.do("GET", m+"/sso-links", adminSecret, nil)
	var links struct {
		SSOLinks []apiview.SSOLink `json:"sso_links"`
	}
	r.json(t, &links)
	if r.status != 200 || len(links.SSOLinks) != 1 || links.SSOLinks[0].Subject != "mia-at-idp" || links.SSOLinks[0].ConnectionName != "Corp IdP" {
		t.Fatalf("links = %d %s", r.status, r.body)
	}
	link := m + "/sso-links/" + links.SSOLinks[0].ID
	if r := e.do("DELETE", "/api/v1/members/"+nia.ID+"/sso-links/"+links.SSOLinks[0].ID, e.tokenA, nil); r.status != 404 {
		t.Errorf("another member's link = %d", r.status)
	}
	if r := e.do("DELETE", link, adminSecret, nil); r.status != 204 {
		t.Errorf("unlink = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", link, adminSecret, nil); r.status != 404 {
		t.Errorf("unlink twice = %d", r.status)
	}
	if evs := e.events(e.orgA.ID, "account.sso_unlink"); len(evs) != 1 || evs[0].Details["subject"] != "mia-at-idp" {
		t.Errorf("unlink events: %+v", evs)
	}

	// Delete: her session ends with her account.
	tok, _, err := e.sessions.Start(e.ctx, session.StartParams{Account: mia, Method: "password", IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("DELETE", m, adminSecret, nil); r.status != 204 {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	if _, err := e.sessions.Validate(e.ctx, tok); err == nil {
		t.Error("the deleted member's session still works")
	}
	if r := e.do("GET", m, e.tokenA, nil); r.status != 404 {
		t.Errorf("GET the deleted member = %d", r.status)
	}
	evs := e.events(e.orgA.ID, "account.delete")
	if len(evs) != 1 || evs[0].TargetID != mia.ID || evs[0].Details["email"] != "mia@acme.test" || evs[0].Details["sessions_revoked"] != "1" {
		t.Errorf("delete events: %+v", evs)
	}
	if r := e.do("DELETE", m, adminSecret, nil); r.status != 404 {
		t.Errorf("delete twice = %d", r.status)
	}
}

// Deleting the only owner who could sign in without the IdP is refused by
// the lockout check, naming them, unless a force reason is given; the
// forced deletion records it.
func TestAPIDeleteMemberLockout(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"second@acme.test","role":"owner"}`)); r.status != 201 {
		t.Fatalf("add second owner = %d %s", r.status, r.body)
	}
	before := e.auditCount()
	r := e.do("DELETE", "/api/v1/members/"+e.ownerA.ID, e.tokenA, nil)
	if r.status != 409 || r.errCode(t) != "lockout" || !strings.Contains(string(r.body), e.ownerA.Email) {
		t.Fatalf("delete the only owner with a password = %d %s, want 409 lockout", r.status, r.body)
	}
	if e.auditCount() != before {
		t.Error("the refused deletion wrote to the audit log")
	}
	if r := e.do("DELETE", "/api/v1/members/"+e.ownerA.ID+"?force_reason=second+owner+sets+a+password+today", e.tokenA, nil); r.status != 204 {
		t.Fatalf("forced delete = %d %s", r.status, r.body)
	}
	evs := e.events(e.orgA.ID, "account.delete")
	if len(evs) != 1 || evs[0].Details["forced"] != "true" || evs[0].Details["force_reason"] != "second owner sets a password today" {
		t.Errorf("forced delete events: %+v", evs)
	}
}
