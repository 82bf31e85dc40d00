package lockout_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// authenticators is a minimal real second factor: an account has one once
// it confirmed a TOTP code from its authenticator app.
type authenticators struct {
	mu       sync.Mutex
	enrolled map[string]bool
}

func (a *authenticators) enrol(t *testing.T, accountID string) {
	t.Helper()
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Gatehouse", AccountName: accountID})
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(key.Secret(), time.Now())
	if err != nil || !totp.Validate(code, key.Secret()) {
		t.Fatalf("confirm the authenticator app: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.enrolled[accountID] = true
}

func (a *authenticators) has(_ context.Context, accountID string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.enrolled[accountID], nil
}

// Enforcing SSO needs a break-glass owner with a second factor outside the
// enforced policy: refused (with words saying what to do) without one,
// with an owner under SSO off but no MFA requirement, with MFA required but
// no factor enrolled; let through once the owner enrols, or when forced
// with a reason, which the audit event records.
func TestEnforcingSSONeedsABreakGlassOwner(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		auth := &authenticators{enrolled: map[string]bool{}}
		s := newServices(t, st, auth.has)
		ctx := authz.AsCLI(context.Background(), "test")
		enforced := storage.SSOEnforced

		o := s.seedOrg(t, 900)
		olive := o.acctIDs[0]
		bg, err := s.policies.Create(ctx, o.id, "Break glass", storage.SSOOff, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.policies.SetMember(ctx, o.id, o.emails[0], bg.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range o.domains {
			if _, err := s.domains.Verify(ctx, o.id, id); err != nil {
				t.Fatal(err)
			}
		}
		conn := o.conns[0]
		enforce := func() error {
			_, err := s.policies.Update(ctx, o.id, policy.DefaultName, policy.UpdateInput{SSO: &enforced, Connection: &conn})
			return err
		}
		refused := func(step string) {
			t.Helper()
			err := enforce()
			var le *lockout.Error
			if !errors.As(err, &le) || !le.NoBreakGlass || !errors.Is(err, lockout.ErrLockout) ||
				!strings.Contains(err.Error(), "Add an owner to a break-glass policy (SSO off, MFA required) and have them enrol an authenticator app or passkey") {
				t.Fatalf("%s: enforce = %v, want the break-glass refusal", step, err)
			}
			if p, _ := s.policies.Get(ctx, o.id, policy.DefaultName); p.SSO == enforced {
				t.Fatalf("%s: the refused change was written", step)
			}
		}
		// Olive keeps her password under SSO off, so the owner rule alone
		// would pass; but her policy does not require MFA.
		refused("SSO off, MFA optional")
		if _, err := st.UpdatePolicy(ctx, o.id, bg.ID, func(p *storage.Policy) error { p.MFA = storage.MFARequired; return nil }); err != nil {
			t.Fatal(err)
		}
		refused("MFA required, nothing enrolled")
		auth.enrol(t, o.acctIDs[3]) // ada is an admin, not an owner: does not count
		refused("only an admin enrolled")
		// Creating a policy that enforces SSO is enforcing SSO too.
		var le *lockout.Error
		if _, err := s.policies.Create(ctx, o.id, "Engineering", enforced, conn); !errors.As(err, &le) || !le.NoBreakGlass {
			t.Fatalf("create enforced: %v, want the break-glass refusal", err)
		}

		// Forced with a reason: through, and the audit event says why.
		if _, err := s.policies.Update(ctx, o.id, policy.DefaultName, policy.UpdateInput{SSO: &enforced, Connection: &conn,
			ForceReason: "the break-glass owner enrols tomorrow"}); err != nil {
			t.Fatalf("forced: %v", err)
		}
		evs, err := st.ListAudit(ctx, storage.AuditFilter{OrgID: o.id, Action: "policy.update"})
		if err != nil || len(evs) == 0 {
			t.Fatalf("policy.update events: %v, %v", evs, err)
		}
		d := evs[len(evs)-1].Details
		if d["forced"] != "true" || d["force_reason"] != "the break-glass owner enrols tomorrow" || d["override_lockout"] != lockout.ReasonNoBreakGlass {
			t.Errorf("forced event details = %v", d)
		}

		// Back to off, then olive enrols: enforcing passes unforced.
		off, none := storage.SSOOff, ""
		if _, err := s.policies.Update(ctx, o.id, policy.DefaultName, policy.UpdateInput{SSO: &off, Connection: &none}); err != nil {
			t.Fatal(err)
		}
		auth.enrol(t, olive)
		if err := enforce(); err != nil {
			t.Fatalf("with a break-glass owner enrolled: %v", err)
		}
		if _, err := s.policies.Create(ctx, o.id, "Engineering", enforced, conn); err != nil {
			t.Fatalf("create enforced with a break-glass owner enrolled: %v", err)
		}
		evs, _ = st.ListAudit(ctx, storage.AuditFilter{OrgID: o.id, Action: "policy.update"})
		if d := evs[len(evs)-1].Details; d["forced"] != "" {
			t.Errorf("an unforced enforcement is annotated: %v", d)
		}

		// Moving a person into the enforced policy is enforcing SSO on
		// them; a change that enforces nothing (a role change) is not
		// asked for a break-glass owner.
		if err := s.policies.SetMember(ctx, o.id, o.emails[5], ""); err != nil {
			t.Fatalf("move mel to the enforced default: %v", err)
		}
	})
}
