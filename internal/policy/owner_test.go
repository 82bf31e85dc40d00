package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// An admin who is not an owner must not be able to send an owner's sign-in
// through a connection: with an IdP they control, they would then sign in
// as the owner. Owners may; admins still configure SSO for everyone else.
func TestOnlyOwnersRouteOwnersThroughSSO(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		owner := e.account(org, "olive@acme.example")
		admin := e.account(org, "mallory@acme.example")
		for acct, role := range map[string]storage.Role{owner.ID: storage.RoleOwner, admin.ID: storage.RoleAdmin} {
			if _, err := st.UpdateAccount(e.ctx, acct, func(a *storage.Account) error { a.Role = role; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		evil := e.conn(org, "evil", true)
		asAdmin := reqctx.WithActor(e.ctx, "account", admin.ID, admin.Email)
		asOwner := reqctx.WithActor(e.ctx, "account", owner.ID, owner.Email)
		optional := storage.SSOOptional
		conn := evil.Slug

		// The owner is under the default policy: the admin cannot turn SSO on there.
		if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
			t.Fatal(err)
		}
		before := len(e.events(org, "policy.*"))
		_, err := e.svc.Update(asAdmin, org, DefaultName, UpdateInput{SSO: &optional, Connection: &conn})
		if !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin routes the default policy (owner under it) through SSO: %v", err)
		}
		// Nor move the owner into a named SSO policy.
		if _, err := e.svc.Create(asAdmin, org, "sso-people", storage.SSOOptional, conn); err != nil {
			t.Fatal(err) // a policy without owners is the admin's to make
		}
		if err := e.svc.SetMember(asAdmin, org, owner.Email, "sso-people"); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin moves the owner into an SSO policy: %v", err)
		}
		if got := len(e.events(org, "policy.*")); got != before+1 { // only the create
			t.Fatalf("refused changes wrote audit events: %d → %d", before, got)
		}
		if p, _ := st.PolicyFor(e.ctx, org, owner.ID); p.SSO != storage.SSOOff {
			t.Fatalf("the owner's policy changed: %+v", p)
		}

		// The owner may do both.
		if _, err := e.svc.Update(asOwner, org, DefaultName, UpdateInput{SSO: &optional, Connection: &conn}); err != nil {
			t.Fatalf("owner: %v", err)
		}
		// Now that an owner signs in through the connection, changing its
		// trust is an owner's call too.
		_, err = st.UpdateIdPConnection(e.ctx, evil.ID, func(c *storage.IdPConnection) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if err := account.RequireOwnerForConnection(asAdmin, st, org, evil.ID); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin may change the trust of the owner's connection: %v", err)
		}
		if err := account.RequireOwnerForConnection(asOwner, st, org, evil.ID); err != nil {
			t.Fatalf("owner may not change it: %v", err)
		}
	})
}

// An admin may not change how an owner signs in through the policy's
// settings (MFA, lifetimes) or by moving the owner with an IdP group.
func TestOnlyOwnersChangeOwnersSettings(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		owner := e.account(org, "olive@acme.example")
		admin := e.account(org, "mallory@acme.example")
		for acct, role := range map[string]storage.Role{owner.ID: storage.RoleOwner, admin.ID: storage.RoleAdmin} {
			if _, err := st.UpdateAccount(e.ctx, acct, func(a *storage.Account) error { a.Role = role; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetAccountGroups(e.ctx, owner.ID, []string{"execs"}); err != nil {
			t.Fatal(err)
		}
		asAdmin := reqctx.WithActor(e.ctx, "account", admin.ID, admin.Email)
		if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
			t.Fatal(err)
		}
		optional := storage.MFAOptional
		if _, err := e.svc.Update(asAdmin, org, DefaultName, UpdateInput{Settings: Settings{MFA: &optional, IdleTimeout: ptr(time.Minute)}}); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin changes the owner's policy settings: %v", err)
		}
		if _, err := e.svc.Create(asAdmin, org, "Loose", storage.SSOOff, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Update(asAdmin, org, "Loose", UpdateInput{Settings: Settings{AddGroups: []string{"execs"}}}); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin moves the owner by group: %v", err)
		}
		if _, err := e.svc.Update(asAdmin, org, "Loose", UpdateInput{Settings: Settings{AddGroups: []string{"interns"}, MFA: &optional}}); err != nil {
			t.Fatalf("admin changes a policy without owners: %v", err)
		}
	})
}
