package sqlstore

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// planOf is SQLite's plan for q, one line per step.
func planOf(t *testing.T, s *Store, q storage.MemberQuery) string {
	t.Helper()
	sq, err := s.memberSQL(q, q.Prefix != "")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+sq.query, sq.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// A search by prefix reads the two prefix ranges of their indexes, not
// every member of the organization in email order; a deep page seeks to
// its cursor in the sort's index.
func TestMemberSearchUsesItsIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "g.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "o", Name: "O", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	cur := &storage.MemberCursor{Key: "m", ID: "x"}
	for name, q := range map[string]storage.MemberQuery{
		"prefix":                   {OrgID: "o", Prefix: "mar"},
		"prefix and status":        {OrgID: "o", Prefix: "gra", Status: storage.StatusFilterInvited},
		"prefix by name":           {OrgID: "o", Prefix: "mar", Sort: storage.SortName},
		"prefix, page 2":           {OrgID: "o", Prefix: "mar", After: cur},
		"deep page":                {OrgID: "o", After: cur},
		"deep page by name":        {OrgID: "o", Sort: storage.SortName, After: &storage.MemberCursor{Key: "m", ID: "x"}},
		"deep page by created":     {OrgID: "o", Sort: storage.SortCreated, After: &storage.MemberCursor{Key: "5", ID: "x"}},
		"last sign-in, newest":     {OrgID: "o", Sort: storage.SortLastSignIn, Desc: true},
		"previous page by created": {OrgID: "o", Sort: storage.SortCreated, Before: &storage.MemberCursor{Key: "5", ID: "x"}},
	} {
		p := planOf(t, s, q)
		t.Logf("%s: %s", name, p)
		if strings.Contains(p, "SCAN a") || strings.Contains(p, "SCAN accounts") || (q.Prefix != "" && !strings.Contains(p, "accounts_org_name_key (org_id=? AND name_key>? AND name_key<?)")) {
			t.Errorf("%s scans the accounts: %s", name, p)
		}
	}
}
