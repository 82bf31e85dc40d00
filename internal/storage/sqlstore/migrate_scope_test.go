package sqlstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// API tokens made before migration 0009 acted with the organization's full
// admin authority; after it they are admin tokens, so the calls they made
// keep working and none of them silently becomes an owner token.
func TestMigrationGivesOldTokensAdminScope(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		s := open(t, unmigrated(t, dialect))
		if err := s.MigrateBelow(ctx, 9); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2029, 3, 1, 10, 0, 0, 0, time.UTC)
		if err := s.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "corp", Name: "Corp", CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		// The columns as release 0008 knew them.
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO api_tokens (id, org_id, name, token_hash, created_by,
			created_at, last_used_at, revoked_at) VALUES ('t', 'o', 'deploy', 'h', 'cli', $1, 0, 0)`, created.UnixMicro()); err != nil {
			t.Fatalf("insert token: %v", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAPITokenByHash(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if got.Scope != storage.TokenScopeAdmin {
			t.Errorf("old token's scope after migration = %q, want %q", got.Scope, storage.TokenScopeAdmin)
		}
	})
}
