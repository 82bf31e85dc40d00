package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Test keys are generated once per test binary: RSA generation would
// otherwise dominate the run time.
var (
	keysOnce           sync.Once
	spKey              *rsa.PrivateKey
	idpKey1, idpKey2   *samltest.Keypair
	expiringIdPKeypair *samltest.Keypair
)

func keys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		if spKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		mk := func(cn string, notAfter time.Time) *samltest.Keypair {
			k, err := samltest.NewKeypair(cn, t0.Add(-24*time.Hour), notAfter)
			if err != nil {
				panic(err)
			}
			return k
		}
		idpKey1 = mk("idp-1", t0.Add(3*365*24*time.Hour))
		idpKey2 = mk("idp-2", t0.Add(3*365*24*time.Hour))
		expiringIdPKeypair = mk("idp-expiring", t0.Add(10*24*time.Hour))
	})
}

type clock = testenv.Clock

type env struct {
	t     *testing.T
	ctx   context.Context
	st    storage.Store
	box   *secretbox.Box
	clock *clock
	svc   *Service
}

func newEnv(t *testing.T, st storage.Store) *env {
	keys(t)
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	box, err := secretbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.NewClock(t0)
	// The metadata test servers listen on loopback, which the fetch guard
	// refuses unless allowed (see TestMetadataSSRF).
	svc := New(st, box, Config{PublicURL: "https://gatehouse.test/", MetadataAllowedNetworks: LoopbackNetworks}, nil, c.Now)
	svc.genKey = func() (*rsa.PrivateKey, error) { return spKey, nil }
	return &env{t: t, ctx: authz.AsCLI(context.Background(), "test"), st: st, box: box, clock: c, svc: svc}
}

func (e *env) org(slug string) string {
	e.t.Helper()
	o := storage.Organization{ID: uuid.NewString(), Slug: slug + "-" + uuid.NewString()[:6], Name: slug, CreatedAt: t0}
	if err := e.st.CreateOrganization(e.ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

func (e *env) events(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// metadataXML renders IdP metadata the way Entra ID shapes it.
func metadataXML(entityID, ssoURL string, wantSigned bool, certs ...*samltest.Keypair) string {
	var kd strings.Builder
	for _, k := range certs {
		fmt.Fprintf(&kd, `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(k.Cert.Raw))
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><EntityDescriptor entityID="%s" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">`+
		`<IDPSSODescriptor WantAuthnRequestsSigned="%t" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s`+
		`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`+
		`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>`+
		`</IDPSSODescriptor></EntityDescriptor>`, entityID, wantSigned, kd.String(), ssoURL, ssoURL)
}

// metadataServer serves whatever body holds; failing makes it answer 503.
type metadataServer struct {
	*httptest.Server
	body    atomic.Value // string
	failing atomic.Bool
	hits    atomic.Int32
}

func newMetadataServer(t *testing.T, body string) *metadataServer {
	m := &metadataServer{}
	m.body.Store(body)
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		if m.failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write([]byte(m.body.Load().(string)))
	}))
	t.Cleanup(m.Close)
	return m
}
