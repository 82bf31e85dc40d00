package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func dbOf(t *testing.T, s storage.Store) *sql.DB {
	t.Helper()
	d, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatal("the store gives no access to its database")
	}
	return d.DB()
}

func exec(t *testing.T, s storage.Store, q string, args ...any) {
	t.Helper()
	if _, err := dbOf(t, s).ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("tamper: %s: %v", q, err)
	}
}

// Deleting the newest events leaves a chain that links perfectly; only the
// head recorded at append time shows what is gone.
func TestVerifyDetectsDeletedNewestEvents(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 20)
		exec(t, s, `DELETE FROM audit_events WHERE org_id = $1 AND seq > 17`, "org-a")
		res, err := audit.Verify(ctx, s, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		if res.OK || res.BrokenAt != 18 || !strings.Contains(res.Problem, "events 18 to 20 are missing") {
			t.Fatalf("Verify = %+v; want events 18 to 20 reported missing", res)
		}
		// Removing every event of a chain is the same attack.
		record(t, s, "org-b", 2)
		exec(t, s, `DELETE FROM audit_events WHERE org_id = $1`, "org-b")
		if res, _ := audit.Verify(ctx, s, "org-b"); res.OK || res.BrokenAt != 1 || !strings.Contains(res.Problem, "events 1 to 2 are missing") {
			t.Fatalf("Verify of an emptied chain = %+v; want events 1 to 2 missing", res)
		}
	})
}

// rewriteTail replaces every event of org from seq on with as many forged
// ones, hashes recomputed, as an attacker with write access to the database
// would; with head it also moves the chain head to the forgery.
func rewriteTail(t *testing.T, s storage.Store, org string, from int64, head bool) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.ListAudit(ctx, storage.AuditFilter{OrgID: org, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, s, `DELETE FROM audit_events WHERE org_id = $1 AND seq >= $2`, org, from)
	prev := evs[from-2].Hash
	for _, orig := range evs[from-1:] {
		e := storage.AuditEvent{OrgID: org, Seq: orig.Seq, ID: orig.ID, Time: orig.Time, Action: "forged.event", PrevHash: prev}
		e.Hash = storage.HashAuditEvent(e)
		exec(t, s, `INSERT INTO audit_events (org_id, seq, id, event_time, actor_type, actor_id, actor_email, action,
			target_type, target_id, outcome, reason, ip, user_agent, request_id, details, prev_hash, hash)
			VALUES ($1, $2, $3, $4, '', '', '', $5, '', '', '', '', '', '', '', '{}', $6, $7)`,
			org, e.Seq, e.ID, e.Time.UnixMicro(), e.Action, e.PrevHash, e.Hash)
		prev = e.Hash
	}
	if head {
		exec(t, s, `UPDATE audit_heads SET hash = $2 WHERE org_id = $1`, org, prev)
	}
}

func TestVerifyAgainstAKeptHead(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 10)
		res, err := audit.Verify(ctx, s, "org-a")
		if err != nil || !res.OK {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
		kept := res.Head
		if kept.Seq != 10 || kept.Hash == "" || kept.Time.IsZero() {
			t.Fatalf("Verify reports head %+v; want event 10 with hash and time", kept)
		}
		record(t, s, "org-a", 3) // the chain grows after the head was kept

		if res, err := audit.VerifyWith(ctx, s, "org-a", audit.VerifyOptions{ExpectHead: kept.Hash}); err != nil || !res.OK {
			t.Fatalf("a grown chain against its kept head = %+v, %v; want OK", res, err)
		}
		if res, _ := audit.VerifyWith(ctx, s, "org-a", audit.VerifyOptions{ExpectHead: strings.Repeat("ab", 32)}); res.OK ||
			!strings.Contains(res.Problem, "kept head") {
			t.Fatalf("an unknown kept head = %+v; want a failure naming it", res)
		}

		// Rows and head rewritten from event 8 on: the database agrees with
		// itself, the kept head does not.
		rewriteTail(t, s, "org-a", 8, true)
		if res, err := audit.Verify(ctx, s, "org-a"); err != nil || !res.OK {
			t.Fatalf("rows and head rewritten, nothing kept outside: Verify = %+v, %v; want OK (undetectable)", res, err)
		}
		res, err = audit.VerifyWith(ctx, s, "org-a", audit.VerifyOptions{ExpectHead: kept.Hash})
		if err != nil || res.OK || !strings.Contains(res.Problem, kept.Hash) || !strings.Contains(res.Problem, "not in the chain") {
			t.Fatalf("rewritten chain against its kept head = %+v, %v; want failure", res, err)
		}
	})
}

func TestVerifyDetectsRowsRewrittenBehindTheHead(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 10)
		rewriteTail(t, s, "org-a", 9, false)
		res, err := audit.Verify(ctx, s, "org-a")
		if err != nil || res.OK || res.BrokenAt != 10 || !strings.Contains(res.Problem, "event 10 does not match the chain head") {
			t.Fatalf("Verify = %+v, %v; want event 10 reported unlike the head", res, err)
		}
		// Rows added after the head, the head left alone.
		record(t, s, "org-b", 3)
		exec(t, s, `UPDATE audit_heads SET seq = 2, hash = (SELECT hash FROM audit_events WHERE org_id = $1 AND seq = 2) WHERE org_id = $1`, "org-b")
		res, err = audit.Verify(ctx, s, "org-b")
		if err != nil || res.OK || res.BrokenAt != 3 || !strings.Contains(res.Problem, "after the chain head") {
			t.Fatalf("Verify = %+v, %v; want event 3 reported beyond the head", res, err)
		}
		// The head row deleted.
		record(t, s, "org-c", 2)
		exec(t, s, `DELETE FROM audit_heads WHERE org_id = $1`, "org-c")
		res, err = audit.Verify(ctx, s, "org-c")
		if err != nil || res.OK || !strings.Contains(res.Problem, "the chain head is missing") {
			t.Fatalf("Verify = %+v, %v; want the missing head reported", res, err)
		}
	})
}

// Each append writes the new head to the log once it is committed, so a
// copy of it leaves the database; a rolled-back append logs nothing.
func TestAppendLogsTheHead(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	s, err := sqlstore.Open(context.Background(), "sqlite://"+t.TempDir()+"/g.db", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	record(t, s, "org-a", 2)
	ctx := context.Background()
	_ = s.InTx(ctx, func(tx storage.Store) error {
		if err := audit.Record(ctx, tx, storage.AuditEvent{OrgID: "org-a", Action: "x", Time: t0}); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("roll back")
	})
	evs, _ := s.ListAudit(ctx, storage.AuditFilter{OrgID: "org-a"})
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "audit chain head" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 || len(evs) != 2 {
		t.Fatalf("%d head lines for %d events:\n%s", len(lines), len(evs), buf.String())
	}
	for i, m := range lines {
		if m["org_id"] != "org-a" || m["seq"] != float64(evs[i].Seq) || m["hash"] != evs[i].Hash || m["time"] == nil {
			t.Errorf("head line %v, want org-a seq %d hash %s", m, evs[i].Seq, evs[i].Hash)
		}
	}
}

// appendingAudit appends an event to the chain right after the export reads
// the head, as a concurrent request would.
type appendingAudit struct {
	storage.Store
	t *testing.T
}

func (a appendingAudit) AuditHead(ctx context.Context, orgID string) (storage.AuditHead, error) {
	h, err := a.Store.AuditHead(ctx, orgID)
	record(a.t, a.Store, orgID, 1)
	return h, err
}

// An export of a whole chain is a snapshot up to the head it names, and a
// chain whose newest events were deleted exports a head beyond its end.
func TestExportEndsAtItsHead(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 5)
		var buf bytes.Buffer
		if err := audit.ExportJSONL(ctx, appendingAudit{s, t}, storage.AuditFilter{OrgID: "org-a"}, &buf); err != nil {
			t.Fatal(err)
		}
		evs, head := readJSONL(t, buf.Bytes())
		if len(evs) != 5 || head["seq"] != float64(5) || head["hash"] != evs[4]["hash"] {
			t.Fatalf("export = %d events, head %v; want the 5 events up to the head", len(evs), head)
		}
		// Continuing after seq 5 exports the event appended meanwhile.
		buf.Reset()
		if err := audit.ExportJSONL(ctx, s, storage.AuditFilter{OrgID: "org-a", AfterSeq: 5}, &buf); err != nil {
			t.Fatal(err)
		}
		evs, head = readJSONL(t, buf.Bytes())
		if len(evs) != 1 || evs[0]["seq"] != float64(6) || head["seq"] != float64(6) || head["hash"] != evs[0]["hash"] {
			t.Fatalf("continued export = %v, head %v", evs, head)
		}

		exec(t, s, `DELETE FROM audit_events WHERE org_id = $1 AND seq > 3`, "org-a")
		buf.Reset()
		if err := audit.ExportJSONL(ctx, s, storage.AuditFilter{OrgID: "org-a"}, &buf); err != nil {
			t.Fatal(err)
		}
		evs, head = readJSONL(t, buf.Bytes())
		if len(evs) != 3 || head["seq"] != float64(6) {
			t.Fatalf("export of a truncated chain = %d events, head %v; want 3 events and head 6", len(evs), head)
		}
	})
}
