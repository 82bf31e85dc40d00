package sqlstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Migration 0010 tells the accounts an IdP created (their first SSO link
// was made with them) from those an admin added, because only the latter
// may fail back without a recent SSO sign-in; and it counts passwords set
// before it as set while SSO was not enforced, which they may well have
// been, rather than voiding them.
func TestMigrationRecordsAccountOrigins(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		s := open(t, unmigrated(t, dialect))
		if err := s.MigrateBelow(ctx, 10); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2029, 3, 1, 10, 0, 0, 0, time.UTC)
		if err := s.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "corp", Name: "Corp", CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateIdPConnection(ctx, storage.IdPConnection{ID: "c", OrgID: "o", Slug: "entra", Name: "Entra",
			EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", NameIDFormat: "persistent",
			CreatedAt: created, UpdatedAt: created, Version: 1}); err != nil {
			t.Fatal(err)
		}
		// The columns as release 0009 knew them: jit was created by its
		// first SSO sign-in, invited by an admin (and linked later), pwd
		// has a password.
		for _, a := range []struct {
			id, hash string
			at       time.Time
		}{{"jit", "", created}, {"invited", "", created.Add(-time.Hour)}, {"pwd", "$argon2id$x", created}} {
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO accounts (id, org_id, email, display_name, password_hash,
				password_changed_at, role, status, created_at, updated_at, version)
				VALUES ($1, 'o', $2, '', $3, 0, 'member', 'active', $4, $4, 1)`, a.id, a.id+"@corp.example", a.hash, a.at.UnixMicro()); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"jit", "invited"} {
			if err := s.CreateSSOLink(ctx, storage.SSOLink{ConnectionID: "c", Subject: "s-" + id, AccountID: id,
				CreatedAt: created, LastLoginAt: created}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string][2]string{
			"jit":     {storage.OriginJIT, ""},
			"invited": {storage.OriginAdmin, ""},
			"pwd":     {storage.OriginAdmin, storage.PasswordOpen},
		} {
			a, err := s.GetAccount(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Origin != want[0] || a.PasswordOrigin != want[1] {
				t.Errorf("%s after migration: origin %q, password origin %q; want %q, %q", id, a.Origin, a.PasswordOrigin, want[0], want[1])
			}
		}
	})
}
