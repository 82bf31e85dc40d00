package policy

import (
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const orgA, orgB = "org-a", "org-b"

func acct(org string) *storage.Account {
	return &storage.Account{ID: "acct-" + org, OrgID: org, Email: "x@" + org + ".example", Status: storage.StatusActive}
}

func pol(org, sso, conn string) *storage.Policy {
	return &storage.Policy{ID: "pol-" + org + "-" + sso, OrgID: org, SSO: sso, ConnectionID: conn}
}

func conn(org, id string) *storage.IdPConnection {
	return &storage.IdPConnection{ID: id, OrgID: org, Slug: "slug-" + id}
}

func TestDecideTable(t *testing.T) {
	password := func(r string) Decision { return Decision{Method: MethodPassword, Reason: r} }
	cases := []struct {
		name string
		in   Input
		want Decision
	}{
		{"unknown email, unmanaged domain", Input{}, password(ReasonUnmanagedDomain)},
		{"password account, unmanaged domain", Input{Account: acct(orgA)}, password(ReasonUnmanagedDomain)},
		{"account whose domain another org verified", Input{Account: acct(orgA), ManagedByOrg: orgB,
			Policy: pol(orgB, storage.SSOEnforced, "cb"), Connection: conn(orgB, "cb")}, password(ReasonUnmanagedDomain)},
		{"unmanaged account ignores its own org's enforced policy", Input{Account: acct(orgA),
			Policy: pol(orgA, storage.SSOEnforced, "ca"), Connection: conn(orgA, "ca")}, password(ReasonUnmanagedDomain)},
		{"managed, enforced", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, "ca"), Connection: conn(orgA, "ca")},
			Decision{Method: MethodSSO, ConnectionSlug: "slug-ca", Reason: ReasonSSOEnforced}},
		{"managed, optional", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOOptional, "ca"), Connection: conn(orgA, "ca")},
			Decision{Method: MethodChoice, ConnectionSlug: "slug-ca", Reason: ReasonSSOOptional}},
		{"managed, off", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOOff, ""), Connection: nil}, password(ReasonSSOOff)},
		{"managed, off with a connection still named", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOOff, "ca"), Connection: conn(orgA, "ca")}, password(ReasonSSOOff)},
		{"unknown email, managed, default enforced (JIT)", Input{ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, "ca"), Connection: conn(orgA, "ca")},
			Decision{Method: MethodSSO, ConnectionSlug: "slug-ca", Reason: ReasonSSOEnforced}},
		{"unknown email, managed, default optional", Input{ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOOptional, "ca"), Connection: conn(orgA, "ca")},
			Decision{Method: MethodChoice, ConnectionSlug: "slug-ca", Reason: ReasonSSOOptional}},
		{"unknown email, managed, default off", Input{ManagedByOrg: orgA, Policy: pol(orgA, storage.SSOOff, "")}, password(ReasonSSOOff)},
		{"managed, no policy at all", Input{Account: acct(orgA), ManagedByOrg: orgA}, password(ReasonNoPolicy)},
		{"managed, enforced, connection missing", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, "ca")}, password(ReasonConnectionMissing)},
		{"managed, optional, connection missing", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOOptional, "ca")}, password(ReasonConnectionMissing)},
		{"managed, enforced, policy names no connection", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, ""), Connection: conn(orgA, "ca")}, password(ReasonConnectionMissing)},
		{"managed, enforced, caller passed another connection", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, "ca"), Connection: conn(orgA, "other")}, password(ReasonConnectionMissing)},
		{"managed, enforced, connection of another org", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, storage.SSOEnforced, "ca"), Connection: conn(orgB, "ca")}, password(ReasonConnectionMissing)},
		{"policy of another org than the managing one", Input{ManagedByOrg: orgA,
			Policy: pol(orgB, storage.SSOEnforced, "cb"), Connection: conn(orgB, "cb")}, password(ReasonNoPolicy)},
		{"unknown SSO mode", Input{Account: acct(orgA), ManagedByOrg: orgA,
			Policy: pol(orgA, "sometimes", "ca"), Connection: conn(orgA, "ca")}, password(ReasonInvalidPolicy)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.in).Public(); got != c.want {
				t.Errorf("Decide = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDecideExhaustive runs every combination of the inputs' shapes and
// checks the properties the login page relies on.
func TestDecideExhaustive(t *testing.T) {
	suspended := acct(orgA)
	suspended.Status = storage.StatusSuspended
	admin, owner := acct(orgA), acct(orgA)
	admin.Role, owner.Role = storage.RoleAdmin, storage.RoleOwner
	noPassword := acct(orgA) // invited: no password yet
	noPassword.PasswordHash = ""
	accounts := []*storage.Account{nil, acct(orgA), acct(orgB), suspended, admin, owner, noPassword}
	managed := []string{"", orgA, orgB}
	var policies []*storage.Policy
	policies = append(policies, nil)
	for _, org := range []string{orgA, orgB} {
		for _, sso := range []string{storage.SSOOff, storage.SSOOptional, storage.SSOEnforced, "bogus"} {
			for _, c := range []string{"", "c" + org} {
				policies = append(policies, pol(org, sso, c))
			}
		}
	}
	conns := []*storage.IdPConnection{nil, conn(orgA, "c"+orgA), conn(orgB, "c"+orgB), conn(orgA, "c"+orgB), conn(orgA, "elsewhere")}
	n := 0
	for _, a := range accounts {
		for _, m := range managed {
			for _, p := range policies {
				for _, c := range conns {
					n++
					in := Input{Account: a, ManagedByOrg: m, Policy: p, Connection: c}
					d := Decide(in)
					name := fmt.Sprintf("account=%v managed=%q policy=%+v conn=%+v", a != nil, m, p, c)
					checkDecision(t, name, in, d)
				}
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d combinations", n)
	}
}

func checkDecision(t *testing.T, name string, in Input, d Decision) {
	t.Helper()
	switch d.Method {
	case MethodPassword:
		if d.ConnectionSlug != "" {
			t.Errorf("%s: password decision names connection %q", name, d.ConnectionSlug)
		}
	case MethodSSO, MethodChoice:
		// SSO only through a connection of the org that verified the
		// domain, named by that org's policy, for that org's account.
		if in.ManagedByOrg == "" || in.Policy == nil || in.Connection == nil {
			t.Fatalf("%s: %s without managing org, policy and connection", name, d.Method)
		}
		if in.Account != nil && in.Account.OrgID != in.ManagedByOrg {
			t.Errorf("%s: SSO for an account its org does not manage", name)
		}
		if in.Policy.OrgID != in.ManagedByOrg || in.Connection.OrgID != in.ManagedByOrg || in.Connection.ID != in.Policy.ConnectionID {
			t.Errorf("%s: SSO through a mismatched policy/connection", name)
		}
		if d.ConnectionSlug != in.Connection.Slug {
			t.Errorf("%s: slug %q, want %q", name, d.ConnectionSlug, in.Connection.Slug)
		}
		if (d.Method == MethodSSO) != (in.Policy.SSO == storage.SSOEnforced) {
			t.Errorf("%s: method %s for SSO mode %s", name, d.Method, in.Policy.SSO)
		}
		if d.Method == MethodChoice && in.Policy.SSO != storage.SSOOptional {
			t.Errorf("%s: choice for SSO mode %s", name, in.Policy.SSO)
		}
	default:
		t.Fatalf("%s: unknown method %q", name, d.Method)
	}
	if d.Reason == "" {
		t.Errorf("%s: no reason", name)
	}
	// What may sign the account in follows the page, and nothing signs a
	// suspended account in.
	active := in.Account == nil || in.Account.Status == storage.StatusActive
	if want := active && d.Method != MethodSSO; d.AllowPassword != want {
		t.Errorf("%s: AllowPassword = %v, want %v", name, d.AllowPassword, want)
	}
	if want := active && d.Method != MethodPassword; d.AllowSSO != want {
		t.Errorf("%s: AllowSSO = %v, want %v", name, d.AllowSSO, want)
	}
	// No enumeration: an unknown email gets the same answer as an account
	// of the managing org under the same policy, and as any account in a
	// domain nobody (or another org) manages.
	if in.Account == nil {
		same := in
		org := in.ManagedByOrg
		if org == "" {
			org = orgA
		}
		same.Account = acct(org)
		if got := Decide(same); got.Public() != d.Public() {
			t.Errorf("%s: unknown email answered %+v, account %+v", name, d, got)
		}
	}
	if in.Account != nil && in.Account.OrgID != in.ManagedByOrg && d.Public() != Decide(Input{}).Public() {
		t.Errorf("%s: unmanaged account answered %+v, unknown unmanaged email %+v", name, d, Decide(Input{}))
	}
}
