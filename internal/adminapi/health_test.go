package adminapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// failingSignIns makes conn's SSO fail as sign-ins and checks would: one
// success a minute ago, five refused responses now, a failed probe and a
// good metadata refresh; then the health service evaluates, which opens an
// incident (5 of 6 failed, above the default half).
func (e *env) failingSignIns(conn apiview.Connection, now time.Time) {
	e.t.Helper()
	ctx := e.ctx
	if err := e.store.RecordSSOOutcome(ctx, conn.ID, storage.OutcomeSucceeded, now.Add(-time.Minute), 1); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.RecordSSOOutcome(ctx, conn.ID, storage.OutcomeInvalid, now, 5); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.RecordSSOCheck(ctx, storage.SSOCheck{ConnectionID: conn.ID, Kind: storage.CheckProbe,
		At: storage.Truncate(now.Add(-2 * time.Second)), Latency: 40 * time.Millisecond, Detail: "connection refused"}); err != nil {
		e.t.Fatal(err)
	}
	stored, err := e.store.GetIdPConnection(ctx, conn.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	e.health.MetadataRefreshed(ctx, stored, nil)
	if err := e.health.Evaluate(ctx, now); err != nil {
		e.t.Fatal(err)
	}
}

// An admin's dashboard (a read token) sees a connection go down through
// the API: its state, the open incident and its cause, the last sign-in's
// outcome, the window's counts, the last probe and metadata refresh and
// when the signing certificate expires; and the incident in the history.
// Another organization's token sees none of it.
func TestIdPHealthAndIncidents(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, store storage.Store) {
		e := newEnvOn(t, store)
		read, _ := e.token("dashboard", storage.TokenScopeRead)
		conn := e.addManualIdP(e.tokenA, "Acme Okta", "https://okta.acme.test/", "https://okta.acme.test/sso")

		var h apiview.ConnectionHealth
		r := e.do("GET", "/api/v1/idps/"+conn.ID+"/health", read, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET health of a new connection = %d %s", r.status, r.body)
		}
		r.json(t, &h)
		if h.State != "operational" || h.Incident != nil || h.LastOutcome != nil || h.Window.Started != 0 ||
			h.Window.WindowSeconds != 15*60 || h.LastProbe != nil || len(h.Checks) != 0 {
			t.Errorf("health of a new connection = %s", r.body)
		}
		if len(h.Certs) != 1 || h.Certs[0].NotAfter.IsZero() || h.Certs[0].SHA256Fingerprint != conn.Certificates[0].SHA256Fingerprint {
			t.Errorf("certificates = %+v, want the connection's one with its expiry", h.Certs)
		}

		now := time.Now()
		e.failingSignIns(conn, now)

		// By slug too, as every /idps/{id} route.
		r = e.do("GET", "/api/v1/idps/"+conn.Slug+"/health", read, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET health with a read token = %d %s", r.status, r.body)
		}
		h = apiview.ConnectionHealth{}
		r.json(t, &h)
		switch {
		case h.State != "down" || h.Slug != "acme-okta" || h.Name != "Acme Okta":
			t.Errorf("state = %q (%s %s), want down", h.State, h.Slug, h.Name)
		case h.Incident == nil || !h.Incident.Open || h.Incident.Cause != "failure_ratio" || h.Incident.EndedAt != nil ||
			h.Incident.CauseText != "Too many sign-ins failed" || !strings.Contains(h.Incident.Details, "5 of 6"):
			t.Errorf("incident = %+v", h.Incident)
		case h.LastOutcome == nil || h.LastOutcome.Kind != storage.OutcomeInvalid:
			t.Errorf("last outcome = %+v, want invalid", h.LastOutcome)
		case h.Window.Succeeded != 1 || h.Window.Invalid != 5 || h.Window.Failures != 5:
			t.Errorf("window = %+v, want 1 succeeded and 5 invalid", h.Window)
		case h.LastProbe == nil || h.LastProbe.OK || h.LastProbe.Detail != "connection refused" || h.LastProbe.LatencyMS != 40:
			t.Errorf("last probe = %+v", h.LastProbe)
		case h.LastRefresh == nil || !h.LastRefresh.OK:
			t.Errorf("last metadata refresh = %+v", h.LastRefresh)
		case len(h.Checks) != 2:
			t.Errorf("checks = %+v, want the probe and the refresh", h.Checks)
		}

		var list apiview.IncidentList
		r = e.do("GET", "/api/v1/incidents", read, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /incidents with a read token = %d %s", r.status, r.body)
		}
		r.json(t, &list)
		if len(list.Incidents) != 1 || list.Incidents[0].ID != h.Incident.ID || list.Incidents[0].ConnectionSlug != "acme-okta" ||
			list.Incidents[0].ConnectionName != "Acme Okta" || !list.Incidents[0].Open {
			t.Errorf("incidents = %s", r.body)
		}
		// An open incident is in any window, however recent its start.
		since := url.QueryEscape(now.Add(time.Hour).UTC().Format(time.RFC3339))
		list = apiview.IncidentList{}
		if r = e.do("GET", "/api/v1/incidents?since="+since, read, nil); r.status != http.StatusOK {
			t.Fatalf("GET /incidents?since= = %d %s", r.status, r.body)
		}
		r.json(t, &list)
		if len(list.Incidents) != 1 {
			t.Errorf("incidents since an hour ahead = %s, want the open one", r.body)
		}
		for _, q := range []string{"?since=yesterday", "?since=2030-01-01T00:00:00Z&since=2030-01-02T00:00:00Z", "?limit=3"} {
			if r = e.do("GET", "/api/v1/incidents"+q, read, nil); r.status != http.StatusBadRequest || r.errCode(t) != adminapi.CodeInvalidRequest {
				t.Errorf("GET /incidents%s = %d %s, want 400 invalid_request", q, r.status, r.body)
			}
		}

		// Org B's token: A's connection is not found (as a missing one),
		// and B's incident history is empty.
		rb := e.do("GET", "/api/v1/idps/"+conn.ID+"/health", e.tokenB, nil)
		missing := e.do("GET", "/api/v1/idps/no-such-idp/health", e.tokenB, nil)
		if rb.status != http.StatusNotFound || rb.errCode(t) != adminapi.CodeNotFound || strings.Contains(string(rb.body), "Okta") {
			t.Errorf("GET A's connection health with B's token = %d %s, want 404", rb.status, rb.body)
		}
		if strings.ReplaceAll(string(rb.body), conn.ID, "X") != strings.ReplaceAll(string(missing.body), "no-such-idp", "X") {
			t.Errorf("A's connection answers B\n%s\nbut a missing one\n%s", rb.body, missing.body)
		}
		list = apiview.IncidentList{}
		r = e.do("GET", "/api/v1/incidents", e.tokenB, nil)
		r.json(t, &list)
		if r.status != http.StatusOK || len(list.Incidents) != 0 {
			t.Errorf("GET /incidents with B's token = %d %s, want none of A's", r.status, r.body)
		}

		// The incident ends once its cause has been clear for a window.
		if err := e.health.Evaluate(e.ctx, now.Add(20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		h = apiview.ConnectionHealth{}
		e.do("GET", "/api/v1/idps/"+conn.ID+"/health", read, nil).json(t, &h)
		list = apiview.IncidentList{}
		e.do("GET", "/api/v1/incidents", read, nil).json(t, &list)
		if h.Incident != nil || len(list.Incidents) != 1 || list.Incidents[0].Open || list.Incidents[0].EndedAt == nil {
			t.Errorf("after recovery: health incident %+v, incidents %+v", h.Incident, list.Incidents)
		}
	})
}

// Without the health service, its endpoints do not exist.
func TestHealthServiceOptional(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	(&adminapi.Handler{Accounts: e.accounts, Sessions: e.sessions, IdPs: e.idps, Audit: audit.NewService(e.store)}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	conn := e.addManualIdP(e.tokenA, "Okta", "https://okta.acme.test/", "https://okta.acme.test/sso")
	for path, want := range map[string]int{
		"/api/v1/incidents":                   404,
		"/api/v1/idps/" + conn.ID + "/health": 404,
		"/api/v1/idps/" + conn.ID:             200,
	} {
		if r := send(t, srv.URL+path, "GET", "Bearer "+e.tokenA, nil); r.status != want {
			t.Errorf("GET %s = %d, want %d", path, r.status, want)
		}
	}
}
