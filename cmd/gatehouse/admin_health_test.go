package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// TestAdminHealthCLI: an operator on the server sees a connection go down
// with `idp health` (state, incident, cause, last sign-in, the window's
// counts, the last probe, certificate expiry) and the incident in
// `incidents`; another organization's list stays empty.
func TestAdminHealthCLI(t *testing.T) {
	forEachBackend(t, testAdminHealthCLI)
}

// breakSSO records what a failing IdP leaves behind (one success a minute
// ago, five refused responses now, a failed probe) in c's database, and has
// the health service evaluate: it opens an incident.
func breakSSO(t *testing.T, c *cli, slug string, now time.Time) {
	t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	org, err := st.GetOrganizationBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	conns, err := st.ListIdPConnections(ctx, org.ID)
	if err != nil || len(conns) != 1 || conns[0].Slug != slug {
		t.Fatalf("connections = %+v, %v", conns, err)
	}
	id := conns[0].ID
	for _, o := range []struct {
		kind string
		at   time.Time
		n    int
	}{{storage.OutcomeSucceeded, now.Add(-time.Minute), 1}, {storage.OutcomeInvalid, now, 5}} {
		if err := st.RecordSSOOutcome(ctx, id, o.kind, o.at, o.n); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordSSOCheck(ctx, storage.SSOCheck{ConnectionID: id, Kind: storage.CheckProbe, At: storage.Truncate(now),
		Latency: 12 * time.Millisecond, Detail: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	if err := health.New(st, nil, nil, health.Config{}, nil, time.Now).Evaluate(ctx, now); err != nil {
		t.Fatal(err)
	}
}

func testAdminHealthCLI(t *testing.T, c *cli) {
	kp, err := devidp.GenerateKeypair(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(certFile, kp.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
	c.ok("admin", "org", "create", "--name", "Beta", "--slug", "beta")
	c.ok("admin", "idp", "add", "--org", "acme", "--name", "Okta", "--entity-id", "https://okta.corp.example/",
		"--sso-url", "https://okta.corp.example/sso", "--cert-file", certFile)
	fp := saml.Fingerprint(kp.Cert)

	out := c.ok("admin", "idp", "health", "--org", "acme", "--slug", "okta")
	for _, want := range []string{"Okta (slug okta): Operational", "Last sign-in", "none yet", "Sign-ins, last 15m",
		"0 succeeded, 0 failed", fp, "days"} {
		if !strings.Contains(out, want) {
			t.Errorf("idp health of a new connection lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Incident since") {
		t.Errorf("idp health shows an incident before any:\n%s", out)
	}

	now := time.Now()
	breakSSO(t, c, "okta", now)

	// --idp names the connection as in `policy set`.
	out = c.ok("admin", "idp", "health", "--org", "acme", "--idp", "okta")
	for _, want := range []string{"Okta (slug okta): Down: an incident is open", "Incident since", "Cause",
		"Too many sign-ins failed: 5 of 6 sign-ins", "Last sign-in", "invalid at " + when(now),
		"1 succeeded, 5 failed (0 IdP errors, 5 refused responses, 0 abandoned); 0 started",
		"Last probe", "FAILED at", "12 ms: connection refused", "Last metadata refresh", "none recently", fp} {
		if !strings.Contains(out, want) {
			t.Errorf("idp health of a failing connection lacks %q:\n%s", want, out)
		}
	}
	var h apiview.ConnectionHealth
	if err := json.Unmarshal([]byte(c.ok("admin", "idp", "health", "--org", "acme", "--slug", "okta", "--json")), &h); err != nil {
		t.Fatal(err)
	}
	if h.State != "down" || h.Incident == nil || h.Incident.Cause != "failure_ratio" || h.Window.Invalid != 5 ||
		len(h.Certs) != 1 || h.Certs[0].SHA256Fingerprint != fp || h.LastProbe == nil || h.LastProbe.OK {
		t.Errorf("idp health --json = %+v", h)
	}
	c.fails(`acme has no IdP connection "nope"`, "admin", "idp", "health", "--org", "acme", "--slug", "nope")
	c.fails("--slug is required", "admin", "idp", "health", "--org", "acme")

	out = c.ok("admin", "incidents", "--org", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONNECTION") || !strings.Contains(lines[1], "okta") ||
		!strings.Contains(lines[1], "ongoing") || !strings.Contains(lines[1], "Too many sign-ins failed") {
		t.Errorf("incidents:\n%s", out)
	}
	var list apiview.IncidentList
	if err := json.Unmarshal([]byte(c.ok("admin", "incidents", "--org", "acme", "--since", "720h", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Incidents) != 1 || !list.Incidents[0].Open || list.Incidents[0].ConnectionSlug != "okta" || list.Incidents[0].ID != h.Incident.ID {
		t.Errorf("incidents --json = %+v", list)
	}
	list = apiview.IncidentList{}
	if err := json.Unmarshal([]byte(c.ok("admin", "incidents", "--org", "beta", "--json")), &list); err != nil || list.Incidents == nil || len(list.Incidents) != 0 {
		t.Errorf("beta's incidents = %+v (%v), want an empty list", list, err)
	}
	c.fails("--since:", "admin", "incidents", "--org", "acme", "--since", "last tuesday")
}
