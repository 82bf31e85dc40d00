package policy

import (
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// lockout restates Decide (it cannot import this package, which imports
// it). For every combination of what Decide reads, an account "can sign in
// without the IdP" by lockout's rule exactly when Decide offers it the
// password form (password or choice) — including when the policy's
// connection is missing, where Decide degrades to the password form.
func TestLockoutAgreesWithDecide(t *testing.T) {
	const org = "o"
	conns := map[string]*storage.IdPConnection{
		"live":        {ID: "c1", OrgID: org, Slug: "entra"},
		"missing":     nil,
		"other org":   {ID: "c1", OrgID: "p", Slug: "evil"},
		"another one": {ID: "c2", OrgID: org, Slug: "okta"},
	}
	policies := map[string]*storage.Policy{"none": nil}
	for _, sso := range []string{storage.SSOOff, storage.SSOOptional, storage.SSOEnforced, "", "sometimes"} {
		for _, connID := range []string{"", "c1"} {
			for _, named := range []bool{false, true} {
				p := &storage.Policy{ID: "def", OrgID: org, IsDefault: true, SSO: sso, ConnectionID: connID}
				if named {
					p = &storage.Policy{ID: "named", OrgID: org, SSO: sso, ConnectionID: connID}
				}
				policies[fmt.Sprintf("%s/%q/named=%v", sso, connID, named)] = p
			}
		}
	}
	n := 0
	for _, managed := range []bool{false, true} {
		for pName, p := range policies {
			for cName, c := range conns {
				name := fmt.Sprintf("managed=%v policy=%s conn=%s", managed, pName, cName)
				a := storage.Account{ID: "a", OrgID: org, Email: "olive@acme.example", Role: storage.RoleOwner,
					Status: storage.StatusActive, PasswordHash: "$argon2id$x"}
				in := Input{Account: &a, Policy: p, Connection: c}
				cfg := lockout.Config{OrgID: org, Members: map[string]string{}}
				if managed {
					in.ManagedByOrg = org
					cfg.VerifiedDomains = []string{"acme.example"}
				}
				if p != nil {
					q := *p
					cfg.Policies = append(cfg.Policies, q)
					if !p.IsDefault {
						cfg.Members[a.ID] = p.ID
						// A default that would say otherwise must not be read.
						cfg.Policies = append(cfg.Policies, storage.Policy{ID: "def", OrgID: org, IsDefault: true, SSO: storage.SSOOff})
					}
				}
				if c != nil {
					cfg.Connections = append(cfg.Connections, *c)
				}
				// Route (lockout's view) looks a connection up by the
				// policy's ID among the org's; Decide is handed the one
				// Route found. Hand Decide only what Route would find.
				if c != nil && (p == nil || c.ID != p.ConnectionID || c.OrgID != org) {
					in.Connection = nil
				}
				d := Decide(in)
				wantPassword := d.Method == MethodPassword || d.Method == MethodChoice
				got, reason := cfg.Route(a)
				if got != wantPassword {
					t.Errorf("%s: Decide says %s (%s), lockout says password=%v (%s)", name, d.Method, d.Reason, got, reason)
				}
				if reason != d.Reason {
					t.Errorf("%s: reasons differ: Decide %s, lockout %s", name, d.Reason, reason)
				}
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}
