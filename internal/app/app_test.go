package app_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// Dialect names the database actually opened, including SQLite chosen
// explicitly through database_url (which serve once logged as "postgres").
func TestDialect(t *testing.T) {
	for name, dbURL := range map[string]string{
		"default":  "",
		"explicit": "sqlite://" + filepath.Join(t.TempDir(), "explicit.db"),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.DatabaseURL = dbURL
			a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			if got := a.Dialect(); got != sqlstore.DialectSQLite {
				t.Fatalf("Dialect() = %q, want %q", got, sqlstore.DialectSQLite)
			}
		})
	}
}

// A PostgreSQL address that accepts connections but never answers used to
// hang the start for as long as the operating system kept the connection.
// The first contact now has a request's deadline, and Open says why it
// failed.
func TestOpenFailsOnADatabaseThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = "postgres://gatehouse@" + ln.Addr().String() + "/gatehouse?sslmode=disable"
	cfg.HTTP.RequestTimeout = 500 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			_ = a.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "open database") {
			t.Fatalf("Open on a silent database: %v", err)
		}
	case <-time.After(2 * time.Minute): // generous: the point is that it ends
		t.Fatal("Open still waiting on a database that never answers")
	}
}

// OpenWith builds every service on the given clock: what the services
// record carries its time, not the machine's.
func TestOpenWithClock(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := app.OpenWith(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("OpenWith: %v", err)
	}
	defer a.Close()
	if !a.Now().Equal(at) {
		t.Errorf("a.Now() = %v, want %v", a.Now(), at)
	}
	org, err := a.Accounts.CreateOrganization(authz.AsCLI(t.Context(), "test"), "Clock Corp", "clock")
	if err != nil {
		t.Fatal(err)
	}
	if !org.CreatedAt.Equal(at) {
		t.Errorf("organization created at %v, want the injected %v", org.CreatedAt, at)
	}
}
