package sqlstore_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestBackfillEmailSkeletons upgrades a database holding accounts from
// before migration 0004: the lookalike pair created by the old rules both
// get their skeleton (so the next lookalike is refused), and an address
// stored with its domain's U-label moves to the A-label its owner now
// signs in with.
func TestBackfillEmailSkeletons(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "g.db") },
		"postgres": func(t *testing.T) string { return sqltest.PostgresDatabaseURL(t) },
	} {
		t.Run(name, func(t *testing.T) { testBackfillEmailSkeletons(t, url(t)) })
	}
}

func testBackfillEmailSkeletons(t *testing.T, url string) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.MigrateUpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	db := s.DB()
	if _, err := db.ExecContext(ctx, `INSERT INTO organizations (id, slug, name, created_at) VALUES ('o', 'o', 'O', 0)`); err != nil {
		t.Fatal(err)
	}
	old := map[string]string{
		"latin":    "alice@corp.test",
		"cyrillic": "\u0430lice@corp.test",
		"idn":      "m\u00fcller@b\u00fccher.example",
		"idn-dup":  "m\u00fcller@xn--bcher-kva.example", // already holds the new form of "idn"
		"ligature": "\ufb01nance@corp.test",
	}
	for id, email := range old {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, org_id, email, display_name, password_hash, password_changed_at,
			role, status, created_at, updated_at, version) VALUES ($1, 'o', $2, '', '', 0, 'member', 'active', 0, 0, 1)`, id, email); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"latin":    "alice@corp.test",
		"cyrillic": "\u0430lice@corp.test",            // refused today, but not taken from its owner
		"idn":      "m\u00fcller@b\u00fccher.example", // its new form is taken: kept, logged
		"idn-dup":  "m\u00fcller@xn--bcher-kva.example",
		"ligature": "finance@corp.test",
	}
	for id, email := range want {
		var got, skel string
		if err := db.QueryRowContext(ctx, `SELECT email, email_skeleton FROM accounts WHERE id = $1`, id).Scan(&got, &skel); err != nil {
			t.Fatal(err)
		}
		if got != email || skel != emailaddr.Skeleton(email) {
			t.Errorf("account %s: email %+q, skeleton %+q; want %+q, %+q", id, got, skel, email, emailaddr.Skeleton(email))
		}
	}
	list, err := s.ListAccountsByEmailSkeleton(ctx, "o", emailaddr.Skeleton("alice@corp.test"))
	if err != nil || len(list) != 2 {
		t.Fatalf("lookalikes of alice@corp.test after the backfill: %d, %v; want both", len(list), err)
	}
}
