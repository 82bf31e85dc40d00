package idp

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// While an owner signs in through a connection, an admin who is not an
// owner cannot change what it trusts: a certificate of the admin's own
// would let them sign in as the owner.
func TestAdminCannotRetrustAnOwnersConnection(t *testing.T) {
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
		owner, admin := mk("olive@acme.example", storage.RoleOwner), mk("mallory@acme.example", storage.RoleAdmin)
		c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Corp", EntityID: "https://idp.example/corp",
			SSOURL: "https://idp.example/sso", CertificatesPEM: []string{string(idpKey1.CertPEM())}})
		if err != nil {
			t.Fatal(err)
		}
		def := storage.Policy{ID: uuid.NewString(), OrgID: org, Name: "default", IsDefault: true,
			SSO: storage.SSOEnforced, ConnectionID: c.ID, CreatedAt: t0, UpdatedAt: t0, Version: 1}
		if err := st.CreatePolicy(e.ctx, def); err != nil {
			t.Fatal(err)
		}
		asAdmin := reqctx.WithActor(e.ctx, "account", admin.ID, admin.Email)
		asOwner := reqctx.WithActor(e.ctx, "account", owner.ID, owner.Email)
		attacker := string(idpKey2.CertPEM())

		if _, err := e.svc.AddCertificate(asAdmin, org, c.ID, attacker); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin adds a certificate to the owner's connection: %v", err)
		}
		entity := "https://evil.example/idp"
		if _, err := e.svc.Update(asAdmin, org, c.ID, UpdateInput{EntityID: &entity}); !errors.Is(err, account.ErrOwnerOnly) {
			t.Fatalf("admin changes the owner's connection's entity ID: %v", err)
		}
		if got, _ := e.svc.Get(e.ctx, org, c.ID); len(got.SigningCertsPEM) != 1 || got.EntityID != "https://idp.example/corp" {
			t.Fatalf("refused changes changed the connection: %+v", got)
		}
		if _, err := e.svc.AddCertificate(asOwner, org, c.ID, attacker); err != nil {
			t.Fatalf("owner adds a certificate: %v", err)
		}
	})
}
