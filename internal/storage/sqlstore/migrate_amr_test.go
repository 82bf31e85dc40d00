package sqlstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Sessions that existed before migration 0005 keep working after it, and
// say how they were made as well as the old method column allowed: the
// OIDC provider will tell apps these values, so a guess must never claim
// more than the person did.
func TestMigrationBackfillsSessionMethods(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		s := open(t, unmigrated(t, dialect))
		if err := s.MigrateBelow(ctx, 5); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2029, 3, 1, 10, 0, 0, 0, time.UTC)
		if err := s.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "corp", Name: "Corp", CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		// The columns as release 0004 knew them.
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO accounts (id, org_id, email, display_name, password_hash,
			password_changed_at, role, status, created_at, updated_at, version)
			VALUES ('a', 'o', 'a@corp.example', '', '', 0, 'member', 'active', $1, $1, 1)`, created.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"password": {"pwd"},
			"setup":    {"pwd"},
			"reset":    {"pwd"},
			"sso":      {"sso"},
			"recovery": {"recovery"},
			"unheard":  nil, // claims nothing rather than something it cannot know
		}
		for method := range want {
			// The columns as release 0004 knew them.
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO sessions (id, token_hash, account_id, org_id, method,
				created_at, last_seen_at, idle_timeout_us, expires_at, ip, user_agent, revoked_at, revoke_reason)
				VALUES ($1, $2, 'a', 'o', $3, $4, $4, 0, $5, '', '', 0, '')`,
				"s-"+method, "h-"+method, method, created.UnixMicro(), created.Add(time.Hour).UnixMicro()); err != nil {
				t.Fatalf("insert %s session: %v", method, err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for method, amr := range want {
			got, err := s.GetSession(ctx, "s-"+method)
			if err != nil {
				t.Fatalf("%s session after migration: %v", method, err)
			}
			if !equal(got.AMR, amr) || got.Method != method {
				t.Errorf("%s session: Method %q, AMR %q; want AMR %q", method, got.Method, got.AMR, amr)
			}
			if !got.AuthTime.Equal(created) {
				t.Errorf("%s session: AuthTime %v, want its creation %v", method, got.AuthTime, created)
			}
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
