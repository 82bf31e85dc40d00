// Package readinesstest seeds an organization for readiness tests of the
// service and its edges (console, JSON API, CLI).
package readinesstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Fixture is what Seed made. Emails are <id>@<org slug>.example.
type Fixture struct {
	Org    storage.Organization
	Owner  storage.Account // under the default policy (SSO optional): not covered
	Admin  storage.Account
	Member storage.Account // under "eng"
	// Covered people under "eng" (SSO enforced, failback allowed):
	// NoKey1 and NoKey2 have no passkey, Emergency has an emergency
	// passkey, Ordinary an ordinary one. Denied is under "vault" (SSO
	// enforced, failback denied), Suspended under "eng" but suspended:
	// neither is covered.
	NoKey1, NoKey2, Emergency, Ordinary, Denied, Suspended storage.Account

	now time.Time
}

func (f Fixture) add(t testing.TB, st storage.Store, id, name string, role storage.Role, status storage.AccountStatus, policy string) storage.Account {
	t.Helper()
	slug := f.Org.Slug
	a := storage.Account{ID: id + "-" + slug, OrgID: f.Org.ID, Email: id + "@" + slug + ".example", DisplayName: name,
		Role: role, Status: status, CreatedAt: f.now, UpdatedAt: f.now, Version: 1, Origin: storage.OriginAdmin}
	must(t, "create account "+id, st.CreateAccount(t.Context(), a))
	if policy != "" {
		must(t, "put "+id+" under "+policy, st.SetPolicyMember(t.Context(), f.Org.ID, a.ID, policy+"-"+slug))
	}
	return a
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("readinesstest: %s: %v", what, err)
	}
}

// Seed creates organization slug with the accounts of Fixture at now.
func Seed(t testing.TB, st storage.Store, slug string, now time.Time) Fixture {
	t.Helper()
	org := storage.Organization{ID: "org-" + slug, Slug: slug, Name: "Org " + slug, CreatedAt: now}
	must(t, "create organization", st.CreateOrganization(t.Context(), org))
	f := SeedInto(t, st, org, now)
	f.Owner = f.add(t, st, "owner", "Olga Owner", storage.RoleOwner, storage.StatusActive, "")
	return f
}

// SeedInto adds Fixture's connection, policies and people (but the
// owner) to an existing organization; its default policy is kept when it
// has one (it must not enforce SSO).
func SeedInto(t testing.TB, st storage.Store, org storage.Organization, now time.Time) Fixture {
	t.Helper()
	ctx := t.Context()
	must := func(what string, err error) { t.Helper(); must(t, what, err) }
	slug := org.Slug
	f := Fixture{Org: org, now: now}
	conn := storage.IdPConnection{ID: "conn-" + slug, OrgID: f.Org.ID, Slug: "idp-" + slug, Name: "IdP",
		EntityID: "https://idp.example/" + slug, SSOURL: "https://idp.example/" + slug + "/sso",
		AttributeMap: map[string]string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	must("create connection", st.CreateIdPConnection(ctx, conn))
	pol := func(id, name, sso, failback string, def bool) {
		must("create policy "+name, st.CreatePolicy(ctx, storage.Policy{ID: id + "-" + slug, OrgID: f.Org.ID, Name: name,
			IsDefault: def, SSO: sso, ConnectionID: conn.ID, Failback: failback, CreatedAt: now, UpdatedAt: now, Version: 1}))
	}
	pols, err := st.ListPolicies(ctx, org.ID)
	must("list policies", err)
	if len(pols) == 0 || !pols[0].IsDefault {
		pol("def", "Everyone", storage.SSOOptional, storage.FailbackAllowed, true)
	}
	pol("eng", "Engineers", storage.SSOEnforced, storage.FailbackAllowed, false)
	pol("vault", "Vault", storage.SSOEnforced, storage.FailbackDenied, false)
	acct := func(id, name string, role storage.Role, status storage.AccountStatus, policy string) storage.Account {
		return f.add(t, st, id, name, role, status, policy)
	}
	active := storage.StatusActive
	f.Admin = acct("admin", "Adam Admin", storage.RoleAdmin, active, "")
	f.Member = acct("member", "Mia Member", storage.RoleMember, active, "eng")
	f.NoKey1 = acct("nokey1", "Nina Nokey", storage.RoleMember, active, "eng")
	f.NoKey2 = acct("nokey2", "", storage.RoleMember, active, "eng")
	f.Emergency = acct("emergency", "Emil Emergency", storage.RoleMember, active, "eng")
	f.Ordinary = acct("ordinary", "Ola Ordinary", storage.RoleMember, active, "eng")
	f.Denied = acct("denied", "Dora Denied", storage.RoleMember, active, "vault")
	f.Suspended = acct("suspended", "Sam Suspended", storage.RoleMember, storage.StatusSuspended, "eng")
	for i, k := range []struct {
		a         storage.Account
		emergency bool
	}{{f.Emergency, true}, {f.Ordinary, false}} {
		must("create passkey", st.CreatePasskey(ctx, storage.Passkey{ID: fmt.Sprintf("pk%d-%s", i, slug), AccountID: k.a.ID,
			OrgID: f.Org.ID, CredentialID: []byte("cred-" + k.a.ID), PublicKey: []byte{1}, AttestationType: "none",
			AttestationFormat: "none", AAGUID: make([]byte, 16), Name: "Laptop", Emergency: k.emergency, CreatedAt: now}))
	}
	return f
}
