package apps

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	ctx context.Context // the CLI operator: may do anything
	st  storage.Store
	svc *Service
	org string
}

func newEnv(t *testing.T, st storage.Store) *env {
	e := &env{t: t, ctx: authz.AsCLI(t.Context(), "test"), st: st,
		svc: New(st, "https://id.example.com", nil, func() time.Time { return t0 })}
	e.org = e.newOrg("acme")
	return e
}

func (e *env) newOrg(slug string) string {
	e.t.Helper()
	o := storage.Organization{ID: uuid.NewString(), Slug: slug, Name: slug, CreatedAt: t0}
	if err := e.st.CreateOrganization(e.ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

func (e *env) person(orgID string, role storage.Role) context.Context {
	e.t.Helper()
	a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: uuid.NewString() + "@acme.test", Role: role,
		Status: storage.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := e.st.CreateAccount(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return authz.AsAccount(e.t.Context(), a)
}

func (e *env) create(in Input) (storage.App, string) {
	e.t.Helper()
	a, secret, err := e.svc.Create(e.ctx, e.org, in)
	if err != nil {
		e.t.Fatalf("Create(%+v): %v", in, err)
	}
	return a, secret
}

func grafana() Input {
	return Input{Name: "Grafana", RedirectURIs: []string{"https://grafana.example.com/login/generic_oauth"},
		Scopes: []string{"openid", "email", "profile"}}
}

func TestCreateShowsTheSecretOnceAndStoresItsHash(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		a, secret := e.create(grafana())
		if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+43 {
			t.Fatalf("secret %q: want %s and 43 base64url characters", secret, SecretPrefix)
		}
		if len(a.ClientID) < 22 || strings.Contains(strings.ToLower(a.ClientID), "acme") || strings.Contains(strings.ToLower(a.ClientID), "grafana") {
			t.Fatalf("client ID %q: want 22+ random characters naming nothing", a.ClientID)
		}
		stored, err := e.svc.ByClientID(t.Context(), a.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.SecretHash == "" || strings.Contains(stored.SecretHash, secret) || len(stored.SecretHash) != 64 {
			t.Fatalf("stored secret %q: want its hex SHA-256", stored.SecretHash)
		}
		if !VerifySecret(stored, secret) {
			t.Fatal("the secret shown does not verify")
		}
		for _, wrong := range []string{"", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret), stored.SecretHash} {
			if VerifySecret(stored, wrong) {
				t.Fatalf("VerifySecret(%q) = true", wrong)
			}
		}
		if got, want := stored.Scopes, []string{"email", "profile"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("scopes %v, want %v (openid implied)", got, want)
		}
		if stored.SigningAlg != AlgRS256 {
			t.Fatalf("signing alg %q, want RS256 by default", stored.SigningAlg)
		}
		// Two apps never share a client ID or a secret.
		b, secret2 := e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com"}})
		if b.ClientID == a.ClientID || secret2 == secret {
			t.Fatal("two apps got the same client ID or secret")
		}

		// The audit trail names the app, never its secret or hash.
		evs, err := st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: "app.*"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Action != "app.create" || evs[0].TargetID != a.ID || evs[0].Details["name"] != "Grafana" {
			t.Fatalf("audit: %+v", evs)
		}
		for _, ev := range evs {
			for k, v := range ev.Details {
				if strings.Contains(v, SecretPrefix) || strings.Contains(v, stored.SecretHash) {
					t.Fatalf("audit detail %s carries the secret: %q", k, v)
				}
			}
		}
	})
}

func TestPublicAppHasNoSecret(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	in := Input{Name: "CLI", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback", "com.example.cli:/cb"}}
	a, secret := e.create(in)
	if secret != "" || a.SecretHash != "" {
		t.Fatalf("public app got secret %q / hash %q", secret, a.SecretHash)
	}
	if VerifySecret(a, "") || VerifySecret(a, "anything") {
		t.Fatal("a public app verified a secret")
	}
	if _, err := e.svc.RotateSecret(e.ctx, e.org, a.ID); !errors.Is(err, ErrPublic) {
		t.Fatalf("RotateSecret on a public app: %v, want ErrPublic", err)
	}
	in.Public, in.RedirectURIs = false, []string{"http://127.0.0.1/callback"}
	if _, err := e.svc.Update(e.ctx, e.org, a.ID, in); errs.FieldOf(err) != "public" {
		t.Fatalf("making a public app confidential: %v", err)
	}
}

func TestRotateSecretEndsTheOldOne(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	a, old := e.create(grafana())
	secret, err := e.svc.RotateSecret(e.ctx, e.org, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := e.svc.ByClientID(t.Context(), a.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if VerifySecret(now, old) || !VerifySecret(now, secret) || secret == old {
		t.Fatal("after rotation the old secret must fail and the new one work")
	}
	if now.ClientID != a.ClientID {
		t.Fatal("rotation changed the client ID")
	}
	evs, _ := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: "app.secret_rotate"})
	if len(evs) != 1 || strings.Contains(evs[0].Details["client_id"], SecretPrefix) {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestUpdateReplacesSettingsAndKeepsIdentity(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	a, secret := e.create(grafana())
	in := InputOf(a)
	in.Name = "Grafana (prod)"
	in.Groups = []string{"ops"}
	in.Hosts = []string{"Grafana.Example.com:8443"}
	in.AccessTokenTTL = 10 * time.Minute
	in.SigningAlg = "ES256"
	got, err := e.svc.Update(e.ctx, e.org, a.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != a.ClientID || !VerifySecret(got, secret) || got.Name != "Grafana (prod)" ||
		got.Hosts[0] != "grafana.example.com:8443" || got.SigningAlg != "ES256" || got.Version != 2 {
		t.Fatalf("after update: %+v", got)
	}
	byName, err := e.svc.Get(e.ctx, e.org, "Grafana (prod)")
	if err != nil || byName.ID != a.ID {
		t.Fatalf("Get by name: %v %+v", err, byName)
	}
	evs, _ := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: "app.update"})
	if len(evs) != 1 || !strings.Contains(evs[0].Details["changed"], "groups") || evs[0].Details["previous_name"] != "Grafana" {
		t.Fatalf("audit: %+v", evs)
	}
	if _, err := e.svc.Update(e.ctx, e.org, "nope", in); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("Update of a missing app: %v", err)
	}
}

func TestDeleteForgetsTheApp(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	a, _ := e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com"}})
	if _, ok, _ := e.svc.ByHost(t.Context(), "wiki.example.com"); !ok {
		t.Fatal("host not found after create")
	}
	if err := e.svc.Delete(e.ctx, e.org, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.svc.ByHost(t.Context(), "wiki.example.com"); ok {
		t.Fatal("this node still knows the deleted app's host")
	}
	if _, err := e.svc.ByClientID(t.Context(), a.ClientID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ByClientID after delete: %v", err)
	}
	if err := e.svc.Delete(e.ctx, e.org, a.ID); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("second delete: %v", err)
	}
	evs, _ := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: "app.delete"})
	if len(evs) != 1 || evs[0].Details["name"] != "Wiki" {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestNameAndHostTaken(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com"}})
		_, _, err := e.svc.Create(e.ctx, e.org, Input{Name: "Wiki", Hosts: []string{"wiki2.example.com"}})
		if errs.KindOf(err) != errs.Conflict || errs.FieldOf(err) != "name" {
			t.Fatalf("same name: %v", err)
		}
		other := e.newOrg("other")
		_, _, err = e.svc.Create(e.ctx, other, Input{Name: "Their wiki", Hosts: []string{"WIKI.example.com"}})
		if errs.KindOf(err) != errs.Conflict || errs.FieldOf(err) != "hosts" {
			t.Fatalf("another organization's host: %v", err)
		}
		if strings.Contains(err.Error(), "Wiki\"") {
			t.Fatalf("the refusal names the other app: %v", err)
		}
		// The same name in another organization is fine.
		if _, _, err := e.svc.Create(e.ctx, other, Input{Name: "Wiki", Hosts: []string{"wiki.other.test"}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOnlyAdminsChangeApps(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	a, _ := e.create(grafana())
	member := e.person(e.org, storage.RoleMember)
	admin := e.person(e.org, storage.RoleAdmin)
	outsider := e.person(e.newOrg("other"), storage.RoleOwner)
	for name, ctx := range map[string]context.Context{"member": member, "no actor": t.Context(), "another org's owner": outsider} {
		if _, _, err := e.svc.Create(ctx, e.org, Input{Name: "X", Hosts: []string{"x.example.com"}}); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("%s Create: %v", name, err)
		}
		if _, err := e.svc.Update(ctx, e.org, a.ID, grafana()); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("%s Update: %v", name, err)
		}
		if _, err := e.svc.RotateSecret(ctx, e.org, a.ID); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("%s RotateSecret: %v", name, err)
		}
		if err := e.svc.Delete(ctx, e.org, a.ID); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("%s Delete: %v", name, err)
		}
		if _, err := e.svc.List(ctx, e.org); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("%s List: %v", name, err)
		}
	}
	if _, _, err := e.svc.Create(admin, e.org, Input{Name: "X", Hosts: []string{"x.example.com"}}); err != nil {
		t.Fatalf("admin Create: %v", err)
	}
	list, err := e.svc.List(admin, e.org)
	if err != nil || len(list) != 2 {
		t.Fatalf("admin List: %v %d", err, len(list))
	}
}

func TestAdmits(t *testing.T) {
	open := storage.App{}
	restricted := storage.App{Groups: []string{"ops", "Eng Team"}}
	for _, tc := range []struct {
		app    storage.App
		groups []string
		want   bool
	}{
		{open, nil, true},
		{restricted, nil, false},
		{restricted, []string{"dev", "ops"}, true},
		{restricted, []string{"Eng Team"}, true},
		{restricted, []string{"eng team", "OPS", " ops"}, false},
	} {
		if got := Admits(tc.app, tc.groups); got != tc.want {
			t.Errorf("Admits(%v, %v) = %v", tc.app.Groups, tc.groups, got)
		}
	}
}
