// Package inproc assembles Gatehouse in the benchmark's own process, as
// `serve` does (app.OpenWith + server.Handler, every middleware, the
// production logger writing to nowhere), on a free loopback port, with one
// organization whose member the caller creates. Benchmarks that compare
// Gatehouse with something else in the same process, or seed its database
// directly, start from here.
package inproc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // FreshPostgres

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Server is an assembled Gatehouse serving on loopback.
type Server struct {
	App *app.App
	// URL is where it listens (http://127.0.0.1:PORT).
	URL string
	Org storage.Organization
	// Admin acts as the operator at the CLI (for registering apps and the like).
	Admin context.Context

	srv  *http.Server
	stop func()
	wg   sync.WaitGroup
	dir  string
}

// Start assembles Gatehouse on a fresh data directory (SQLite) or dbURL,
// runs the session service's invalidation poller and the apps snapshot, and
// creates the organization "bench".
func Start(ctx context.Context, dbURL string) (*Server, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	cfg := config.Default()
	cfg.DataDir, cfg.DatabaseURL = dir, dbURL
	cfg.PublicURL = "http://localhost:" + port
	cfg.Listen = l.Addr().String()
	cfg.Session.StaleAfter = config.StaleFactor * cfg.Session.PollInterval
	// The production logger (JSON, info: one access-log line per request),
	// writing to nowhere: formatting is measured, the disk is not.
	a, err := app.OpenWith(ctx, cfg, app.NewLogger(cfg.Log, io.Discard), app.Options{})
	if err != nil {
		l.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	h, err := server.Handler(a)
	if err != nil {
		l.Close()
		a.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{App: a, URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: h}, dir: dir,
		Admin: authz.AsCLI(ctx, "bench")}
	go func() { _ = s.srv.Serve(l) }()
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	for _, run := range []func(context.Context){a.Sessions.Run, a.Apps.Run} {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); run(bg) }()
	}
	if s.Org, err = a.Accounts.CreateOrganization(s.Admin, "Bench", "bench"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// SignedIn creates an active account of the organization with role and a
// session for it, and returns the account and the session cookie's token.
func (s *Server) SignedIn(ctx context.Context, id, email string, role storage.Role, method string) (storage.Account, string, error) {
	now := time.Now().UTC()
	acct := storage.Account{ID: id, OrgID: s.Org.ID, Email: email, DisplayName: "Person",
		Role: role, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.App.Store.CreateAccount(ctx, acct); err != nil {
		return storage.Account{}, "", err
	}
	tok, _, err := s.App.Sessions.Start(ctx, session.StartParams{Account: acct, Method: method})
	return acct, tok, err
}

// Close stops the server and its loops and removes its data directory.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.stop()
	s.wg.Wait()
	_ = s.App.Close()
	_ = os.RemoveAll(s.dir)
}

// FreshPostgres creates a database on the server dsn points at and returns
// its URL and a function that drops it.
func FreshPostgres(dsn string) (string, func(), error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_bench_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(base64.RawURLEncoding.EncodeToString(b[:])))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}
