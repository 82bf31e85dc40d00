package authz_test

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

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// world is two organizations with one account of each role, tokens of each
// scope, a suspended admin and a revoked token.
type world struct {
	st     storage.Store
	org    string
	other  string
	accts  map[string]storage.Account
	tokens map[string]storage.APIToken
}

func newWorld(t *testing.T, st storage.Store) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{st: st, org: "o", other: "p", accts: map[string]storage.Account{}, tokens: map[string]storage.APIToken{}}
	for _, id := range []string{"o", "p"} {
		if err := st.CreateOrganization(ctx, storage.Organization{ID: id, Slug: id, Name: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		id, org string
		role    storage.Role
		status  storage.AccountStatus
	}{
		{"member", "o", storage.RoleMember, storage.StatusActive},
		{"admin", "o", storage.RoleAdmin, storage.StatusActive},
		{"owner", "o", storage.RoleOwner, storage.StatusActive},
		{"suspended-admin", "o", storage.RoleAdmin, storage.StatusSuspended},
		{"other-owner", "p", storage.RoleOwner, storage.StatusActive},
	} {
		acct := storage.Account{ID: a.id, OrgID: a.org, Email: a.id + "@" + a.org + ".example", Role: a.role,
			Status: a.status, CreatedAt: t0, UpdatedAt: t0, Version: 1}
		if err := st.CreateAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		w.accts[a.id] = acct
	}
	for _, tk := range []struct{ id, org, scope string }{
		{"read", "o", storage.TokenScopeRead},
		{"admin", "o", storage.TokenScopeAdmin},
		{"owner", "o", storage.TokenScopeOwner},
		{"revoked", "o", storage.TokenScopeOwner},
		{"unscoped", "o", ""},
		{"bogus", "o", "root"},
		{"other-owner", "p", storage.TokenScopeOwner},
	} {
		tok := storage.APIToken{ID: "tok-" + tk.id, OrgID: tk.org, Name: tk.id, TokenHash: "hash-" + tk.id,
			CreatedBy: "cli", Scope: tk.scope, CreatedAt: t0}
		if err := st.CreateAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		w.tokens[tk.id] = tok
	}
	if err := st.RevokeAPIToken(ctx, "o", "tok-revoked", t0); err != nil {
		t.Fatal(err)
	}
	return w
}

// actorCases names every kind of actor a request can carry, with what it
// may do in org "o".
var actorCases = []struct {
	name               string
	ctx                func(w *world) context.Context
	read, admin, owner bool
	ownerErr           error // the error RequireOwner returns when owner is false
}{
	{"member", acct("member"), false, false, false, authz.ErrForbidden},
	{"admin", acct("admin"), true, true, false, authz.ErrOwnerOnly},
	{"owner", acct("owner"), true, true, true, nil},
	{"suspended admin", acct("suspended-admin"), false, false, false, authz.ErrForbidden},
	{"owner of another organization", acct("other-owner"), false, false, false, authz.ErrForbidden},
	{"unknown account", raw("account", "ghost"), false, false, false, authz.ErrForbidden},
	{"account without ID", raw("account", ""), false, false, false, authz.ErrForbidden},
	{"read token", tok("read"), true, false, false, authz.ErrForbidden},
	{"admin token", tok("admin"), true, true, false, authz.ErrOwnerOnly},
	{"owner token", tok("owner"), true, true, true, nil},
	{"revoked token", tok("revoked"), false, false, false, authz.ErrForbidden},
	{"token without scope", tok("unscoped"), false, false, false, authz.ErrForbidden},
	{"token with an unknown scope", tok("bogus"), false, false, false, authz.ErrForbidden},
	{"token of another organization", tok("other-owner"), false, false, false, authz.ErrForbidden},
	{"CLI", func(*world) context.Context { return authz.AsCLI(context.Background(), "root") }, true, true, true, nil},
	{"system", func(*world) context.Context { return authz.AsSystem(context.Background(), "idp.refresh") }, true, true, true, nil},
	{"empty", func(*world) context.Context { return context.Background() }, false, false, false, authz.ErrForbidden},
	{"anonymous", raw("anonymous", ""), false, false, false, authz.ErrForbidden},
	{"SCIM (not yet defined)", raw("scim", "conn-1"), false, false, false, authz.ErrForbidden},
	{"unknown kind", raw("root", "root"), false, false, false, authz.ErrForbidden},
}

func acct(id string) func(*world) context.Context {
	return func(w *world) context.Context { return authz.AsAccount(context.Background(), w.accts[id]) }
}

func tok(id string) func(*world) context.Context {
	return func(w *world) context.Context { return authz.AsToken(context.Background(), w.tokens[id]) }
}

func raw(kind, id string) func(*world) context.Context {
	return func(*world) context.Context { return reqctx.WithActor(context.Background(), kind, id, "") }
}

func TestRequire(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		w := newWorld(t, st)
		for _, c := range actorCases {
			t.Run(c.name, func(t *testing.T) {
				ctx := c.ctx(w)
				check := func(what string, allowed bool, err, wantDenied error) {
					t.Helper()
					switch {
					case allowed && err != nil:
						t.Errorf("%s = %v, want allowed", what, err)
					case !allowed && !errors.Is(err, wantDenied):
						t.Errorf("%s = %v, want %v", what, err, wantDenied)
					}
				}
				_, err := authz.RequireReader(ctx, st, w.org)
				check("RequireReader", c.read, err, authz.ErrForbidden)
				_, err = authz.RequireAdmin(ctx, st, w.org)
				check("RequireAdmin", c.admin, err, authz.ErrForbidden)
				a, err := authz.RequireOwner(ctx, st, w.org)
				check("RequireOwner", c.owner, err, c.ownerErr)
				if err == nil && a.OrgID != w.org {
					t.Errorf("resolved actor %+v, want org %q", a, w.org)
				}
				// No organization named: nobody may act.
				if _, err := authz.RequireReader(ctx, st, ""); !errors.Is(err, authz.ErrForbidden) {
					t.Errorf("RequireReader(no org) = %v, want ErrForbidden", err)
				}
			})
		}
	})
}

// The owner guards refuse whoever may not act on owners when an owner is
// concerned, let admins change what concerns no owner, and refuse an actor
// who may not act at all even then.
func TestRequireOwnerForMember(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		w := newWorld(t, st)
		for _, c := range actorCases {
			t.Run(c.name, func(t *testing.T) {
				ctx := c.ctx(w)
				err := authz.RequireOwnerForMember(ctx, st, w.accts["owner"])
				if c.owner != (err == nil) || (!c.owner && !errors.Is(err, c.ownerErr)) {
					t.Errorf("on an owner = %v; want allowed=%v or %v", err, c.owner, c.ownerErr)
				}
				// A member is anyone's to change who may change anything;
				// the caller checks RequireAdmin for that.
				if err := authz.RequireOwnerForMember(ctx, st, w.accts["member"]); err != nil {
					t.Errorf("on a member = %v", err)
				}
			})
		}
	})
}

func TestCheckScope(t *testing.T) {
	for in, want := range map[string]string{"": "admin", "read": "read", "admin": "admin", "owner": "owner", "Owner": "", "root": "", " read": ""} {
		got, err := authz.CheckScope(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("CheckScope(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
