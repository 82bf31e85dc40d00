package lockout_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// An organization whose default policy is its break-glass policy (SSO
// off, MFA required) and whose "Engineering" policy enforces SSO for the
// partner domain: olive, an owner at acme with an authenticator app, is
// its only break-glass owner, and she is under the default only because
// no policy names acme. Naming acme in the enforced policy moves her — and
// every owner who could sign in without the IdP — into SSO: refused,
// nothing written, unless forced (then audited as forced). An owner put
// under a policy by name stays there whatever the domain says, so with
// olive explicitly under a break-glass policy the same naming passes.
func TestNamingADomainInAnEnforcedPolicyKeepsTheBreakGlassOwner(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		auth := &authenticators{enrolled: map[string]bool{}}
		s := newServices(t, st, auth.has)
		ctx := authz.AsCLI(context.Background(), "test")
		o := s.seedOrg(t, 960)
		olive := o.acctIDs[0]
		acme, partner := "acme-960.example", "partner-960.example"
		for _, id := range o.domains {
			if _, err := s.domains.Verify(ctx, o.id, id); err != nil {
				t.Fatal(err)
			}
		}
		required := storage.MFARequired
		if _, err := s.policies.Update(ctx, o.id, policy.DefaultRef, policy.UpdateInput{Settings: policy.Settings{MFA: &required}}); err != nil {
			t.Fatal(err)
		}
		auth.enrol(t, olive)
		eng, err := s.policies.Create(ctx, o.id, "Engineering", storage.SSOEnforced, o.conns[0])
		if err != nil {
			t.Fatalf("create an enforced policy with olive as break-glass owner: %v", err)
		}
		if err := s.policies.AddDomain(ctx, o.id, eng.Name, partner); err != nil {
			t.Fatalf("enforce SSO on the partner domain: %v", err)
		}
		if p, err := st.PolicyFor(ctx, o.id, o.acctIDs[2]); err != nil || p.ID != eng.ID {
			t.Fatalf("pat is under %q (%v), want Engineering through the partner domain", p.Name, err)
		}

		// The attack: acme into the enforced policy.
		err = s.policies.AddDomain(ctx, o.id, eng.Name, acme)
		var le *lockout.Error
		if !errors.As(err, &le) || !errors.Is(err, lockout.ErrLockout) || !le.NoBreakGlass {
			t.Fatalf("naming acme in the enforced policy: %v, want the lockout refusal", err)
		}
		if len(le.LockedOut) == 0 || le.LockedOut[0].Email != o.emails[0] {
			t.Errorf("the refusal names %v as locked out, want olive first", le.LockedOut)
		}
		if p, _ := st.PolicyFor(ctx, o.id, olive); !p.IsDefault {
			t.Fatalf("the refused naming was written: olive is under %q", p.Name)
		}
		if evs, _ := st.ListAudit(ctx, storage.AuditFilter{OrgID: o.id, Action: "policy.domain_add"}); len(evs) != 1 {
			t.Fatalf("%d policy.domain_add events, want only the partner domain's", len(evs))
		}

		// Forced, it passes and says so in the audit log.
		force := lockout.Force{Reason: "moving everyone to SSO; break-glass owner set up next"}
		if err := s.policies.AddDomain(ctx, o.id, eng.Name, acme, force); err != nil {
			t.Fatalf("forced naming: %v", err)
		}
		evs, err := st.ListAudit(ctx, storage.AuditFilter{OrgID: o.id, Action: "policy.domain_add"})
		if err != nil || len(evs) != 2 {
			t.Fatalf("domain_add events: %v %v", evs, err)
		}
		if d := evs[len(evs)-1].Details; d["forced"] != "true" || d["force_reason"] != force.Reason || d["domain"] != acme {
			t.Errorf("forced event details = %v", d)
		}

		// Repair: olive under a break-glass policy by name beats the domain.
		bg, err := s.policies.Create(ctx, o.id, "Break glass", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.policies.Update(ctx, o.id, bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &required}}); err != nil {
			t.Fatal(err)
		}
		if err := s.policies.SetMember(ctx, o.id, o.emails[0], bg.Name); err != nil {
			t.Fatalf("olive under the break-glass policy by name: %v", err)
		}
		if err := s.policies.RemoveDomain(ctx, o.id, eng.Name, acme); err != nil {
			t.Fatalf("remove acme: %v", err)
		}
		if err := s.policies.AddDomain(ctx, o.id, eng.Name, acme); err != nil {
			t.Fatalf("naming acme with olive explicitly under break-glass: %v", err)
		}
		if p, _ := st.PolicyFor(ctx, o.id, olive); p.ID != bg.ID {
			t.Fatalf("olive is under %q, want Break glass (explicit beats domain)", p.Name)
		}
		// Taking her out of it now would put her under the enforced
		// domain policy: the last break-glass owner again.
		var le2 *lockout.Error
		if err := s.policies.SetMember(ctx, o.id, o.emails[0], ""); !errors.As(err, &le2) || !le2.NoBreakGlass {
			t.Fatalf("olive back to her domain's enforced policy: %v, want the break-glass refusal", err)
		}
	})
}
