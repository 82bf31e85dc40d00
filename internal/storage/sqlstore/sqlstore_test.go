package sqlstore_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/storage/storagetest"
)

// TestConformance runs the suite against every registered backend:
// importing sqltest registers sqlstore's two dialects, sqlite and postgres
// (whose subtests skip without GATEHOUSE_TEST_POSTGRES_DSN).
func TestConformance(t *testing.T) {
	storagetest.RunRegistered(t)
}

func open(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// unmigrated returns a URL for an empty database of each backend.
func unmigrated(t *testing.T, dialect string) string {
	if dialect == sqlstore.DialectSQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "g.db")
	}
	return sqltest.PostgresDatabaseURL(t)
}

func forEachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{sqlstore.DialectSQLite, sqlstore.DialectPostgres} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func TestReadyNeedsMigration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := open(t, unmigrated(t, dialect))
		if got := s.Dialect(); got != dialect {
			t.Fatalf("Dialect() = %q, want %q", got, dialect)
		}
		err := s.Ready(t.Context())
		if err == nil || !strings.Contains(err.Error(), "not migrated") || !strings.Contains(err.Error(), "gatehouse migrate") {
			t.Fatalf("Ready on an unmigrated database = %v, want an error saying to run `gatehouse migrate`", err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if err := s.Ready(t.Context()); err != nil {
			t.Fatalf("Ready after Migrate: %v", err)
		}
	})
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := open(t, unmigrated(t, dialect))
		for i := range 2 {
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		wantOneRowPerVersion(t, s)
		// A second Open of a migrated database needs no further work either.
		if err := s.Ready(t.Context()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
	})
}

// TestConcurrentMigrate starts four nodes on one empty database at once: the
// advisory lock (PostgreSQL) or the immediate write lock (SQLite) must let
// each migration run exactly once and every node succeed.
func TestConcurrentMigrate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		url := unmigrated(t, dialect)
		const nodes = 4
		stores := make([]*sqlstore.Store, nodes)
		for i := range stores {
			stores[i] = open(t, url)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, nodes)
		for i, s := range stores {
			wg.Go(func() {
				<-start
				errs[i] = s.Migrate(context.WithoutCancel(t.Context()))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d: Migrate: %v", i, err)
			}
		}
		wantOneRowPerVersion(t, stores[0])
		for i, s := range stores {
			if err := s.Ready(t.Context()); err != nil {
				t.Fatalf("node %d: Ready: %v", i, err)
			}
		}
	})
}

func wantOneRowPerVersion(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("version %d recorded %d times", v, n)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 || versions[0] != 1 {
		t.Fatalf("schema_migrations versions = %v, want 1…", versions)
	}
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, url := range []string{
		"sqlite://" + filepath.Join(dir, "abs.db"), // sqlite:///abs/path
		"sqlite://rel.db",
		"sqlite://sub/../rel2.db",
		"file:" + filepath.Join(dir, "file.db"),
		"file:plain.db?cache=private",
	} {
		s := open(t, url)
		if s.Dialect() != sqlstore.DialectSQLite {
			t.Fatalf("%s: Dialect() = %q", url, s.Dialect())
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("%s: Migrate: %v", url, err)
		}
		var fk, busy int
		var mode string
		db := s.DB()
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != 10000 || mode != "wal" {
			t.Fatalf("%s: foreign_keys=%d busy_timeout=%d journal_mode=%s", url, fk, busy, mode)
		}
	}
	for _, url := range []string{"mysql://x", "sqlite://", "sqlite://:memory:", "", "postgres://u:secret@127.0.0.1:1/x?connect_timeout=1"} {
		_, err := sqlstore.Open(t.Context(), url, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("Open(%q) error leaks the password: %v", url, err)
		}
	}
}
