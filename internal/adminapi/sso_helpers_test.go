package adminapi_test

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func secretBox(t *testing.T) *secretbox.Box {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, err := secretbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// IdP signing keys are made once per test binary: RSA generation would
// otherwise dominate the run time.
var (
	keysOnce         sync.Once
	idpKey, idpKey2  *samltest.Keypair
	expiredCertOfKey *samltest.Keypair
)

func keys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		now := time.Now()
		mk := func(cn string) *samltest.Keypair {
			k, err := samltest.NewKeypair(cn, now.Add(-time.Hour), now.AddDate(3, 0, 0))
			if err != nil {
				panic(err)
			}
			return k
		}
		idpKey, idpKey2 = mk("Contoso IdP"), mk("Contoso IdP 2026")
		old, err := samltest.NewCertificate(idpKey.Key, "Contoso IdP old", now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1))
		if err != nil {
			panic(err)
		}
		expiredCertOfKey = &samltest.Keypair{Key: idpKey.Key, Cert: old}
	})
}

// devIdP is the development IdP served on 127.0.0.1 (loopback http is
// allowed for metadata URLs); failing makes every request answer 503.
type devIdP struct {
	srv     *httptest.Server
	idp     *devidp.IdP
	failing atomic.Bool
}

func startDevIdP(t *testing.T) *devIdP {
	t.Helper()
	keys(t)
	d := &devIdP{}
	var h http.Handler
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	var err error
	d.idp, err = devidp.New(devidp.Config{
		BaseURL: d.srv.URL, Key: idpKey.Key, Cert: idpKey.Cert,
		Users: []devidp.User{{Email: "alice@corp.example", Password: "correct horse battery staple"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = d.idp.Handler()
	return d
}

func (d *devIdP) metadataURL() string { return d.srv.URL + "/metadata" }

// metadataXML is the IdP's metadata document.
func (d *devIdP) metadataXML(t *testing.T) string {
	t.Helper()
	res, err := http.Get(d.metadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", res.StatusCode, err)
	}
	return string(b)
}

// addManualIdP connects an IdP from manual settings, signing with idpKey,
// through the API with token.
func (e *env) addManualIdP(token, name, entityID, ssoURL string) apiview.Connection {
	e.t.Helper()
	keys(e.t)
	r := e.do("POST", "/api/v1/idps", token, body(map[string]any{
		"name": name, "entity_id": entityID, "sso_url": ssoURL, "certificates_pem": []string{string(idpKey.CertPEM())},
	}))
	var c apiview.Connection
	r.json(e.t, &c)
	if r.status != 201 {
		e.t.Fatalf("create connection %s = %d %s", name, r.status, r.body)
	}
	return c
}

// ssoCounts counts an organization's domains, connections and policies.
func (e *env) ssoCounts(orgID string) [3]int {
	e.t.Helper()
	ds, err := e.store.ListDomains(e.ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.store.ListIdPConnections(e.ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	ps, err := e.store.ListPolicies(e.ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return [3]int{len(ds), len(cs), len(ps)}
}

// markTested records a completed test sign-in through the connection, as
// the SSO service does after an admin's test login.
func (e *env) markTested(id string) {
	e.t.Helper()
	if _, err := e.store.UpdateIdPConnection(e.ctx, id, func(c *storage.IdPConnection) error {
		c.TestedAt = storage.Truncate(time.Now())
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// events returns the organization's audit events with the action.
func (e *env) events(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
