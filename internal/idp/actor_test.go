package idp

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Every connection change asks for an actor who may change the
// organization: a member, a read token or no actor at all is refused and
// nothing is written; admins, admin and owner tokens, the CLI and the
// system go ahead (no owner signs in through the connection here).
func TestConnectionChangesByActor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		mk := func(email string, role storage.Role) storage.Account {
			a := storage.Account{ID: uuid.NewString(), OrgID: org, Email: email, Role: role,
				Status: storage.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}
			if err := st.CreateAccount(e.ctx, a); err != nil {
				t.Fatal(err)
			}
			return a
		}
		member, admin := mk("m@acme.example", storage.RoleMember), mk("a@acme.example", storage.RoleAdmin)
		toks := map[string]storage.APIToken{}
		for _, scope := range []string{storage.TokenScopeRead, storage.TokenScopeAdmin, storage.TokenScopeOwner} {
			tk := storage.APIToken{ID: "tok-" + scope, OrgID: org, Name: scope, TokenHash: "h-" + scope, CreatedBy: "cli",
				Scope: scope, CreatedAt: t0}
			if err := st.CreateAPIToken(e.ctx, tk); err != nil {
				t.Fatal(err)
			}
			toks[scope] = tk
		}
		bg := context.Background()
		for _, c := range []struct {
			name    string
			ctx     context.Context
			allowed bool
		}{
			{"member", authz.AsAccount(bg, member), false},
			{"admin", authz.AsAccount(bg, admin), true},
			{"read token", authz.AsToken(bg, toks[storage.TokenScopeRead]), false},
			{"admin token", authz.AsToken(bg, toks[storage.TokenScopeAdmin]), true},
			{"owner token", authz.AsToken(bg, toks[storage.TokenScopeOwner]), true},
			{"CLI", authz.AsCLI(bg, "root"), true},
			{"system", authz.AsSystem(bg, "job"), true},
			{"empty", bg, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := CreateInput{Name: "Corp " + c.name, EntityID: "https://idp.example/" + uuid.NewString(),
					SSOURL: "https://idp.example/sso", CertificatesPEM: []string{string(idpKey1.CertPEM())}}
				target, err := e.svc.Create(e.ctx, org, in) // the operator's, to change
				if err != nil {
					t.Fatal(err)
				}
				name := "Renamed " + c.name
				in.EntityID = "https://idp.example/" + uuid.NewString()
				ops := []struct {
					op  string
					run func() error
				}{
					{"Create", func() error { _, err := e.svc.Create(c.ctx, org, in); return err }},
					{"Update", func() error { _, err := e.svc.Update(c.ctx, org, target.ID, UpdateInput{Name: &name}); return err }},
					{"AddCertificate", func() error {
						_, err := e.svc.AddCertificate(c.ctx, org, target.ID, string(idpKey2.CertPEM()))
						return err
					}},
					{"RemoveCertificate", func() error {
						fp := saml.Fingerprint(idpKey2.Cert)
						if !c.allowed {
							fp = saml.Fingerprint(idpKey1.Cert)
						}
						_, err := e.svc.RemoveCertificate(c.ctx, org, target.ID, fp)
						return err
					}},
					{"Remove", func() error { return e.svc.Remove(c.ctx, org, target.ID) }},
				}
				if !c.allowed {
					// A second certificate, so a removal could succeed but for the actor.
					if _, err := e.svc.AddCertificate(e.ctx, org, target.ID, string(idpKey2.CertPEM())); err != nil {
						t.Fatal(err)
					}
				}
				for _, op := range ops {
					before := len(e.events(org, "idp.*"))
					err := op.run()
					if c.allowed && err != nil {
						t.Errorf("%s: %v, want allowed", op.op, err)
					}
					if !c.allowed {
						if !errors.Is(err, authz.ErrForbidden) {
							t.Errorf("%s: %v, want ErrForbidden", op.op, err)
						}
						if got := len(e.events(org, "idp.*")); got != before {
							t.Errorf("%s refused, yet wrote %d audit events", op.op, got-before)
						}
					}
				}
			})
		}
	})
}
