package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds migrations/<dialect>/NNNN_name.sql. Both dialects carry
// the same numbers, so a version means the same schema on either.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_lock key every Gatehouse node takes
// before migrating, so nodes starting together apply each migration once.
// Arbitrary but fixed: the ASCII of "gatehous".
const migrationLockKey int64 = 0x67617465686f7573

type migration struct {
	version int64
	name    string
	sql     string
}

// migrations returns the dialect's embedded migrations in version order.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read embedded %s migrations: %w", dialect, err)
	}
	var out []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: name must be NNNN_name.sql", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// latestVersion is the highest migration this build embeds for the dialect.
func latestVersion(dialect string) (int64, error) {
	ms, err := migrations(dialect)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, fmt.Errorf("sqlstore: no embedded %s migrations", dialect)
	}
	return ms[len(ms)-1].version, nil
}

// txBeginner is what *sql.DB and *sql.Conn have in common.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, in version order, each in its own transaction together
// with its schema_migrations row. Running it again is a no-op.
//
// On PostgreSQL it first takes a session-level advisory lock on one
// dedicated connection, so several nodes starting at once wait for each
// other instead of racing. On SQLite each migration's transaction begins
// IMMEDIATE, which takes the write lock before it checks whether the version
// is applied — the same guarantee for several processes on one file.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, 0)
}

// migrate applies the migrations numbered below `below` (0: all of them);
// tests stop early to write rows as an older release did.
func (s *Store) migrate(ctx context.Context, below int64) error {
	if s.tx != nil {
		return fmt.Errorf("sqlstore: Migrate called on a transaction-bound store")
	}
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}

	var conn txBeginner = s.db
	if s.dialect == DialectPostgres {
		// The advisory lock belongs to a session, so lock, migrate and
		// unlock on one connection rather than whatever the pool hands out.
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: get connection: %w", err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("sqlstore: migrate: take advisory lock: %w", err)
		}
		defer func() {
			// Unlock even if ctx was cancelled; Close would end the session
			// (and the lock) anyway, but a pooled connection may be reused.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := c.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
				s.logger.Warn("release migration lock", "err", err)
			}
		}()
		conn = c
	}

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if below > 0 && m.version >= below {
			break
		}
		applied, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return err
		}
		if applied {
			s.logger.InfoContext(ctx, "applied database migration", "dialect", s.dialect, "version", m.version, "name", m.name)
		}
	}
	return nil
}

// applyMigration runs one migration unless it is already recorded.
func (s *Store) applyMigration(ctx context.Context, conn txBeginner, m migration) (applied bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlstore: migration %s: begin: %w", m.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore: migration %s: check applied: %w", m.name, err)
	}
	if n > 0 {
		return false, tx.Commit()
	}
	// No arguments: pgx sends this over the simple protocol and SQLite runs
	// it with exec, so one file may hold many statements.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if step := goSteps[m.version]; step != nil {
		if err := step(ctx, s, tx); err != nil {
			return false, fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("sqlstore: migration %s: record version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: migration %s: commit: %w", m.name, err)
	}
	return true, nil
}
