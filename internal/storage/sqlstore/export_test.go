package sqlstore

import (
	"context"
	"fmt"
)

// MigrateUpTo applies the embedded migrations up to and including version,
// for tests that need a database as an older release left it.
func (s *Store) MigrateUpTo(ctx context.Context, version int64) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= version {
			if _, err := s.applyMigration(ctx, s.db, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// MigrateBelow applies the embedded migrations numbered below version, so a
// test can write rows the way an older release did and then Migrate.
func (s *Store) MigrateBelow(ctx context.Context, version int64) error {
	return s.migrate(ctx, version)
}

// SetAuditPlan sets how many events a time range may hold for ListAudit
// to sort it, and how far it may walk to a larger one, so tests reach
// every plan; it returns the undo.
func SetAuditPlan(rangeSort, walkMax int) func() {
	oldSort, oldWalk := auditRangeSort, auditWalkMax
	auditRangeSort, auditWalkMax = rangeSort, walkMax
	return func() { auditRangeSort, auditWalkMax = oldSort, oldWalk }
}

// SetAuditBackstepScan sets how many backsteps ListAudit reads to bound a
// time range's end; it returns the undo.
func SetAuditBackstepScan(n int) func() {
	old := auditBackstepScan
	auditBackstepScan = n
	return func() { auditBackstepScan = old }
}
