package mfa_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// bgFixture is an organization that enforces SSO on its default policy,
// with a break-glass policy (SSO off, MFA required) and the passkey and
// authenticator-app services wired as the app wires them: each asks both
// who else has a second factor.
type bgFixture struct {
	*fixture
	totp *mfa.Service
	bg   storage.Policy
}

func newBGFixture(t *testing.T, st storage.Store) *bgFixture {
	t.Helper()
	f := &bgFixture{fixture: newFixture(t, st)}
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.totp = mfa.NewService(st, box, "Gatehouse", nil, f.clock.Now)
	lookup := mfa.HasSecondFactor(f.totp, f.pk)
	f.totp.SetSecondFactor(lookup)
	f.pk.SetSecondFactor(lookup)
	ctx, now := t.Context(), f.clock.Now()
	conn := storage.IdPConnection{ID: uuid.NewString(), OrgID: f.org.ID, Slug: "corp", Name: "Corp", EntityID: "https://idp.example/",
		SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := st.CreateIdPConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	def := storage.Policy{ID: uuid.NewString(), OrgID: f.org.ID, Name: "Default", IsDefault: true, SSO: storage.SSOEnforced,
		ConnectionID: conn.ID, CreatedAt: now, UpdatedAt: now, Version: 1}
	f.bg = storage.Policy{ID: uuid.NewString(), OrgID: f.org.ID, Name: "Break glass", SSO: storage.SSOOff, MFA: storage.MFARequired,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	for _, p := range []storage.Policy{def, f.bg} {
		if err := st.CreatePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// owner adds a break-glass owner with a password.
func (f *bgFixture) owner(email string) storage.Account {
	f.t.Helper()
	a := f.account(email)
	a, err := f.store.UpdateAccount(f.t.Context(), a.ID, func(x *storage.Account) error {
		x.Role, x.PasswordHash = storage.RoleOwner, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.SetPolicyMember(f.t.Context(), f.org.ID, a.ID, f.bg.ID); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// enrolTOTP sets up acct's authenticator app.
func (f *bgFixture) enrolTOTP(acct storage.Account) {
	f.t.Helper()
	mfatest.EnrolTOTP(f.t, f.totp, acct, f.clock.Now())
}

func wantLastFactor(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, lockout.ErrLastBreakGlassFactor) ||
		!strings.Contains(err.Error(), "you are its only break-glass owner with an authenticator app or passkey") ||
		!strings.Contains(err.Error(), "First make sure another owner is a break-glass owner") {
		t.Fatalf("%s: %v, want ErrLastBreakGlassFactor", what, err)
	}
}

// The last break-glass owner with a second factor of an organization that
// enforces SSO cannot remove their last one, app or passkey, with words
// saying what to do first (there is no force). Removing one of two
// factors, or the last one once another break-glass owner has one, goes
// through.
func TestLastBreakGlassOwnerKeepsASecondFactor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newBGFixture(t, st)
		olive := f.owner("olive@acme.example")
		asOlive := authz.AsAccount(t.Context(), olive)
		auth := softauthn.New(origin)

		// Two factors: either may go.
		f.enrolTOTP(olive)
		pk := f.register(auth, olive, "Laptop", false)
		if err := f.pk.Remove(asOlive, olive, pk.ID); err != nil {
			t.Fatalf("remove the passkey beside an authenticator app: %v", err)
		}
		pk = f.register(auth, olive, "Laptop", false)
		if err := f.totp.RemoveTOTP(asOlive, olive); err != nil {
			t.Fatalf("remove the authenticator app beside a passkey: %v", err)
		}

		// The passkey is her last factor.
		wantLastFactor(t, "remove the last passkey", f.pk.Remove(asOlive, olive, pk.ID))
		if n, _, _ := f.pk.Count(t.Context(), olive.ID); n != 1 {
			t.Fatalf("the refused removal was written: %d passkeys left", n)
		}
		if len(f.auditActions(mfa.ActionPasskeyRemoved)) != 1 {
			t.Error("the refused passkey removal was audited as done")
		}

		// The app is her last factor.
		f.enrolTOTP(olive)
		if err := f.pk.Remove(asOlive, olive, pk.ID); err != nil {
			t.Fatal(err)
		}
		wantLastFactor(t, "remove the last authenticator app", f.totp.RemoveTOTP(asOlive, olive))
		if ok, _ := f.totp.TOTPEnrolled(t.Context(), olive.ID); !ok {
			t.Fatal("the refused removal of the authenticator app was written")
		}

		// pat becomes a second break-glass owner, first without a factor
		// (still refused), then with one: olive may remove hers.
		pat := f.owner("pat@acme.example")
		wantLastFactor(t, "another break-glass owner without a factor", f.totp.RemoveTOTP(asOlive, olive))
		f.enrolTOTP(pat)
		if err := f.totp.RemoveTOTP(asOlive, olive); err != nil {
			t.Fatalf("remove the app with another break-glass owner enrolled: %v", err)
		}
	})
}

// Outside an organization that enforces SSO, a break-glass owner removes
// their last factor freely: nothing depends on it yet.
func TestLastFactorWithoutEnforcedSSO(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newBGFixture(t, st)
		if _, err := st.UpdatePolicy(t.Context(), f.org.ID, mustDefault(t, st, f.org.ID), func(p *storage.Policy) error {
			p.SSO = storage.SSOOptional
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		olive := f.owner("olive@acme.example")
		f.enrolTOTP(olive)
		if err := f.totp.RemoveTOTP(authz.AsAccount(t.Context(), olive), olive); err != nil {
			t.Fatalf("remove the last factor with SSO optional: %v", err)
		}
	})
}

func mustDefault(t *testing.T, st storage.Store, orgID string) string {
	t.Helper()
	ps, err := st.ListPolicies(t.Context(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.IsDefault {
			return p.ID
		}
	}
	t.Fatal("no default policy")
	return ""
}

// An admin's reset of someone's sign-in methods is held to the same rule:
// it cannot take the last break-glass owner's only second factor while
// the organization enforces SSO; once another break-glass owner has one,
// it can.
func TestResetKeepsTheLastBreakGlassFactor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newBGFixture(t, st)
		olive := f.owner("olive@acme.example")
		f.enrolTOTP(olive)
		operator := authz.AsCLI(t.Context(), "root")
		_, err := f.totp.ResetFactors(operator, olive.OrgID, olive.ID, mfa.AllFactors)
		wantLastFactor(t, "reset the last break-glass owner's factors", err)
		if ok, _ := f.totp.TOTPEnrolled(t.Context(), olive.ID); !ok {
			t.Fatal("the refused reset was written")
		}
		pat := f.owner("pat@acme.example")
		f.enrolTOTP(pat)
		if _, err := f.totp.ResetFactors(operator, olive.OrgID, olive.ID, mfa.AllFactors); err != nil {
			t.Fatalf("reset with another break-glass owner enrolled: %v", err)
		}
	})
}
