// Package sqlstore is Gatehouse's one storage backend: a database/sql
// implementation of storage.Store that speaks two dialects, SQLite (embedded,
// modernc.org/sqlite, no cgo) and PostgreSQL (pgx v5 through its stdlib
// adapter).
//
// Both dialects run the same SQL text. modernc's SQLite binds $1, $2 … just
// as PostgreSQL does, and both support INSERT … ON CONFLICT and RETURNING, so
// the only explicit branches are the few places where the dialects truly
// differ: row locks (FOR UPDATE exists only on PostgreSQL; SQLite write
// transactions already hold the database's single write lock because they
// BEGIN IMMEDIATE), the migration lock, and error codes. Column types that
// differ live in the per-dialect migration files.
//
// Every time is stored as an integer of unix microseconds in UTC, 0 for the
// zero time, so both dialects round-trip identically (see storage.Truncate).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqlitePragmas are appended to every SQLite DSN. busy_timeout makes a writer
// wait for the single write lock instead of failing at once; WAL lets readers
// proceed while one writer works; _txlock=immediate takes the write lock at
// BEGIN, so a transaction never deadlocks upgrading a read lock to a write
// lock (which SQLite reports as SQLITE_BUSY without waiting).
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// Store implements storage.Store. The value returned by Open is bound to the
// connection pool; the value InTx hands to its callback is bound to one
// transaction (tx != nil) and runs every method inside it.
type Store struct {
	db      *sql.DB
	dialect string
	logger  *slog.Logger
	tx      *sql.Tx // nil outside a transaction
	// afterCommit collects what the transaction does only once it has
	// committed (e.g. logging the audit head it advanced); nil outside one.
	afterCommit *[]func()
	// local tells this process's caches about invalidations it published
	// (storage.LocalInvalidations); shared by every transaction's Store.
	local *localFeed
}

var (
	_ storage.Store              = (*Store)(nil)
	_ storage.LocalInvalidations = (*Store)(nil)
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open connects to databaseURL and checks that the database answers. It does
// not migrate: call Migrate (the `migrate` command, or serve at start-up).
//
// Accepted forms: sqlite:///abs/path.db, sqlite://relative/path.db,
// file:path.db, postgres://… and postgresql://….
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	driver, dsn, dialect, err := parseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s database: %w", dialect, err)
	}
	if dialect == DialectPostgres {
		// Idle connections are cheap to keep and expensive to re-handshake
		// (TLS, auth) under a burst of sign-ins.
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s database: %w", dialect, err)
	}
	return &Store{db: db, dialect: dialect, logger: logger, local: &localFeed{}}, nil
}

// parseURL turns a Gatehouse database URL into a driver name and DSN.
func parseURL(databaseURL string) (driver, dsn, dialect string, err error) {
	u := strings.TrimSpace(databaseURL)
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return "pgx", u, DialectPostgres, nil
	case strings.HasPrefix(lower, "sqlite://"), strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		// Keep any parameters the operator gave; ours come after them.
		path, query, _ := sqliteFile(u)
		if path == "" || path == ":memory:" {
			// A pool of connections to :memory: would be a pool of separate
			// empty databases.
			return "", "", "", fmt.Errorf("sqlstore: database URL %q: SQLite needs a file path, e.g. sqlite:///var/lib/gatehouse/gatehouse.db", databaseURL)
		}
		dsn = "file:" + path + "?"
		if query != "" {
			dsn += query + "&"
		}
		return "sqlite", dsn + sqlitePragmas, DialectSQLite, nil
	default:
		return "", "", "", fmt.Errorf("sqlstore: database URL %q: unsupported scheme (use sqlite:///path/to/gatehouse.db or postgres://…)", redact(databaseURL))
	}
}

// SQLitePath returns the file a SQLite database URL names, and false for
// any other URL: the admin commands check that it exists before opening it,
// because opening creates an empty database.
func SQLitePath(databaseURL string) (string, bool) {
	path, _, ok := sqliteFile(strings.TrimSpace(databaseURL))
	return path, ok && path != ""
}

// sqliteFile splits a sqlite:, sqlite:// or file: URL into its path and its
// query; ok is false for other schemes.
func sqliteFile(u string) (path, query string, ok bool) {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "sqlite://"):
		// sqlite:///abs → "/abs"; sqlite://rel/x.db → "rel/x.db".
		path = u[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		path = u[len("sqlite:"):]
	case strings.HasPrefix(lower, "file:"):
		path = u[len("file:"):]
	default:
		return "", "", false
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	return path, query, true
}

// redact hides a password in a URL that is about to appear in an error.
func redact(u string) string {
	at := strings.LastIndexByte(u, '@')
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":xxxxx" + u[at:]
	}
	return u
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DB returns the connection pool, for tests and maintenance commands.
func (s *Store) DB() *sql.DB { return s.db }

// Close releases the connection pool. It is an error on a transaction-bound
// Store: the transaction belongs to InTx, which commits or rolls it back.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("sqlstore: Close called on a transaction-bound store")
	}
	return s.db.Close()
}

// q returns the transaction when there is one, else the pool.
func (s *Store) q() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// forUpdate locks the selected rows until the transaction ends on PostgreSQL.
// SQLite has no row locks and needs none: a write transaction there began
// IMMEDIATE and holds the database's only write lock.
// byteOrder makes a text ORDER BY compare bytes on both dialects (SQLite's
// default; PostgreSQL's default follows the database locale), so a choice
// "the first by name" is the same everywhere, and the same as Go's <.
func (s *Store) byteOrder() string {
	if s.dialect == DialectPostgres {
		return ` COLLATE "C"`
	}
	return ""
}

func (s *Store) forUpdate() string {
	if s.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// Ready reports whether the database answers and carries every migration
// this build embeds.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: %s database unreachable: %w", s.dialect, err)
	}
	want, err := latestVersion(s.dialect)
	if err != nil {
		return err
	}
	var have sql.NullInt64
	if err := s.q().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("sqlstore: %s database is not migrated (cannot read schema_migrations; run `gatehouse migrate`): %w", s.dialect, err)
	}
	if !have.Valid || have.Int64 < want {
		return fmt.Errorf("sqlstore: %s database schema is at version %d but this build needs %d: run `gatehouse migrate`", s.dialect, have.Int64, want)
	}
	return nil
}

// HasSchema reports whether any migration was ever applied: false for an
// empty database, which the admin commands refuse to fill (only serve and
// migrate prepare a database).
func (s *Store) HasSchema(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if err != nil {
		// No table: never migrated. A database that cannot answer at all
		// failed Open's ping already.
		return false, nil
	}
	return n > 0, nil
}

// maxTxAttempts bounds InTx retries on serialization failures, deadlocks and
// SQLITE_BUSY: enough to ride out contention, few enough to fail visibly.
const maxTxAttempts = 5

// InTx runs fn in one transaction and commits if fn returns nil. fn's error
// is returned unchanged (callers match it with errors.Is or ==). On a
// transaction-bound Store it simply runs fn in the same transaction; there
// are no savepoints, so a nested fn's failure is the outer fn's to return.
//
// Inside fn, use tx only. A write through the outer Store would wait for the
// lock fn's own transaction holds (the SQLite write lock, a PostgreSQL row
// lock) and fail after the busy timeout or hang. After a failed statement a
// PostgreSQL transaction accepts no more statements, so fn should return
// the error rather than carry on.
//
// The whole transaction is retried, with jittered back-off, when the
// database reports a serialization failure or deadlock (PostgreSQL 40001,
// 40P01) or SQLITE_BUSY: those say "try again", not "this is wrong".
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts || ctx.Err() != nil {
			return err
		}
		s.logger.DebugContext(ctx, "retrying transaction", "attempt", attempt, "err", err)
		backoff := time.Duration(attempt)*10*time.Millisecond + rand.N(10*time.Millisecond)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) runTx(ctx context.Context, fn func(tx storage.Store) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		// Roll back on error and on panic; after Commit this is a no-op.
		if !committed {
			_ = tx.Rollback()
		}
	}()
	var after []func()
	if err := fn(&Store{db: s.db, dialect: s.dialect, logger: s.logger, tx: tx, afterCommit: &after, local: s.local}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit transaction: %w", err)
	}
	committed = true
	for _, f := range after {
		f()
	}
	return nil
}

// withTx runs fn in the current transaction, or in a new one (with InTx's
// retries) when s is not transaction-bound. Multi-statement operations such
// as UpdateAccount and AppendAudit use it to stay atomic either way.
func (s *Store) withTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return s.InTx(ctx, func(tx storage.Store) error { return fn(tx.(*Store)) })
}

// us converts a time to stored microseconds; the zero time is 0.
func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromUS converts stored microseconds back to a UTC time; 0 is the zero time.
func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row with scan and closes rows.
func collect[T any](rows interface {
	Next() bool
	Err() error
	Close() error
	scanner
}, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
