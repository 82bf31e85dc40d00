package lockout_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// keepOrg is an organization that enforces SSO on its default policy with
// olive as its only break-glass owner (policy "Break glass": SSO off, MFA
// required; an authenticator app enrolled). pat, an owner under "Vault"
// (SSO off, MFA optional), keeps the owner rule satisfied whatever happens
// to olive, so what refuses the changes below is the break-glass rule.
type keepOrg struct {
	*org
	bg, vault storage.Policy
	olive     string // account ID
	conn      string
}

func newKeepOrg(t *testing.T, s *services, auth *authenticators, n int) keepOrg {
	t.Helper()
	ctx := authz.AsCLI(context.Background(), "test")
	o := s.seedOrg(t, n)
	k := keepOrg{org: o, olive: o.acctIDs[0], conn: o.conns[0]}
	var err error
	if k.bg, err = s.policies.Create(ctx, o.id, "Break glass", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	required := storage.MFARequired
	if _, err := s.policies.Update(ctx, o.id, k.bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &required}}); err != nil {
		t.Fatal(err)
	}
	if k.vault, err = s.policies.Create(ctx, o.id, "Vault", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.policies.SetMember(ctx, o.id, o.emails[0], k.bg.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.policies.SetMember(ctx, o.id, o.emails[2], k.vault.ID); err != nil {
		t.Fatal(err)
	}
	auth.enrol(t, k.olive)
	// Before SSO is enforced anywhere, olive may leave break-glass and
	// come back: nothing depends on her yet.
	if err := s.policies.SetMember(ctx, o.id, o.emails[0], k.vault.ID); err != nil {
		t.Fatalf("move olive out of break-glass while nothing is enforced: %v", err)
	}
	if err := s.policies.SetMember(ctx, o.id, o.emails[0], k.bg.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range o.domains {
		if _, err := s.domains.Verify(ctx, o.id, id); err != nil {
			t.Fatal(err)
		}
	}
	enforced := storage.SSOEnforced
	if _, err := s.policies.Update(ctx, o.id, policy.DefaultName, policy.UpdateInput{SSO: &enforced, Connection: &k.conn}); err != nil {
		t.Fatalf("enforce SSO with olive as break-glass owner: %v", err)
	}
	return k
}

// lastBreakGlass fails the test unless err is the refusal of a change that
// takes away the last break-glass owner while SSO is enforced.
func lastBreakGlass(t *testing.T, step string, err error) {
	t.Helper()
	var le *lockout.Error
	if !errors.As(err, &le) || !le.NoBreakGlass || !errors.Is(err, lockout.ErrLockout) {
		t.Fatalf("%s: %v, want the break-glass refusal", step, err)
	}
	if !le.LastBreakGlass || len(le.LockedOut) != 0 ||
		!strings.Contains(err.Error(), "This organization enforces SSO, so it must keep a break-glass owner") ||
		!strings.Contains(err.Error(), "This change takes away the last one") {
		t.Fatalf("%s: %q (last=%v, locked out %v), want the words about keeping the last break-glass owner",
			step, err.Error(), le.LastBreakGlass, le.LockedOut)
	}
}

// forcedEvent checks the newest audit event with action records the
// forced override and its reason.
func forcedEvent(t *testing.T, st storage.Store, orgID, action, reason string) {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID, Action: action})
	if err != nil || len(evs) == 0 {
		t.Fatalf("%s events: %v, %v", action, evs, err)
	}
	d := evs[len(evs)-1].Details
	if d["forced"] != "true" || d["force_reason"] != reason || d["override_lockout"] != lockout.ReasonNoBreakGlass {
		t.Errorf("%s: forced event details = %v", action, d)
	}
}

// In an organization that enforces SSO, a change that takes away its last
// break-glass owner with a second factor is refused like enforcing SSO
// without one: suspending or demoting that owner, moving them out of the
// break-glass policy or into the enforced one, making the break-glass
// policy's MFA optional or its SSO optional or enforced, deleting it. Each
// is let through with a force reason, audited. Nothing is refused while
// another break-glass owner with a second factor remains, and once the
// organization has none (forced), changes that take nothing more from it
// pass, so repairs stay possible.
func TestEnforcedSSOKeepsABreakGlassOwner(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		auth := &authenticators{enrolled: map[string]bool{}}
		s := newServices(t, st, auth.has)
		ctx := authz.AsCLI(context.Background(), "test")
		k := newKeepOrg(t, s, auth, 950)
		olive, oliveEmail := k.olive, k.emails[0]
		force := lockout.Force{Reason: "the new break-glass owner starts on Monday"}

		// Suspending olive.
		_, err := s.accounts.SetStatus(ctx, k.id, olive, storage.StatusSuspended)
		lastBreakGlass(t, "suspend", err)
		if a, _ := st.GetAccount(ctx, olive); a.Status != storage.StatusActive {
			t.Fatalf("the refused suspension was written: %s", a.Status)
		}
		if _, err := s.accounts.SetStatus(ctx, k.id, olive, storage.StatusSuspended, force); err != nil {
			t.Fatalf("forced suspension: %v", err)
		}
		forcedEvent(t, st, k.id, "account.suspend", force.Reason)
		// The organization has no break-glass owner now: a change that
		// takes nothing from it (mel becomes an admin), and the repair,
		// pass unforced.
		if _, err := s.accounts.SetRole(ctx, k.id, k.acctIDs[5], storage.RoleAdmin); err != nil {
			t.Fatalf("an unrelated change without a break-glass owner: %v", err)
		}
		if _, err := s.accounts.SetStatus(ctx, k.id, olive, storage.StatusActive); err != nil {
			t.Fatalf("reactivate olive: %v", err)
		}

		// Demoting olive.
		_, err = s.accounts.SetRole(ctx, k.id, olive, storage.RoleAdmin)
		lastBreakGlass(t, "demote", err)
		if _, err := s.accounts.SetRole(ctx, k.id, olive, storage.RoleAdmin, force); err != nil {
			t.Fatalf("forced demotion: %v", err)
		}
		forcedEvent(t, st, k.id, "account.role_change", force.Reason)
		if _, err := s.accounts.SetRole(ctx, k.id, olive, storage.RoleOwner); err != nil {
			t.Fatalf("make olive an owner again: %v", err)
		}

		// Moving olive out of the break-glass policy, to one with SSO off.
		lastBreakGlass(t, "move to Vault", s.policies.SetMember(ctx, k.id, oliveEmail, k.vault.ID))
		if err := s.policies.SetMember(ctx, k.id, oliveEmail, k.vault.ID, force); err != nil {
			t.Fatalf("forced move: %v", err)
		}
		forcedEvent(t, st, k.id, "policy.member_set", force.Reason)
		if err := s.policies.SetMember(ctx, k.id, oliveEmail, k.bg.ID); err != nil {
			t.Fatalf("move olive back: %v", err)
		}

		// Moving olive into the enforced policy, or out of hers (which
		// sends her to the enforced default), is enforcing SSO on her.
		for step, err := range map[string]error{
			"move to the enforced default":  s.policies.SetMember(ctx, k.id, oliveEmail, ""),
			"remove from break-glass":       s.policies.RemoveMember(ctx, k.id, k.bg.ID, oliveEmail),
			"delete the break-glass policy": s.policies.Delete(ctx, k.id, k.bg.ID),
		} {
			var le *lockout.Error
			if !errors.As(err, &le) || !le.NoBreakGlass {
				t.Fatalf("%s: %v, want the break-glass refusal", step, err)
			}
		}
		if err := s.policies.Delete(ctx, k.id, k.bg.ID, force); err != nil {
			t.Fatalf("forced delete: %v", err)
		}
		forcedEvent(t, st, k.id, "policy.delete", force.Reason)
		if k.bg, err = s.policies.Create(ctx, k.id, "Break glass", storage.SSOOff, ""); err != nil {
			t.Fatal(err)
		}
		required, optional := storage.MFARequired, storage.MFAOptional
		if _, err := s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &required}}); err != nil {
			t.Fatal(err)
		}
		if err := s.policies.SetMember(ctx, k.id, oliveEmail, k.bg.ID); err != nil {
			t.Fatalf("olive back under a new break-glass policy: %v", err)
		}

		// The break-glass policy's MFA made optional.
		_, err = s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &optional}})
		lastBreakGlass(t, "MFA optional", err)
		if p, _ := st.GetPolicy(ctx, k.id, k.bg.ID); p.MFA != storage.MFARequired {
			t.Fatalf("the refused MFA change was written: %q", p.MFA)
		}
		if _, err := s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &optional},
			ForceReason: force.Reason}); err != nil {
			t.Fatalf("forced MFA optional: %v", err)
		}
		forcedEvent(t, st, k.id, "policy.update", force.Reason)
		if _, err := s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{Settings: policy.Settings{MFA: &required}}); err != nil {
			t.Fatalf("MFA required again: %v", err)
		}

		// The break-glass policy's SSO made optional, or enforced.
		ssoOptional, ssoEnforced, ssoOff, none := storage.SSOOptional, storage.SSOEnforced, storage.SSOOff, ""
		_, err = s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{SSO: &ssoOptional, Connection: &k.conn})
		lastBreakGlass(t, "SSO optional", err)
		if _, err := s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{SSO: &ssoOptional, Connection: &k.conn,
			ForceReason: force.Reason}); err != nil {
			t.Fatalf("forced SSO optional: %v", err)
		}
		forcedEvent(t, st, k.id, "policy.update", force.Reason)
		if _, err := s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{SSO: &ssoOff, Connection: &none}); err != nil {
			t.Fatalf("SSO off again: %v", err)
		}
		_, err = s.policies.Update(ctx, k.id, k.bg.ID, policy.UpdateInput{SSO: &ssoEnforced, Connection: &k.conn})
		if le := (*lockout.Error)(nil); !errors.As(err, &le) || !le.NoBreakGlass {
			t.Fatalf("SSO enforced on the break-glass policy: %v, want the break-glass refusal", err)
		}

		// With a second break-glass owner with a second factor, olive
		// may go.
		if err := s.policies.SetMember(ctx, k.id, k.emails[2], k.bg.ID); err != nil {
			t.Fatal(err)
		}
		auth.enrol(t, k.acctIDs[2])
		if _, err := s.accounts.SetStatus(ctx, k.id, olive, storage.StatusSuspended); err != nil {
			t.Fatalf("suspend olive with pat as a second break-glass owner: %v", err)
		}
	})
}
