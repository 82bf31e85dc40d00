// Package sqltest makes throwaway, migrated sqlstore databases for tests:
// NewSQLite, NewPostgres and ForEachBackend, which other packages' tests
// use to run against real databases. It registers both dialects with
// storagetest, so the conformance suite (storagetest.RunRegistered) runs
// against them without storagetest knowing sqlstore.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/storagetest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

func init() {
	storagetest.Register("sqlite", func(t testing.TB) storage.Store { return NewSQLite(t) })
	storagetest.Register("postgres", func(t testing.TB) storage.Store { return NewPostgres(t) })
}

// NewSQLite returns a fresh, migrated SQLite store in t.TempDir(), closed
// when the test ends.
func NewSQLite(t testing.TB) storage.Store {
	t.Helper()
	return open(t, "sqlite://"+filepath.Join(t.TempDir(), "gatehouse.db"))
}

// NewPostgres returns a fresh, migrated store on a PostgreSQL database of
// its own, created for this test and dropped when it ends, so tests in
// parallel packages never see each other's rows. It skips the test (or fails
// it under GATEHOUSE_TEST_REQUIRE_ALL=1) when GATEHOUSE_TEST_POSTGRES_DSN is
// not set.
func NewPostgres(t testing.TB) storage.Store {
	t.Helper()
	s := open(t, PostgresDatabaseURL(t))
	// Parallel test packages share one server; keep each store's share of
	// max_connections small.
	s.DB().SetMaxOpenConns(12)
	return s
}

// ForEachBackend runs fn as the subtests "sqlite" and "postgres", each with a
// fresh store. The postgres subtest skips without a DSN (see NewPostgres).
func ForEachBackend(t *testing.T, fn func(t *testing.T, s storage.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, NewPostgres(t)) })
}

func open(t testing.TB, databaseURL string) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sqlstore.Open(ctx, databaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open test store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate test store: %v", err)
	}
	return s
}

// PostgresDatabaseURL creates an empty database with a random name
// (gh_test_<hex>) on the server named by GATEHOUSE_TEST_POSTGRES_DSN and
// returns a URL for it; the database is dropped, with any connections still
// open to it, when the test ends. It skips like NewPostgres. Use it for tests
// that need an unmigrated database.
func PostgresDatabaseURL(t testing.TB) string {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open PostgreSQL admin connection: %v", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The name is ours (hex), so quoting it is enough.
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		_ = admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	return withDatabase(t, dsn, name)
}

// withDatabase points a postgres:// URL at database name.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_DSN must be a postgres:// URL (%v)", err)
	}
	u.Path = "/" + name
	return u.String()
}
