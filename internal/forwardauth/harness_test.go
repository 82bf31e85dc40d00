package forwardauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// gh is one running Gatehouse, assembled as `gatehouse serve` assembles it
// (app.OpenWith + server.Handler), on a loopback port.
type gh struct {
	t   *testing.T
	App *app.App
	// URL is the public URL, http://localhost:PORT.
	URL     string
	Handler http.Handler
	// DatabaseURL is the database, for a second node.
	DatabaseURL string
	admin       context.Context
}

// forEachBackend runs fn on SQLite and on PostgreSQL (skipped, or failed
// under GATEHOUSE_TEST_REQUIRE_ALL=1, without GATEHOUSE_TEST_POSTGRES_DSN).
func forEachBackend(t *testing.T, fn func(t *testing.T, g *gh)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startGatehouse(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, startGatehouse(t, sqltest.PostgresDatabaseURL(t))) })
}

func startGatehouse(t *testing.T, databaseURL string) *gh {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = databaseURL
	cfg.PublicURL = "http://localhost:" + port
	cfg.Listen = ts.Listener.Addr().String()
	cfg.Session.StaleAfter = config.StaleFactor * cfg.Session.PollInterval
	if ps := cfg.Validate(); len(ps) > 0 {
		t.Fatalf("config: %v", ps)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		log = app.NewLogger(config.LogConfig{Level: "debug", Format: "text"}, os.Stderr)
	}
	a, err := app.OpenWith(context.Background(), cfg, log, app.Options{})
	if err != nil {
		t.Fatalf("app.OpenWith: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h, err := server.Handler(a)
	if err != nil {
		t.Fatalf("server.Handler: %v", err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	// serve runs these loops: the session cache's feed and the apps
	// snapshot.
	bg, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Sessions.Run(bg); done <- struct{}{} }()
	go func() { a.Apps.Run(bg); done <- struct{}{} }()
	t.Cleanup(func() { stop(); <-done; <-done })
	dbURL := databaseURL
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(cfg.DataDir, "gatehouse.db")
	}
	return &gh{t: t, App: a, URL: cfg.PublicURL, Handler: h, DatabaseURL: dbURL, admin: authz.AsCLI(context.Background(), "test")}
}

var seq atomic.Int64

// org creates an organization.
func (g *gh) org(slug string) storage.Organization {
	g.t.Helper()
	o, err := g.App.Accounts.CreateOrganization(g.admin, "Org "+slug, slug)
	if err != nil {
		g.t.Fatalf("create organization: %v", err)
	}
	return o
}

// member creates an active member of org with groups and signs them in,
// returning the account and its session token.
func (g *gh) member(org storage.Organization, groups ...string) (storage.Account, string) {
	g.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	n := seq.Add(1)
	a := storage.Account{
		ID: fmt.Sprintf("acct-%s-%d", org.Slug, n), OrgID: org.ID, Email: fmt.Sprintf("person%d@%s.example", n, org.Slug),
		DisplayName: "Person", Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if err := g.App.Store.CreateAccount(ctx, a); err != nil {
		g.t.Fatal(err)
	}
	if len(groups) > 0 {
		if err := g.App.Store.SetAccountGroups(ctx, a.ID, groups); err != nil {
			g.t.Fatal(err)
		}
	}
	return a, g.signIn(a)
}

// signIn starts a session for a, as the sign-in engine's finish does.
func (g *gh) signIn(a storage.Account) string {
	g.t.Helper()
	tok, _, err := g.App.Sessions.Start(context.Background(), sessionStart(a))
	if err != nil {
		g.t.Fatalf("start session: %v", err)
	}
	return tok
}

func sessionStart(a storage.Account) session.StartParams {
	return session.StartParams{Account: a, Method: "sso", IP: "203.0.113.7", UserAgent: "test"}
}

// app registers a forward-auth app of org on hosts.
func (g *gh) app(org storage.Organization, name string, hosts []string, groups ...string) storage.App {
	g.t.Helper()
	x, _, err := g.App.Apps.Create(g.admin, org.ID, apps.Input{Name: name, Hosts: hosts, Groups: groups,
		RedirectURIs: []string{"https://" + hosts[0] + "/oauth/callback"}})
	if err != nil {
		g.t.Fatalf("create app: %v", err)
	}
	return x
}

// verify asks /auth/verify over HTTP, as a proxy does: the browser's cookie
// and the forwarded headers, redirects not followed.
func (g *gh) verify(token string, hdr map[string]string, query string) *http.Response {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.URL+"/auth/verify"+query, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: g.App.Sessions.CookieName(), Value: token})
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// forwarded are Traefik's and Caddy's headers for rawURL's parts.
func forwarded(proto, host, uri string) map[string]string {
	return map[string]string{"X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond) // the polling step, not a wait for the condition
	}
	return time.Since(start)
}
