package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkCountSignIns measures the overview's 30-day sign-in count over
// an organization with 1,000,000 audit events spread over a year (about
// 82,000 in the window, four in five of them sign-ins). Seeding takes a
// while, so it runs only with GATEHOUSE_BENCH_ACTIVITY=1:
//
//	GATEHOUSE_BENCH_ACTIVITY=1 go test ./internal/storage/sqlstore/ -run '^$' -bench CountSignIns -benchtime 20x
func BenchmarkCountSignIns(b *testing.B) {
	if os.Getenv("GATEHOUSE_BENCH_ACTIVITY") != "1" {
		b.Skip("set GATEHOUSE_BENCH_ACTIVITY=1 to seed 1,000,000 audit events")
	}
	for _, backend := range []struct {
		name string
		open func(testing.TB) storage.Store
	}{{"sqlite", sqltest.NewSQLite}, {"postgres", sqltest.NewPostgres}} {
		b.Run(backend.name, func(b *testing.B) {
			st := backend.open(b)
			s := st.(*sqlstore.Store)
			ctx := context.Background()
			now := time.Now().UTC()
			if err := st.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "o", Name: "O", CreatedAt: now}); err != nil {
				b.Fatal(err)
			}
			seedAudit(b, s, "o", 1_000_000, now)
			since := now.Truncate(24*time.Hour).AddDate(0, 0, -29)
			b.ResetTimer()
			for range b.N {
				if _, err := st.CountSignIns(ctx, "o", since, since.AddDate(0, 0, 30)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedAudit inserts n events in bulk (not through AppendAudit: the chain's
// hashes do not matter to a count), one every 365 days / n.
func seedAudit(b *testing.B, s *sqlstore.Store, org string, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	step := int64(365*24*time.Hour/time.Microsecond) / int64(n)
	start := now.UnixMicro() - int64(n)*step
	methods := []string{"password", "sso", "sso", "hwk", "emergency"}
	const batch = 500
	for i := 0; i < n; i += batch {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO audit_events (org_id, seq, id, event_time, actor_type, actor_id, actor_email, action,
			target_type, target_id, outcome, reason, ip, user_agent, request_id, details, prev_hash, hash) VALUES `)
		for j := i; j < i+batch && j < n; j++ {
			if j > i {
				sb.WriteString(",")
			}
			action, details := "login.success", fmt.Sprintf(`{"amr":"pwd","method":"%s"}`, methods[j%len(methods)])
			switch j % 10 {
			case 7:
				action, details = "login.failure", `{"email":"x@example.com"}`
			case 8, 9:
				action, details = "session.revoke", `{}`
			}
			fmt.Fprintf(&sb, `('%s', %d, 'e%d', %d, 'account', 'a', '', '%s', '', '', 'success', '', '', '', '', '%s', '', '')`,
				org, j+1, j, start+int64(j)*step, action, details)
		}
		if _, err := tx.ExecContext(ctx, sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}
