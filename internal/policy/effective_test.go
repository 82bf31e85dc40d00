package policy

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Effective says which policy applies and why: none yet, the default, an
// email domain, an IdP group (naming the group, and the group policies
// that lose), an
// explicit membership that beats the groups. It needs a reader.
func TestEffectiveSaysWhy(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		a := e.account(org, "ann@acme.example")

		got, err := e.svc.Effective(e.ctx, org, a.ID)
		if err != nil || got.Why != WhyNone {
			t.Fatalf("no policies: %+v, %v", got, err)
		}
		if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
			t.Fatal(err)
		}
		if got, err = e.svc.Effective(e.ctx, org, a.ID); err != nil || got.Why != WhyDefault || !got.Policy.IsDefault {
			t.Fatalf("default: %+v, %v", got, err)
		}

		// A policy naming the email's domain comes before the default.
		e.verify(org, "acme.example")
		if _, err := e.svc.CreateWith(e.ctx, org, CreateInput{Name: "Acme staff", SSO: storage.SSOOff}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AddDomain(e.ctx, org, "Acme staff", "acme.example"); err != nil {
			t.Fatal(err)
		}
		if got, err = e.svc.Effective(e.ctx, org, a.ID); err != nil || got.Why != WhyDomain || got.Policy.Name != "Acme staff" || got.Domain != "acme.example" {
			t.Fatalf("by domain: %+v, %v", got, err)
		}

		for _, in := range []CreateInput{
			{Name: "Admins", SSO: storage.SSOOff, Settings: Settings{AddGroups: []string{"gh-admins"}}},
			{Name: "Builders", SSO: storage.SSOOff, Settings: Settings{AddGroups: []string{"eng"}}},
			{Name: "Contractors", SSO: storage.SSOOff},
		} {
			if _, err := e.svc.CreateWith(e.ctx, org, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetAccountGroups(e.ctx, a.ID, []string{"eng", "gh-admins", "sales"}); err != nil {
			t.Fatal(err)
		}
		got, err = e.svc.Effective(e.ctx, org, a.ID)
		if err != nil || got.Why != WhyGroup || got.Policy.Name != "Admins" || !slices.Equal(got.Groups, []string{"gh-admins"}) {
			t.Fatalf("by group: %+v, %v", got, err)
		}
		if len(got.Overridden) != 1 || got.Overridden[0].Name != "Builders" {
			t.Errorf("overridden = %+v, want Builders", got.Overridden)
		}

		if err := e.svc.SetMember(e.ctx, org, a.Email, "Contractors"); err != nil {
			t.Fatal(err)
		}
		got, err = e.svc.Effective(e.ctx, org, a.ID)
		if err != nil || got.Why != WhyExplicit || got.Policy.Name != "Contractors" || len(got.Overridden) != 2 {
			t.Fatalf("explicit: %+v, %v", got, err)
		}

		if _, err := e.svc.Effective(context.Background(), org, a.ID); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("without an actor: %v, want forbidden", err)
		}
	})
}
