package health_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func idpService(t *testing.T, st storage.Store, cfg idp.Config) *idp.Service {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	must(t, err)
	return idp.New(st, box, cfg, nil, nil)
}

// Probes go through the metadata fetcher's SSRF guard: an IdP address on
// an internal network is not contacted, and the refusal is recorded.
func TestProbeUsesTheSSRFGuard(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		hit := false
		internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
		defer internal.Close()
		idps := idpService(t, st, idp.Config{PublicURL: "https://gatehouse.example"})
		f := setup(t, st, health.Config{HTTPClient: idps.HTTPClient()})
		conn := f.conn
		conn.SSOURL = internal.URL + "/sso"
		c, err := f.svc.Probe(t.Context(), conn)
		must(t, err)
		if c.OK || hit || !strings.Contains(c.Detail, "not a public internet address") {
			t.Fatalf("probe of an internal address = %+v (reached: %v)", c, hit)
		}
	})
}

// A failed metadata refresh is recorded as a failed check.
func TestMetadataRefreshIsRecorded(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}))
		defer down.Close()
		f := setup(t, st, health.Config{})
		_, err := st.UpdateIdPConnection(t.Context(), f.conn.ID, func(c *storage.IdPConnection) error {
			c.MetadataURL = down.URL + "/metadata"
			return nil
		})
		must(t, err)
		idps := idpService(t, st, idp.Config{PublicURL: "https://gatehouse.example", HTTPClient: down.Client()})
		idps.SetRefreshObserver(f.svc)
		if _, err := idps.RefreshMetadata(t.Context(), f.conn.ID); err == nil {
			t.Fatal("refresh from a failing server succeeded")
		}
		checks, err := st.ListSSOChecks(t.Context(), f.conn.ID, storage.CheckMetadata, 0)
		must(t, err)
		if len(checks) != 1 || checks[0].OK {
			t.Fatalf("metadata checks = %+v", checks)
		}
	})
}

// Prometheus counts started, completed and abandoned sign-ins per slug.
func TestPrometheusCounters(t *testing.T) {
	st := sqltest.NewSQLite(t)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	f := setup(t, st, health.Config{})
	svc := health.New(st, nil, m, health.Config{}, nil, func() time.Time { return t0 })
	ctx := t.Context()
	svc.SSOStarted(ctx, f.conn)
	svc.SSOStarted(ctx, f.conn)
	svc.SSOEnded(ctx, f.conn, "", "")
	svc.SSOEnded(ctx, f.conn, "", "status_not_success")
	must(t, st.CreateAuthnRequest(ctx, storage.AuthnRequest{ID: "r1", ConnectionID: f.conn.ID, BrowserHash: "b",
		CreatedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(-50 * time.Minute)}))
	must(t, svc.CountAbandoned(ctx, t0))
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{value(m.SSOStarted.WithLabelValues("okta")), 2, "started"},
		{value(m.SSOCompleted.WithLabelValues("okta", "success")), 1, "success"},
		{value(m.SSOCompleted.WithLabelValues("okta", "idp_error")), 1, "idp_error"},
		{value(m.SSOAbandoned.WithLabelValues("okta")), 1, "abandoned"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// The console's reads fail closed without an actor of the organization.
func TestConsoleReadsNeedAReader(t *testing.T) {
	st := sqltest.NewSQLite(t)
	f := setup(t, st, health.Config{})
	if _, err := f.svc.ConnectionHealth(t.Context(), f.conn, t0); err == nil {
		t.Error("ConnectionHealth answered without an actor")
	}
	if _, err := f.svc.ListIncidents(t.Context(), "o1", t0); err == nil {
		t.Error("ListIncidents answered without an actor")
	}
	owner, err := st.GetAccount(t.Context(), "a1")
	must(t, err)
	if _, err := f.svc.ConnectionHealth(authz.AsAccount(t.Context(), owner), f.conn, t0); err != nil {
		t.Errorf("ConnectionHealth for the owner: %v", err)
	}
}
