package adminapi_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// GET /audit/verify reports the chain head to keep, checks a kept head
// given as expect_head, and reports the newest events deleted.
func TestVerifyAuditHead(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, store storage.Store) {
		e := newEnvOn(t, store)
		verify := func(q string) (apiview.VerifyResult, response) {
			t.Helper()
			r := e.do("GET", "/api/v1/audit/verify"+q, e.tokenA, nil)
			var v apiview.VerifyResult
			if r.status == 200 {
				r.json(t, &v)
			}
			return v, r
		}
		kept, r := verify("")
		if r.status != 200 || !kept.OK || kept.Head == nil || kept.Head.Seq != kept.Events || len(kept.Head.Hash) != 64 || kept.Head.Time.IsZero() {
			t.Fatalf("verify = %d %s; want OK with the head", r.status, r.body)
		}
		if v, r := verify("?expect_head=" + kept.Head.Hash); !v.OK {
			t.Errorf("verify against its own head = %d %s", r.status, r.body)
		}
		if v, r := verify("?expect_head=" + strings.Repeat("0", 64)); v.OK || !strings.Contains(v.Problem, "is not in the chain") || v.Head != nil {
			t.Errorf("verify against an unknown head = %d %s", r.status, r.body)
		}
		for _, q := range []string{"?expect_head=xyz", "?expect_head=" + strings.Repeat("A", 64), "?other=1",
			"?expect_head=" + kept.Head.Hash + "&expect_head=" + kept.Head.Hash} {
			if _, r := verify(q); r.status != 400 || r.errCode(t) != "invalid_request" {
				t.Errorf("verify%s = %d %s, want 400", q, r.status, r.body)
			}
		}

		db := store.(interface{ DB() *sql.DB }).DB()
		if _, err := db.Exec(`DELETE FROM audit_events WHERE org_id = $1 AND seq > $2`, e.orgA.ID, kept.Events-3); err != nil {
			t.Fatal(err)
		}
		v, r := verify("")
		if v.OK || v.BrokenAt != kept.Events-2 || !strings.Contains(v.Problem, "missing") || v.Head != nil {
			t.Errorf("verify after deleting the newest 3 events = %d %s", r.status, r.body)
		}
	})
}
