package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strconv"
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

// audit list pages newest first with --before and filters by outcome and
// target, as the console and the API do.
func TestAdminAuditListNewest(t *testing.T) {
	c := newCLI(t, "")
	c.ok("admin", "org", "create", "--name", "Acme", "--slug", "acme")
	c.ok("admin", "token", "create", "--org", "acme", "--name", "one")
	c.ok("admin", "token", "create", "--org", "acme", "--name", "two")
	list := func(args ...string) apiview.AuditPage {
		t.Helper()
		var p apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok(append([]string{"admin", "audit", "list", "--org", "acme", "--json"}, args...)...)), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	all := list()
	n := len(all.Events)
	if n < 3 {
		t.Fatalf("%d events", n)
	}
	p := list("--newest", "--limit", "2")
	if len(p.Events) != 2 || p.Events[0].Seq != int64(n) || p.NextAfter != nil || p.NextBefore == nil || *p.NextBefore != int64(n-1) {
		t.Fatalf("--newest --limit 2 = %+v", p)
	}
	p = list("--newest", "--before", strconv.FormatInt(*p.NextBefore, 10))
	if len(p.Events) != n-2 || p.Events[0].Seq != int64(n-2) || p.NextBefore != nil {
		t.Fatalf("--newest --before = %d events, first %d", len(p.Events), p.Events[0].Seq)
	}
	_, errOut, err := c.run("admin", "audit", "list", "--org", "acme", "--newest", "--limit", "1")
	if err != nil || !strings.Contains(errOut, "continue with --newest --before "+strconv.Itoa(n)) {
		t.Errorf("stderr %q (%v)", errOut, err)
	}
	tok := all.Events[n-1]
	if p := list("--target-type", tok.TargetType, "--target-id", tok.TargetID); len(p.Events) != 1 || p.Events[0].Seq != tok.Seq {
		t.Errorf("target filter = %+v", p.Events)
	}
	if p := list("--outcome", "failure"); len(p.Events) != 0 {
		t.Errorf("--outcome failure = %d events", len(p.Events))
	}
	c.fails("--outcome must be success, failure or denied", "admin", "audit", "list", "--outcome", "maybe")
	c.fails("--before needs --org", "admin", "audit", "list", "--before", "3")
}
