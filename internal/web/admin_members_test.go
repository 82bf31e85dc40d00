package web_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

func TestAdminMembers(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	ctx := context.Background()

	expect(t, c.get("/admin/members"), http.StatusOK, "Olivia Owner", ownerEmail, "Owner", "Active", "You")

	// Invite: bad input is refused on its field and writes nothing.
	before := e.auditCount()
	r := c.post("/admin/members", url.Values{"email": {"not-an-email"}, "display_name": {"Nia"}, "role": {"member"}, "invite": {"on"}})
	expect(t, r, http.StatusBadRequest, "There is a problem")
	if !strings.Contains(r.body, `id="invite_email"`) || !strings.Contains(r.body, `value="Nia"`) {
		t.Error("the refused form lost its values")
	}
	expect(t, c.post("/admin/members", url.Values{"email": {"nia@acme.example"}, "role": {"superuser"}}), http.StatusBadRequest, "The role must be")
	expect(t, c.post("/admin/members", url.Values{"email": {ownerEmail}, "role": {"member"}}), http.StatusConflict, "already has an account")
	if n := e.auditCount(); n != before {
		t.Errorf("refused invitations wrote %d audit events", n-before)
	}

	// Invited: the account exists and the invitation is mailed.
	expectRedirect(t, c.post("/admin/members", url.Values{"email": {"Nia@Acme.example"}, "display_name": {"Nia Newcomer"}, "role": {"admin"}, "invite": {"on"}}),
		"/admin/members?notice=invited")
	nia, err := e.accounts.GetMember(ctx, org.ID, "nia@acme.example")
	if err != nil || nia.Role != storage.RoleAdmin || nia.DisplayName != "Nia Newcomer" {
		t.Fatalf("invited account = %+v, %v", nia, err)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.create" || ev.ActorID != owner.ID || ev.Details["invited"] != "true" {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	msgs := e.mails()
	if len(msgs) == 0 || msgs[len(msgs)-1].To != "nia@acme.example" || !strings.Contains(msgs[len(msgs)-1].Text, "/reset?") {
		t.Errorf("no invitation mailed: %+v", msgs)
	}
	expect(t, c.get("/admin/members"), http.StatusOK, "Nia Newcomer", "Admin", "Invited", "Never")

	// Roles: the last owner cannot step down; with a second owner it can.
	r = c.post("/admin/members/"+owner.ID+"/role", url.Values{"role": {"admin"}})
	expect(t, r, http.StatusConflict, "An organization must keep at least one owner.")
	if a, _ := e.store.GetAccount(ctx, owner.ID); a.Role != storage.RoleOwner {
		t.Errorf("the last owner became %s", a.Role)
	}
	expectRedirect(t, c.post("/admin/members/"+nia.ID+"/role", url.Values{"role": {"owner"}}), "/admin/members/"+nia.ID+"?notice=role-changed")
	if ev := e.lastAudit(org.ID); ev.Action != "account.role_change" || ev.ActorID != owner.ID || ev.Details["to"] != "owner" {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expect(t, c.post("/admin/members/"+nia.ID+"/role", url.Values{"role": {"root"}}), http.StatusBadRequest, "The role must be")

	// Suspend ends their sessions at once; reactivate lets them back.
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	mc := e.client()
	mc.signIn(mia.Email, memberPassword)
	expect(t, c.get("/admin/members/"+mia.ID), http.StatusOK, "mia@acme.example", "1 signed in", "Suspend")
	expectRedirect(t, c.post("/admin/members/"+mia.ID+"/status", url.Values{"status": {"suspended"}}), "/admin/members/"+mia.ID+"?notice=suspended")
	eventually(t, "the suspended member is signed out", func() bool { return mc.get("/account").status == http.StatusSeeOther })
	expect(t, c.get("/admin/members/"+mia.ID), http.StatusOK, "Suspended", "Reactivate")
	if ev := e.lastAudit(org.ID); ev.Action != "account.suspend" || ev.ActorID != owner.ID {
		t.Errorf("audit: %s by %s", ev.Action, ev.ActorID)
	}
	expect(t, c.post("/admin/members/"+mia.ID+"/status", url.Values{"status": {"deleted"}}), http.StatusBadRequest, "The status must be")
	expectRedirect(t, c.post("/admin/members/"+mia.ID+"/status", url.Values{"status": {"active"}}), "/admin/members/"+mia.ID+"?notice=reactivated")

	// Sign out everywhere.
	mc.signIn(mia.Email, memberPassword)
	expectRedirect(t, c.post("/admin/members/"+mia.ID+"/revoke-sessions", nil), "/admin/members/"+mia.ID+"?notice=sessions-revoked")
	eventually(t, "the member is signed out", func() bool { return mc.get("/account").status == http.StatusSeeOther })
	if ev := e.lastAudit(org.ID); ev.Action != "session.revoke_all" || ev.ActorID != owner.ID || ev.Details["sessions_revoked"] != "1" {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expect(t, c.get("/admin/members/no-such-id"), http.StatusNotFound)
}

func TestAdminSSOLinkedMember(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
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
	r := c.get("/admin/members")
	expect(t, r, http.StatusOK, "Erin Example", "SSO")
	expect(t, c.get("/admin/members?method=sso"), http.StatusOK, "Erin Example")
	if r := c.get("/admin/members?method=sso"); strings.Contains(r.body, ownerEmail) {
		t.Error("the SSO filter lists the owner, who signs in with a password")
	}
	expect(t, c.get("/admin/members/"+erin.ID), http.StatusOK, "Linked to an IdP account", "Not set")
}

func TestAdminOverview(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	dev := e.startDevIdP()
	expect(t, c.get("/admin"), http.StatusOK, orgName, "1 member", "0 verified domains", "0 SSO connections", "SSO off")
	e.verifyDomain(org.ID, corpDomain)
	if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "pending.example"); err != nil {
		t.Fatal(err)
	}
	e.connect(org.ID, dev, func(in *idp.CreateInput) { in.AllowSHA1 = true })
	r := c.get("/admin")
	expect(t, r, http.StatusOK, "1 verified domain, 1 waiting for DNS", "1 SSO connection",
		"Needs your attention", "Dev IdP : SHA-1 signatures are accepted", "Not tested yet: Dev IdP")
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", pattern, text(s))
	}
	return html.UnescapeString(m[1])
}

// tamperAudit rewrites ev's actor in the database behind the store's back.
func tamperAudit(t *testing.T, e *env, ev storage.AuditEvent) {
	t.Helper()
	db, ok := e.store.(interface{ DB() *sql.DB })
	if !ok {
		testenv.Missing(t, "direct database access", "the store gives no access to its database")
	}
	if _, err := db.DB().Exec(`UPDATE audit_events SET actor_email = 'someone-else@acme.example' WHERE org_id = $1 AND seq = $2`, ev.OrgID, ev.Seq); err != nil {
		t.Fatal(err)
	}
}
