package policy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Every policy change asks for an actor who may change the organization:
// a member, a read token, another organization's admin, or no actor at all
// is refused and nothing is written; admins, admin and owner tokens, the
// CLI and the system go ahead (no owner is concerned here).
func TestPolicyChangesByActor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, other := e.org("acme"), e.org("other")
		accts := map[storage.Role]storage.Account{}
		for role, email := range map[storage.Role]string{storage.RoleMember: "m@acme.example", storage.RoleAdmin: "a@acme.example"} {
			a := e.account(org, email)
			if _, err := st.UpdateAccount(e.ctx, a.ID, func(x *storage.Account) error { x.Role = role; return nil }); err != nil {
				t.Fatal(err)
			}
			accts[role] = a
		}
		foreign := e.account(other, "a@other.example")
		if _, err := st.UpdateAccount(e.ctx, foreign.ID, func(x *storage.Account) error { x.Role = storage.RoleOwner; return nil }); err != nil {
			t.Fatal(err)
		}
		toks := map[string]storage.APIToken{}
		for _, scope := range []string{storage.TokenScopeRead, storage.TokenScopeAdmin, storage.TokenScopeOwner} {
			tk := storage.APIToken{ID: "tok-" + scope, OrgID: org, Name: scope, TokenHash: "h-" + scope, CreatedBy: "cli",
				Scope: scope, CreatedAt: time.Unix(0, 0)}
			if err := st.CreateAPIToken(e.ctx, tk); err != nil {
				t.Fatal(err)
			}
			toks[scope] = tk
		}
		if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
			t.Fatal(err)
		}
		conn := e.conn(org, "corp", true).Slug
		bg := context.Background()
		for _, c := range []struct {
			name    string
			ctx     context.Context
			allowed bool
		}{
			{"member", authz.AsAccount(bg, accts[storage.RoleMember]), false},
			{"admin", authz.AsAccount(bg, accts[storage.RoleAdmin]), true},
			{"owner of another organization", authz.AsAccount(bg, foreign), false},
			{"read token", authz.AsToken(bg, toks[storage.TokenScopeRead]), false},
			{"admin token", authz.AsToken(bg, toks[storage.TokenScopeAdmin]), true},
			{"owner token", authz.AsToken(bg, toks[storage.TokenScopeOwner]), true},
			{"CLI", authz.AsCLI(bg, "root"), true},
			{"system", authz.AsSystem(bg, "job"), true},
			{"empty", bg, false},
			{"anonymous", reqctx.WithActor(bg, "anonymous", "", ""), false},
		} {
			t.Run(c.name, func(t *testing.T) {
				name := "p-" + c.name
				optional := storage.SSOOptional
				ops := []struct {
					op  string
					run func() error
				}{
					{"Create", func() error { _, err := e.svc.Create(c.ctx, org, name, storage.SSOOff, ""); return err }},
					{"Update", func() error {
						_, err := e.svc.Update(c.ctx, org, name, UpdateInput{SSO: &optional, Connection: &conn})
						return err
					}},
					{"SetMember", func() error { return e.svc.SetMember(c.ctx, org, "m@acme.example", name) }},
					{"Delete", func() error { return e.svc.Delete(c.ctx, org, name) }},
				}
				if !c.allowed {
					// Something to refuse the changes on, made by the operator.
					if _, err := e.svc.Create(e.ctx, org, name, storage.SSOOff, ""); err != nil {
						t.Fatal(err)
					}
					ops = ops[1:]
				}
				for _, op := range ops {
					before := len(e.events(org, "policy.*"))
					err := op.run()
					if c.allowed && err != nil {
						t.Errorf("%s: %v, want allowed", op.op, err)
					}
					if !c.allowed {
						if !errors.Is(err, authz.ErrForbidden) {
							t.Errorf("%s: %v, want ErrForbidden", op.op, err)
						}
						if got := len(e.events(org, "policy.*")); got != before {
							t.Errorf("%s refused, yet wrote %d audit events", op.op, got-before)
						}
					}
				}
				if !c.allowed {
					if _, err := e.svc.Create(c.ctx, org, name+"-new", storage.SSOOff, ""); !errors.Is(err, authz.ErrForbidden) {
						t.Errorf("Create: %v, want ErrForbidden", err)
					}
				}
			})
		}
	})
}
