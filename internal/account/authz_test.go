package account_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// need is the least authority an operation asks for.
type need int

const (
	needReader need = iota
	needAdmin
	needOwner
)

// Every guarded account operation, by every kind of actor: allowed exactly
// when the actor has the authority, refused with ErrForbidden (or
// ErrOwnerOnly for an admin on an owner's operation) otherwise, and a
// refusal changes nothing and records nothing.
func TestOperationsByActor(t *testing.T) {
	type fixture struct {
		org     storage.Organization
		targets map[string]storage.Account
		toks    map[string]storage.APIToken
	}
	ops := []struct {
		name string
		need need
		run  func(ctx context.Context, e *env, f fixture) error
	}{
		{"ListMembers", needReader, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.ListMembers(ctx, f.org.ID)
			return err
		}},
		{"ListAPITokens", needReader, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.ListAPITokens(ctx, f.org.ID)
			return err
		}},
		{"AddMember member", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.AddMember(ctx, f.org.ID, account.MemberInput{Email: "new-member@" + f.org.Slug + ".example"})
			return err
		}},
		{"AddMember owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.AddMember(ctx, f.org.ID, account.MemberInput{Email: "new-owner@" + f.org.Slug + ".example", Role: storage.RoleOwner})
			return err
		}},
		{"SetRole member to admin", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.SetRole(ctx, f.org.ID, f.targets["m1"].ID, storage.RoleAdmin)
			return err
		}},
		{"SetRole member to owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.SetRole(ctx, f.org.ID, f.targets["m2"].ID, storage.RoleOwner)
			return err
		}},
		{"SetRole owner to admin", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.SetRole(ctx, f.org.ID, f.targets["o1"].ID, storage.RoleAdmin)
			return err
		}},
		{"SetStatus suspend member", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.SetStatus(ctx, f.org.ID, f.targets["m3"].ID, storage.StatusSuspended)
			return err
		}},
		{"SetStatus suspend owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.SetStatus(ctx, f.org.ID, f.targets["o2"].ID, storage.StatusSuspended)
			return err
		}},
		{"RevokeSessions member", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.RevokeSessions(ctx, f.org.ID, f.targets["m4"].ID)
			return err
		}},
		{"RevokeSessions owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, err := e.svc.RevokeSessions(ctx, f.org.ID, f.targets["o3"].ID)
			return err
		}},
		{"CreateAPIToken read", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, _, err := e.svc.CreateAPITokenWithScope(ctx, f.org.ID, "new-read", storage.TokenScopeRead)
			return err
		}},
		{"CreateAPIToken admin", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			_, _, err := e.svc.CreateAPIToken(ctx, f.org.ID, "new-admin")
			return err
		}},
		{"CreateAPIToken owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			_, _, err := e.svc.CreateAPITokenWithScope(ctx, f.org.ID, "new-owner", storage.TokenScopeOwner)
			return err
		}},
		{"RevokeAPIToken admin", needAdmin, func(ctx context.Context, e *env, f fixture) error {
			return e.svc.RevokeAPIToken(ctx, f.org.ID, f.toks["target-admin"].ID)
		}},
		{"RevokeAPIToken owner", needOwner, func(ctx context.Context, e *env, f fixture) error {
			return e.svc.RevokeAPIToken(ctx, f.org.ID, f.toks["target-owner"].ID)
		}},
	}
	actors := []struct {
		name string
		ctx  func(e *env, f fixture) context.Context
		has  need // the authority it holds; -1: none
	}{
		{"member", func(e *env, f fixture) context.Context { return authz.AsAccount(e.ctx, f.targets["actor-member"]) }, -1},
		{"admin", func(e *env, f fixture) context.Context { return authz.AsAccount(e.ctx, f.targets["actor-admin"]) }, needAdmin},
		{"owner", func(e *env, f fixture) context.Context { return authz.AsAccount(e.ctx, f.targets["actor-owner"]) }, needOwner},
		{"read token", func(e *env, f fixture) context.Context { return authz.AsToken(e.ctx, f.toks["read"]) }, needReader},
		{"admin token", func(e *env, f fixture) context.Context { return authz.AsToken(e.ctx, f.toks["admin"]) }, needAdmin},
		{"owner token", func(e *env, f fixture) context.Context { return authz.AsToken(e.ctx, f.toks["owner"]) }, needOwner},
		{"CLI", func(e *env, f fixture) context.Context { return authz.AsCLI(context.Background(), "root") }, needOwner},
		{"system", func(e *env, f fixture) context.Context { return authz.AsSystem(context.Background(), "job") }, needOwner},
		{"empty", func(e *env, f fixture) context.Context { return context.Background() }, -1},
	}
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		for i, actor := range actors {
			t.Run(actor.name, func(t *testing.T) {
				// A fresh organization per actor: the operations change it.
				org, err := e.svc.CreateOrganization(e.ctx, "Org "+actor.name, "")
				if err != nil {
					t.Fatal(err)
				}
				f := fixture{org: org, targets: map[string]storage.Account{}, toks: map[string]storage.APIToken{}}
				for name, role := range map[string]storage.Role{
					"m1": storage.RoleMember, "m2": storage.RoleMember, "m3": storage.RoleMember, "m4": storage.RoleMember,
					"o1": storage.RoleOwner, "o2": storage.RoleOwner, "o3": storage.RoleOwner,
					"actor-member": storage.RoleMember, "actor-admin": storage.RoleAdmin, "actor-owner": storage.RoleOwner,
				} {
					in := account.MemberInput{Email: fmt.Sprintf("%s@org%d.example", name, i), Role: role}
					if name == "actor-owner" {
						in.Password = ownerPassword // an owner who signs in without any IdP
					}
					a, err := e.svc.AddMember(e.ctx, org.ID, in)
					if err != nil {
						t.Fatal(err)
					}
					f.targets[name] = a
				}
				for name, scope := range map[string]string{"read": "read", "admin": "admin", "owner": "owner",
					"target-admin": "admin", "target-owner": "owner"} {
					_, tok, err := e.svc.CreateAPITokenWithScope(e.ctx, org.ID, name, scope)
					if err != nil {
						t.Fatal(err)
					}
					f.toks[name] = tok
				}
				auditCount := func() int {
					evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: org.ID, Limit: 1000})
					if err != nil {
						t.Fatal(err)
					}
					return len(evs)
				}
				ctx := actor.ctx(e, f)
				for _, op := range ops {
					before := auditCount()
					err := op.run(ctx, e, f)
					switch {
					case actor.has >= op.need:
						if err != nil {
							t.Errorf("%s: %v, want allowed", op.name, err)
						}
					case op.need == needOwner && actor.has == needAdmin:
						if !errors.Is(err, account.ErrOwnerOnly) {
							t.Errorf("%s: %v, want ErrOwnerOnly", op.name, err)
						}
					default:
						if !errors.Is(err, account.ErrForbidden) {
							t.Errorf("%s: %v, want ErrForbidden", op.name, err)
						}
					}
					if err != nil {
						if after := auditCount(); after != before {
							t.Errorf("%s: refused, yet %d audit events were written", op.name, after-before)
						}
					}
				}
			})
		}
	})
}
