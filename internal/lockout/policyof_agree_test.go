package lockout_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The lockout check evaluates policies in memory; sign-in resolves them
// in SQL. For every account of an organization that uses explicit
// members, IdP groups and email domains at once, both must name the same
// policy, or the check would approve a change that locks someone out.
func TestPolicyOfAgreesWithPolicyFor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		auth := &authenticators{enrolled: map[string]bool{}}
		s := newServices(t, st, auth.has)
		ctx := authz.AsCLI(context.Background(), "test")
		o := s.seedOrg(t, 970)
		for _, id := range o.domains {
			if _, err := s.domains.Verify(ctx, o.id, id); err != nil {
				t.Fatal(err)
			}
		}
		ops, err := s.policies.Create(ctx, o.id, "Ops", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}
		corp, err := s.policies.Create(ctx, o.id, "Corp", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}
		partners, err := s.policies.Create(ctx, o.id, "Partners", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.policies.AddDomain(ctx, o.id, corp.Name, "acme-970.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.policies.AddDomain(ctx, o.id, partners.Name, "partner-970.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.policies.Update(ctx, o.id, ops.Name, policyGroups("oncall")); err != nil {
			t.Fatal(err)
		}
		if err := st.SetAccountGroups(ctx, o.acctIDs[3], []string{"oncall"}); err != nil { // ada: group beats domain
			t.Fatal(err)
		}
		if err := s.policies.SetMember(ctx, o.id, o.emails[1], ops.Name); err != nil { // oscar: explicit
			t.Fatal(err)
		}
		cfg, err := lockout.Load(ctx, st, o.id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			o.acctIDs[0]: corp.ID, o.acctIDs[1]: ops.ID, o.acctIDs[2]: partners.ID,
			o.acctIDs[3]: ops.ID, o.acctIDs[5]: corp.ID,
		}
		for _, id := range o.acctIDs {
			sqlP, err := st.PolicyFor(ctx, o.id, id)
			if err != nil {
				t.Fatal(err)
			}
			memP := cfg.PolicyOf(id)
			if memP == nil || memP.ID != sqlP.ID {
				t.Errorf("account %s: PolicyFor says %q, lockout says %v", id, sqlP.Name, memP)
			}
			if w, ok := want[id]; ok && sqlP.ID != w {
				t.Errorf("account %s is under %q, want %s", id, sqlP.Name, w)
			}
		}
	})
}

func policyGroups(add ...string) policy.UpdateInput {
	return policy.UpdateInput{Settings: policy.Settings{AddGroups: add}}
}
