package sqlstore

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// A refresh and a code redemption find their row through the hash's
// partial index: a full scan reads every token ever issued on each grant,
// so the token endpoint slows down as it is used.
func TestOIDCHashLookupsUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "g.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{"refresh token": qOIDCRefreshToken, "auth request by code": qOIDCAuthRequestByCode} {
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, "x", "refresh")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX") || strings.Contains(p, "SCAN") {
			t.Errorf("%s: the lookup scans instead of searching its index: %s", name, p)
		}
	}
}
