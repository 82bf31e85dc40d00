package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// An admin names a verified domain in a policy from the policies page;
// the card then says whom it covers with the count, and the policy's
// people page lists them by email, fifty at a time, with why.
func TestAdminPolicyDomainsAndPeople(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	e.verifyDomain(org.ID, corpDomain)
	ctx := context.Background()
	now := e.clock.Now()
	for i := range 55 {
		a := storage.Account{ID: uuid.NewString(), OrgID: org.ID, Email: fmt.Sprintf("p%02d@%s", i, corpDomain),
			DisplayName: fmt.Sprintf("Person %02d", i), Role: storage.RoleMember, Status: storage.StatusActive,
			CreatedAt: now, UpdatedAt: now, Version: 1, Origin: storage.OriginAdmin}
		if err := e.store.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	expectRedirect(t, c.post("/admin/policies", url.Values{"name": {"Staff"}, "sso": {"off"}}), "/admin/policies?notice=policy-created")
	staff, err := e.policies.Get(ctx, org.ID, "Staff")
	if err != nil {
		t.Fatal(err)
	}
	r := c.get("/admin/policies")
	expect(t, r, http.StatusOK, "Email domains", "Cover everyone at a domain", "Covers: Nobody yet")
	if !strings.Contains(r.body, `<option value="`+corpDomain+`"`) {
		t.Error("the add-domain form does not offer the verified domain")
	}

	// A domain the organization has not verified is refused, naming it.
	expect(t, c.post("/admin/policies/"+staff.ID+"/domains", url.Values{"domain": {"elsewhere.example"}}),
		http.StatusBadRequest, "The domain elsewhere.example is not one this organization has verified")

	expectRedirect(t, c.post("/admin/policies/"+staff.ID+"/domains", url.Values{"domain": {corpDomain}}),
		"/admin/policies?notice=policy-domain-added#policy-"+staff.ID)
	if ev := e.lastAudit(org.ID); ev.Action != "policy.domain_add" || ev.ActorID != owner.ID || ev.Details["domain"] != corpDomain {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expect(t, c.get("/admin/policies"), http.StatusOK,
		"Covers: accounts in corp.example (55 people).",
		"Covers: accounts in verified domains that no other policy names (0 people) and accounts at domains the organization has not verified")

	// The people page: by email, fifty, then the rest through the cursor.
	r = c.get("/admin/policies/" + staff.ID + "/people")
	expect(t, r, http.StatusOK, "Who Staff covers", "Accounts in corp.example (55 people).", "55 people",
		"p00@corp.example", "p49@corp.example", "Account in corp.example", "Next people")
	if strings.Contains(r.body, "p50@corp.example") {
		t.Error("the first page lists more than fifty people")
	}
	next := "/admin/policies/" + staff.ID + "/people?after=" + url.QueryEscape("p49@corp.example")
	if !strings.Contains(r.body, `href="`+strings.ReplaceAll(next, "@", "%40")+`"`) {
		t.Fatalf("no link to the next page %s", next)
	}
	r = c.get(next)
	expect(t, r, http.StatusOK, "p50@corp.example", "p54@corp.example", "First page")
	if strings.Contains(r.body, "p49@corp.example") || strings.Contains(r.body, "Next people") {
		t.Error("the second page repeats the first or offers a third")
	}
	// The default's page: the owner, at a domain the organization has not verified.
	expect(t, c.get("/admin/policies/default/people"), http.StatusOK, ownerEmail, "which the organization has not verified")
	expect(t, c.get("/admin/policies/nope/people"), http.StatusNotFound)
	expect(t, c.get("/admin/policies/"+staff.ID+"/people?after=%FF%00"), http.StatusBadRequest, "Start again from the first page")

	// Removing the domain: audited, the people fall to the default.
	expectRedirect(t, c.post("/admin/policies/"+staff.ID+"/domains/remove", url.Values{"domain": {corpDomain}}),
		"/admin/policies?notice=policy-domain-removed")
	if ev := e.lastAudit(org.ID); ev.Action != "policy.domain_remove" {
		t.Errorf("audit: %s", ev.Action)
	}
	expect(t, c.post("/admin/policies/"+staff.ID+"/domains/remove", url.Values{"domain": {corpDomain}}), http.StatusBadRequest, "does not cover the domain")
}

// Naming the owner's own domain in a policy that enforces SSO would leave
// no owner able to sign in without the IdP: the console asks for a reason
// on a page of its own, writes nothing until given one, and records it.
func TestAdminPolicyDomainLockout(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	e.verifyDomain(org.ID, "acme.example") // the owner's
	ctx := context.Background()
	conn := storage.IdPConnection{ID: uuid.NewString(), OrgID: org.ID, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: e.clock.Now(),
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(), Version: 1}
	if err := e.store.CreateIdPConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	eng, err := e.policies.CreateForced(adminCtx(org.ID), org.ID, "Engineering", storage.SSOEnforced, conn.Slug,
		lockout.Force{Reason: "nobody under it yet"})
	if err != nil {
		t.Fatal(err)
	}
	add := "/admin/policies/" + eng.ID + "/domains"
	before := e.auditCount()
	expect(t, c.post(add, url.Values{"domain": {"acme.example"}}), http.StatusConflict,
		"This would lock every owner out", ownerEmail, "SSO would be enforced for them")
	if n := e.auditCount(); n != before {
		t.Errorf("the refusal wrote %d audit events", n-before)
	}
	if p, _ := e.store.PolicyFor(ctx, org.ID, owner.ID); p.ID == eng.ID {
		t.Fatal("the refused naming was written")
	}
	expectRedirect(t, c.post(add, url.Values{"domain": {"acme.example"}, "force_reason": {"moving to SSO, ticket 12"}}),
		"/admin/policies?notice=policy-domain-added")
	ev := e.lastAudit(org.ID)
	if ev.Action != "policy.domain_add" || ev.Details["forced"] != "true" || ev.Details["force_reason"] != "moving to SSO, ticket 12" ||
		ev.Details["locked_out"] != ownerEmail {
		t.Errorf("audit: %s %v", ev.Action, ev.Details)
	}
}
