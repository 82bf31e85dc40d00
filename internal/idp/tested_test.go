package idp

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestTrustChangeVoidsTest: SSO may only be enforced through a connection
// an admin has test-signed-in through (TestedAt), because the usual
// lockout is a wrong entity ID or certificate. Before the fix a test made
// once stayed valid whatever was changed afterwards: test with the right
// settings, then change the entity ID or remove the working certificate,
// and enforcement was still allowed — the very lockout the rule exists to
// prevent. A change that can break sign-in now voids the test; one that
// cannot (a name, an extra certificate) keeps it.
func TestTrustChangeVoidsTest(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("tested")
		newConn := func() storage.IdPConnection {
			c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Manual", EntityID: entraEntity, SSOURL: entraSSO,
				CertificatesPEM: []string{string(idpKey1.CertPEM()), string(idpKey2.CertPEM())}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		tested := func(c storage.IdPConnection) storage.IdPConnection {
			c, err := st.UpdateIdPConnection(e.ctx, c.ID, func(c *storage.IdPConnection) error { c.TestedAt = t0; return nil })
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		str := func(s string) *string { return &s }
		yes, no := true, false
		for _, tc := range []struct {
			name  string
			fn    func(c storage.IdPConnection) (storage.IdPConnection, error)
			voids bool
		}{
			{"entity ID", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{EntityID: str("https://sts.windows.net/00000000-0000-0000-0000-000000000000/")})
			}, true},
			{"SSO URL", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{SSOURL: str("https://login.example/saml2")})
			}, true},
			{"pasted metadata", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{MetadataXML: str(metadataXML(entraEntity, entraSSO, false, idpKey2))})
			}, true},
			{"attribute mapping", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				m := map[string]string{saml.MapEmail: "mail"}
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{AttributeMap: &m})
			}, true},
			{"NameID format", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{NameIDFormat: str("persistent")})
			}, true},
			{"signed requests", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{SignRequests: &yes})
			}, true},
			{"certificate removed", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.RemoveCertificate(e.ctx, org, c.ID, saml.Fingerprint(idpKey1.Cert))
			}, true},
			{"name", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{Name: str("Renamed")})
			}, false},
			{"IdP-initiated sign-in", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.Update(e.ctx, org, c.ID, UpdateInput{AllowIdPInitiated: &yes, JIT: &no})
			}, false},
			{"certificate added", func(c storage.IdPConnection) (storage.IdPConnection, error) {
				return e.svc.AddCertificate(e.ctx, org, c.ID, string(expiringIdPKeypair.CertPEM()))
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := tested(newConn())
				out, err := tc.fn(c)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := st.GetIdPConnection(e.ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if voided := stored.TestedAt.IsZero(); voided != tc.voids || out.TestedAt.IsZero() != tc.voids {
					t.Errorf("TestedAt after changing the %s: %v (returned %v), want voided=%v", tc.name, stored.TestedAt, out.TestedAt, tc.voids)
				}
			})
		}
	})
}
