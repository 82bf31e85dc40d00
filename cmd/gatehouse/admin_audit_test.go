package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// sqlExec runs q against the CLI's database behind Gatehouse's back.
func (c *cli) sqlExec(q string, args ...any) {
	c.t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().Exec(q, args...); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
}

// Deleting the newest audit events is reported by `audit verify`, and a
// head kept from an earlier verification is checked with --expect-head.
func TestAdminAuditVerifyHead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme", "--slug", "acme")
		for _, name := range []string{"one", "two", "three", "four"} {
			c.ok("admin", "token", "create", "--org", "acme", "--name", name)
		}
		var kept apiview.VerifyResult
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "verify", "--org", "acme", "--json")), &kept); err != nil {
			t.Fatal(err)
		}
		if !kept.OK || kept.Head == nil || kept.Head.Seq != kept.Events || kept.Head.Hash == "" {
			t.Fatalf("verify --json = %+v; want OK with the head", kept)
		}
		if out := c.ok("admin", "audit", "verify", "--org", "acme"); !strings.Contains(out, kept.Head.Hash) {
			t.Errorf("verify does not print the head to keep:\n%s", out)
		}
		c.ok("admin", "audit", "verify", "--org", "acme", "--expect-head", kept.Head.Hash)
		c.fails("--expect-head must be", "admin", "audit", "verify", "--org", "acme", "--expect-head", "nope")
		c.fails("is not in the chain", "admin", "audit", "verify", "--org", "acme", "--expect-head", strings.Repeat("0", 64))

		var orgID string
		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--json")), &page); err != nil || len(page.Events) == 0 {
			t.Fatalf("audit list: %v", err)
		}
		orgID = page.Events[0].OrgID
		c.sqlExec(`DELETE FROM audit_events WHERE org_id = $1 AND seq > $2`, orgID, kept.Events-3)
		out, _, err := c.run("admin", "audit", "verify", "--org", "acme")
		if err == nil || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "are missing (deleted from the end of the chain)") {
			t.Errorf("verify after deleting the newest 3 events: err %v, output %q", err, out)
		}
	})
}
