package adminapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// A policy covers a verified domain through PUT …/domains/{domain}; GET
// …/coverage says whom it covers in words and pages the people by email;
// DELETE takes the domain back. Another organization's token finds
// nothing, and a domain the organization has not verified is refused.
func TestAPIPolicyDomainsAndCoverage(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	d := storage.Domain{ID: "dom-corp", OrgID: e.orgA.ID, Name: "corp.test", VerificationToken: "t", CreatedAt: now}
	if err := e.store.CreateDomain(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RecordDomainCheck(e.ctx, e.orgA.ID, d.ID, now, now, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: fmt.Sprintf("p%d@corp.test", i), Role: storage.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Corp","sso":"off"}`)); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/Corp/domains/elsewhere.test", e.tokenA, nil); r.status != 400 {
		t.Fatalf("unverified domain: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/Corp/domains/corp.test", e.tokenB, nil); r.status != 404 {
		t.Fatalf("another organization's policy: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/Corp/domains/corp.test", e.tokenA, nil); r.status != 204 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	if evs := e.events(e.orgA.ID, "policy.domain_add"); len(evs) != 1 {
		t.Fatalf("policy.domain_add events: %d", len(evs))
	}
	var p apiview.Policy
	e.do("GET", "/api/v1/policies/Corp", e.tokenA, nil).json(t, &p)
	if len(p.Domains) != 1 || p.Domains[0] != "corp.test" {
		t.Fatalf("policy domains = %v", p.Domains)
	}

	var cov apiview.PolicyCoverage
	r := e.do("GET", "/api/v1/policies/Corp/coverage?limit=2", e.tokenA, nil)
	if r.status != 200 {
		t.Fatalf("coverage: %d %s", r.status, r.body)
	}
	r.json(t, &cov)
	if cov.Summary != "accounts in corp.test (3 people)" || cov.Total != 3 || len(cov.People) != 2 || cov.NextAfter != "p1@corp.test" {
		t.Fatalf("coverage = %+v", cov)
	}
	if cov.People[0].Reason != "domain" || cov.People[0].Why != "Account in corp.test" {
		t.Errorf("why = %+v", cov.People[0])
	}
	e.do("GET", "/api/v1/policies/Corp/coverage?limit=2&after="+cov.NextAfter, e.tokenA, nil).json(t, &cov)
	if len(cov.People) != 1 || cov.People[0].Email != "p2@corp.test" || cov.NextAfter != "" {
		t.Fatalf("second page = %+v", cov)
	}
	if r := e.do("GET", "/api/v1/policies/Corp/coverage?limit=0", e.tokenA, nil); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/policies/Corp/coverage?after=%FF%00", e.tokenA, nil); r.status != 400 {
		t.Errorf("a cursor that is not text: %d %s", r.status, r.body)
	}
	var def apiview.PolicyCoverage
	e.do("GET", "/api/v1/policies/default/coverage", e.tokenA, nil).json(t, &def)
	if def.Total != 1 || def.Unmanaged != 1 { // the owner, at acme.test (not verified)
		t.Errorf("default coverage = %+v", def)
	}

	if r := e.do("DELETE", "/api/v1/policies/Corp/domains/corp.test", e.tokenA, nil); r.status != 204 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/policies/Corp/domains/corp.test", e.tokenA, nil); r.status != 400 {
		t.Fatalf("remove twice: %d %s", r.status, r.body)
	}
}
