package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// memberPassword passes the account service's rules.
const memberPassword = "amber-falcon-orchard-19"

// signedInOwner sets up the organization and signs its owner in.
func (e *env) signedInOwner() (storage.Organization, storage.Account, *client) {
	e.t.Helper()
	org, owner := e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	return org, owner, c
}

// addMember adds a person with a password to org, in role.
func (e *env) addMember(orgID, email string, role storage.Role) storage.Account {
	e.t.Helper()
	a, err := e.accounts.AddMember(adminCtx(orgID), orgID, account.MemberInput{
		Email: email, DisplayName: strings.Split(email, "@")[0], Role: role, Password: memberPassword,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// lastAudit returns org's newest audit event.
func (e *env) lastAudit(orgID string) storage.AuditEvent {
	e.t.Helper()
	var last storage.AuditEvent
	var after int64
	for {
		evs, err := e.store.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID, AfterSeq: after, Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(evs) == 0 {
			return last
		}
		last, after = evs[len(evs)-1], evs[len(evs)-1].Seq
	}
}

// expectRedirect fails unless r is a 303 to a path starting with prefix,
// and returns the location.
func expectRedirect(t *testing.T, r response, prefix string) string {
	t.Helper()
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), prefix) {
		t.Fatalf("status %d to %q, want 303 to %s…; page text:\n%s", r.status, r.location(), prefix, text(r.body))
	}
	return r.location()
}

// adminPages are the console's GET pages that exist without any record.
var adminPages = []string{"/admin", "/admin/domains", "/admin/sso", "/admin/sso/new", "/admin/policies", "/admin/members", "/admin/audit", "/admin/audit/export", "/admin/apps", "/admin/apps/new"}

func TestAdminAnonymousGoesToSignIn(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	for _, p := range adminPages {
		r := c.get(p)
		want := "/login?return_to=" + url.QueryEscape(p)
		if r.status != http.StatusSeeOther || r.location() != want {
			t.Errorf("GET %s: %d to %q, want 303 to %s", p, r.status, r.location(), want)
		}
	}
	before := e.auditCount()
	if r := c.post("/admin/domains", url.Values{"name": {"corp.example"}}); r.status != http.StatusSeeOther || r.location() != "/login?notice=session-ended" {
		t.Errorf("anonymous POST: %d to %q, want 303 to /login?notice=session-ended", r.status, r.location())
	}
	if n := e.auditCount(); n != before {
		t.Errorf("anonymous POST wrote %d audit events", n-before)
	}
}

func TestAdminMembersAreForbidden(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	c := e.client()
	c.signIn("mia@acme.example", memberPassword)
	for _, p := range adminPages {
		expect(t, c.get(p), http.StatusForbidden, "Only your organization's owners and admins")
	}
	before, deniedBefore := e.auditCount(), len(e.deniedEvents(org.ID))
	expect(t, c.post("/admin/domains", url.Values{"name": {"corp.example"}}), http.StatusForbidden)
	expect(t, c.post("/admin/members", url.Values{"email": {"x@acme.example"}, "role": {"owner"}}), http.StatusForbidden)
	// Only the refusals themselves are recorded (access.denied).
	if n, denied := e.auditCount()-before, len(e.deniedEvents(org.ID))-deniedBefore; n != denied || denied != 2 {
		t.Errorf("a member's POSTs wrote %d audit events, %d of them access.denied; want only 2 access.denied", n, denied)
	}
	// The account page has no admin link for them.
	if r := c.get("/account"); strings.Contains(r.body, `href="/admin"`) {
		t.Error("a member's account page links to the admin console")
	}
}

func TestAdminLinkAndDemotionTakeEffectAtOnce(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	adm := e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	c := e.client()
	c.signIn("ada@acme.example", memberPassword)
	if r := c.get("/account"); !strings.Contains(r.body, `href="/admin"`) {
		t.Error("an admin's account page does not link to the admin console")
	}
	expect(t, c.get("/admin"), http.StatusOK, orgName, "Admin console")
	// Demoted: the console is closed on the next request, cached session or not.
	if _, err := e.accounts.SetRole(adminCtx(org.ID), org.ID, adm.ID, storage.RoleMember); err != nil {
		t.Fatal(err)
	}
	expect(t, c.get("/admin"), http.StatusForbidden)
}

// TestAdminCSRF sends every console POST without the CSRF token: each is
// refused with 403 and writes nothing.
func TestAdminCSRF(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	dev := e.startDevIdP()
	d := e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil)
	p, err := e.policies.Create(adminCtx(org.ID), org.ID, "Break glass", storage.SSOOff, "")
	if err != nil {
		t.Fatal(err)
	}
	posts := []string{
		"/admin/domains", "/admin/domains/" + d.ID + "/verify", "/admin/domains/" + d.ID + "/remove",
		"/admin/sso", "/admin/sso/" + conn.Slug + "/settings", "/admin/sso/" + conn.Slug + "/certificates",
		"/admin/sso/" + conn.Slug + "/certificates/remove", "/admin/sso/" + conn.Slug + "/refresh", "/admin/sso/" + conn.Slug + "/remove",
		"/admin/policies", "/admin/policies/" + p.ID, "/admin/policies/" + p.ID + "/members",
		"/admin/policies/" + p.ID + "/members/remove", "/admin/policies/" + p.ID + "/delete",
		"/admin/members", "/admin/members/" + owner.ID + "/role", "/admin/members/" + owner.ID + "/status",
		"/admin/members/" + owner.ID + "/revoke-sessions",
	}
	before := e.auditCount()
	for _, path := range posts {
		for _, token := range []string{"", "forged-token-forged-token-forged-token-xxx"} {
			r := c.post(path, url.Values{httpserver.CSRFField: {token}, "name": {"x.example"}, "email": {ownerEmail},
				"role": {"member"}, "status": {"suspended"}, "sso": {"off"}})
			if r.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d, want 403", path, token, r.status)
			}
		}
	}
	if n := e.auditCount(); n != before {
		t.Errorf("refused POSTs wrote %d audit events", n-before)
	}
	if c.get("/account").status != http.StatusOK {
		t.Error("the owner was signed out by a forged request")
	}
}

// TestAdminCrossOrganization: an admin of one organization can neither see
// nor change another organization's domain, connection, policy or member,
// by ID or by slug; every attempt is 404 and writes nothing.
func TestAdminCrossOrganization(t *testing.T) {
	e := newEnv(t)
	orgA, _, c := e.signedInOwner()
	dev := e.startDevIdP()
	e.connect(orgA.ID, dev, nil) // A has one too: lookups must not fall back to it

	ctxB := adminCtx("beta")
	orgB, err := e.accounts.CreateOrganization(ctxB, "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	bob := e.addMember(orgB.ID, "bob@beta.example", storage.RoleOwner)
	dB, err := e.domains.Add(ctxB, orgB.ID, "beta.example")
	if err != nil {
		t.Fatal(err)
	}
	connB := e.connect(orgB.ID, dev, func(in *idp.CreateInput) { in.Name = "Beta IdP" })
	pB, err := e.policies.Create(ctxB, orgB.ID, "Beta admins", storage.SSOOff, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.policies.SetMember(ctxB, orgB.ID, bob.Email, pB.ID); err != nil {
		t.Fatal(err)
	}

	gets := []string{
		"/admin/domains/" + dB.ID, "/admin/domains/" + dB.ID + "/remove",
		"/admin/sso/" + connB.Slug, "/admin/sso/" + connB.ID, "/admin/sso/" + connB.Slug + "/remove",
		"/admin/policies/" + pB.ID + "/delete",
		"/admin/members/" + bob.ID, "/admin/members/" + url.PathEscape(bob.Email),
	}
	for _, p := range gets {
		r := c.get(p)
		expect(t, r, http.StatusNotFound)
		for _, leak := range []string{"beta.example", "Beta IdP", "Beta admins", connB.EntityID} {
			if strings.Contains(text(r.body), leak) {
				t.Errorf("GET %s shows %q", p, leak)
			}
		}
	}
	before := e.auditCount()
	posts := map[string]url.Values{
		"/admin/domains/" + dB.ID + "/verify":                   nil,
		"/admin/domains/" + dB.ID + "/remove":                   nil,
		"/admin/sso/" + connB.Slug + "/settings":                {"name": {"Hijacked"}, "jit": {"on"}},
		"/admin/sso/" + connB.ID + "/settings":                  {"name": {"Hijacked"}},
		"/admin/sso/" + connB.Slug + "/certificates":            {"certificate": {connB.SigningCertsPEM[0]}},
		"/admin/sso/" + connB.Slug + "/certificates/remove":     {"fingerprint": {"00"}},
		"/admin/sso/" + connB.Slug + "/refresh":                 nil,
		"/admin/sso/" + connB.Slug + "/remove":                  nil,
		"/admin/policies/" + pB.ID:                              {"sso": {"optional"}, "connection": {connB.Slug}},
		"/admin/policies/" + pB.ID + "/members":                 {"email": {ownerEmail}},
		"/admin/policies/" + pB.ID + "/members/remove":          {"email": {bob.Email}},
		"/admin/policies/" + pB.ID + "/delete":                  nil,
		"/admin/members/" + bob.ID + "/role":                    {"role": {"member"}},
		"/admin/members/" + bob.ID + "/status":                  {"status": {"suspended"}},
		"/admin/members/" + bob.ID + "/revoke-sessions":         nil,
		"/admin/members/" + url.PathEscape(bob.Email) + "/role": {"role": {"member"}},
	}
	for p, form := range posts {
		if r := c.post(p, form); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, r.status)
		}
	}
	// References to B's records inside A's own forms are refused too.
	expect(t, c.post("/admin/policies", url.Values{"name": {"Sneaky"}, "sso": {"optional"}, "connection": {connB.Slug}}),
		http.StatusBadRequest, "does not exist")
	expect(t, c.post("/admin/policies/default", url.Values{"sso": {"optional"}, "connection": {connB.Slug}}),
		http.StatusBadRequest, "does not exist")
	if n := e.auditCount(); n > before+1 {
		// The one allowed write: A's default policy, created (SSO off) on
		// the way to the refused change.
		t.Errorf("cross-organization requests wrote %d audit events", n-before)
	}
	if ev := e.lastAudit(orgB.ID); ev.Action != "policy.member_set" {
		t.Errorf("B's newest audit event is %s, want B's own policy.member_set", ev.Action)
	}
	if got, err := e.store.GetIdPConnection(context.Background(), connB.ID); err != nil || got.Name != "Beta IdP" || got.Version != connB.Version {
		t.Errorf("B's connection changed: %+v, %v", got, err)
	}
	if got, err := e.store.GetAccount(context.Background(), bob.ID); err != nil || got.Role != storage.RoleOwner || got.Status != storage.StatusActive {
		t.Errorf("B's owner changed: %+v, %v", got, err)
	}
	if _, err := e.domains.Get(context.Background(), orgB.ID, dB.ID); err != nil {
		t.Errorf("B's domain: %v", err)
	}
	// A's lists do not show B's records.
	for p, leak := range map[string]string{"/admin/domains": "beta.example", "/admin/sso": "Beta IdP", "/admin/policies": "Beta admins", "/admin/members": "bob@beta.example", "/admin/audit": "beta.example"} {
		if r := c.get(p); strings.Contains(text(r.body), leak) {
			t.Errorf("%s shows %q", p, leak)
		}
	}
}
