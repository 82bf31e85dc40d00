package sqlstore

import "context"

// MigrateBelow applies the embedded migrations numbered below version, so a
// test can write rows the way an older release did and then Migrate.
func (s *Store) MigrateBelow(ctx context.Context, version int64) error {
	return s.migrate(ctx, version)
}
