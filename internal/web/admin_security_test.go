package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TestAdminCannotInviteAnOwner: an admin who is not an owner may not make
// anyone an owner (SetRole refuses it), so they must not be able to create
// a new owner account either, e.g. for an address they control, and so
// promote themselves.
func TestAdminCannotInviteAnOwner(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	c := e.client()
	c.signIn("ada@acme.example", memberPassword)

	before := e.auditCount()
	r := c.post("/admin/members", url.Values{"email": {"ada.shadow@acme.example"}, "display_name": {"Shadow"}, "role": {"owner"}})
	expect(t, r, http.StatusForbidden, "Only an owner")
	if _, err := e.accounts.GetMember(context.Background(), org.ID, "ada.shadow@acme.example"); err == nil {
		t.Error("an admin created an owner account")
	}
	// Only the refusal itself is recorded (access.denied).
	if n := e.auditCount(); n != before+1 || len(e.deniedEvents(org.ID)) != 1 {
		t.Errorf("the refused invitation wrote %d audit events, %d access.denied; want only 1 access.denied",
			n-before, len(e.deniedEvents(org.ID)))
	}
	// Admins and members they may still add.
	expectRedirect(t, c.post("/admin/members", url.Values{"email": {"ann@acme.example"}, "role": {"admin"}}), "/admin/members?notice=added")
}

// TestSSOTestSignInNotForDemotedOrForeignAdmins: a test sign-in (whose
// success unlocks enforcement) cannot be started by an admin demoted a
// moment ago, while the session cache still says admin, nor by an admin
// of another organization.
func TestSSOTestSignInNotForDemotedOrForeignAdmins(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil)
	testPath := "/saml/" + conn.Slug + "/test"

	adm := e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	c := e.client()
	c.signIn(adm.Email, memberPassword)
	if _, err := e.accounts.SetRole(adminCtx(org.ID), org.ID, adm.ID, storage.RoleMember); err != nil {
		t.Fatal(err)
	}
	expect(t, c.post(testPath, nil), http.StatusForbidden)

	orgB, err := e.accounts.CreateOrganization(adminCtx("beta"), "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	e.addMember(orgB.ID, "bob@beta.example", storage.RoleOwner)
	b := e.client()
	b.signIn("bob@beta.example", memberPassword)
	expect(t, b.post(testPath, nil), http.StatusNotFound)
}
