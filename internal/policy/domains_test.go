package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestPolicyDomains(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("doms")
		conn := e.conn(org, "entra", true)
		e.verify(org, "corp.example")
		e.verify(org, "eu.example")
		if err := e.st.CreateDomain(e.ctx, storage.Domain{ID: "pending", OrgID: org, Name: "pending.example", VerificationToken: "t", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		owner := e.account(org, "olive@owners.example")
		if _, err := e.st.UpdateAccount(e.ctx, owner.ID, func(a *storage.Account) error {
			a.Role, a.PasswordHash = storage.RoleOwner, "$argon2id$x"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The organization has no break-glass owner: not what is under test.
		corp, err := e.svc.CreateForced(e.ctx, org, "Corp", storage.SSOEnforced, conn.Slug, lockout.Force{Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Create(e.ctx, org, "Eng", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}

		for name, tc := range map[string]struct {
			policy, domain, words string
		}{
			"unverified":      {"Corp", "pending.example", "is not one this organization has verified"},
			"unknown":         {"Corp", "nobody.example", "is not one this organization has verified"},
			"not a domain":    {"Corp", "corp example", "domain"},
			"the default":     {DefaultRef, "corp.example", "give the domain to a named policy"},
			"no such policy":  {"Nope", "corp.example", "Nope"},
			"not named there": {"Eng", "eu.example", "does not cover"},
		} {
			var err error
			if name == "not named there" {
				err = e.svc.RemoveDomain(e.ctx, org, tc.policy, tc.domain)
			} else {
				err = e.svc.AddDomain(e.ctx, org, tc.policy, tc.domain)
			}
			if err == nil || !strings.Contains(err.Error(), tc.words) {
				t.Errorf("%s: %v, want an error saying %q", name, err, tc.words)
			}
		}
		// Input is normalized as domains are.
		if err := e.svc.AddDomain(e.ctx, org, "Corp", " Corp.Example. "); err != nil {
			t.Fatalf("add corp.example: %v", err)
		}
		if err := e.svc.AddDomain(e.ctx, org, "Corp", "corp.example"); err != nil {
			t.Fatalf("adding it again is no change: %v", err)
		}
		if err := e.svc.AddDomain(e.ctx, org, "Eng", "corp.example"); err == nil || !strings.Contains(err.Error(), `"Corp" covers corp.example already`) {
			t.Fatalf("a second policy for corp.example: %v", err)
		}
		if evs := e.events(org, "policy.domain_add"); len(evs) != 1 || evs[0].Details["domain"] != "corp.example" || evs[0].TargetID != corp.ID {
			t.Fatalf("domain_add events = %+v", evs)
		}

		// Who may: a member may not; reads need a reader.
		mem := e.account(org, "mel@corp.example")
		asMel := authz.AsAccount(e.ctx, mem)
		if err := e.svc.AddDomain(asMel, org, "Eng", "eu.example"); !errors.Is(err, authz.ErrForbidden) {
			t.Fatalf("a member adds a domain: %v", err)
		}
		if _, err := e.svc.Coverage(asMel, org, "Corp"); !errors.Is(err, authz.ErrForbidden) {
			t.Fatalf("a member reads coverage: %v", err)
		}

		// A new person at corp.example routes as Corp says (SSO), like
		// an existing one; elsewhere the default's password form.
		if d := e.page("new@corp.example"); d.Method != MethodSSO {
			t.Errorf("new person at corp.example: %s, want sso", d.Method)
		}
		if r := e.routing("mel@corp.example"); r.Page != e.page("new@corp.example") || r.Policy == nil || r.Policy.ID != corp.ID {
			t.Errorf("mel: page %+v policy %v, want the newcomer's page and Corp", r.Page, r.Policy)
		}
		// The default keeps the password; a named policy's SSO button is
		// offered to the whole domain, whoever is asking.
		if d := e.page("new@eu.example"); d.Method != MethodChoice {
			t.Errorf("new person at eu.example: %s, want choice", d.Method)
		}

		// Coverage, in words and pages.
		for i := range 5 {
			e.account(org, fmt.Sprintf("p%d@corp.example", i))
		}
		eu := e.account(org, "eve@eu.example")
		e.account(org, "gus@gmail.example")
		if err := e.svc.SetMember(e.ctx, org, eu.Email, "Corp", lockout.Force{Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AddDomain(e.ctx, org, "Eng", "eu.example"); err != nil {
			t.Fatal(err)
		}
		e.account(org, "ian@eu.example")
		cov, err := e.svc.Coverage(e.ctx, org, "Corp")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cov.Words(), "1 person named explicitly and accounts in corp.example (6 people)"; got != want {
			t.Errorf("Corp covers %q, want %q", got, want)
		}
		def, err := e.svc.Coverage(e.ctx, org, DefaultRef)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := def.Words(), "accounts in verified domains that no other policy names (0 people) and accounts at domains the organization has not verified, which sign in with a password whatever this policy says (2 people)"; got != want {
			t.Errorf("default covers %q, want %q", got, want)
		}
		if def.Total != 2 || cov.Total != 7 {
			t.Errorf("totals %d and %d", def.Total, cov.Total)
		}
		var seen []string
		after := ""
		for range 10 {
			page, next, err := e.svc.CoveragePage(e.ctx, org, "Corp", after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				seen = append(seen, c.Email+": "+c.Why)
			}
			if next == "" {
				break
			}
			after = next
		}
		if len(seen) != 7 || seen[0] != "eve@eu.example: Named explicitly" || seen[1] != "mel@corp.example: Account in corp.example" {
			t.Errorf("Corp's people: %q", seen)
		}

		// Removing sends the domain's people to the default; audited.
		if err := e.svc.RemoveDomain(e.ctx, org, "Corp", "corp.example"); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.st.PolicyFor(e.ctx, org, mem.ID); !p.IsDefault {
			t.Errorf("mel is under %q after the removal", p.Name)
		}
		if evs := e.events(org, "policy.domain_remove"); len(evs) != 1 {
			t.Errorf("domain_remove events = %+v", evs)
		}
		if _, err := e.svc.Domains(e.ctx, org, "Nope"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("domains of a missing policy: %v", err)
		}
	})
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1203: "1,203", 1234567: "1,234,567"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
