package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var t0 = time.Date(2030, 3, 4, 5, 6, 7, 891_234_000, time.UTC)

// record appends n events to orgID's chain through audit.Record, one
// transaction each, with actions cycling through a few kinds.
func record(t testing.TB, s storage.Store, orgID string, n int) {
	t.Helper()
	ctx := context.Background()
	actions := []string{"login.success", "login.failure", "session.revoke", "account.update"}
	for i := range n {
		err := s.InTx(ctx, func(tx storage.Store) error {
			return audit.Record(ctx, tx, storage.AuditEvent{
				OrgID:      orgID,
				Time:       t0.Add(time.Duration(i) * time.Minute),
				ActorType:  "account",
				ActorID:    fmt.Sprintf("acct-%d", i%3),
				ActorEmail: fmt.Sprintf("user%d@corp.example", i%3),
				Action:     actions[i%len(actions)],
				TargetType: "session",
				TargetID:   fmt.Sprintf("sess-%d", i),
				Details:    map[string]string{"n": fmt.Sprint(i)},
			})
		})
		if err != nil {
			t.Fatalf("record event %d: %v", i, err)
		}
	}
}

func TestRecordRejectsIncompleteEvents(t *testing.T) {
	ctx := context.Background()
	for name, e := range map[string]storage.AuditEvent{
		"no action": {Time: t0},
		"no time":   {Action: "login.success"},
	} {
		t.Run(name, func(t *testing.T) {
			s := sqltest.NewSQLite(t)
			if err := audit.Record(ctx, s, e); err == nil {
				t.Fatal("Record accepted an incomplete event")
			}
			if evs, _ := s.ListAudit(ctx, storage.AuditFilter{}); len(evs) != 0 {
				t.Fatalf("an incomplete event was written: %+v", evs)
			}
		})
	}
}

func TestRecordFillsFromContext(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		req := reqctx.Info{
			RequestID: "req-1", IP: "203.0.113.7", UserAgent: "Firefox/140",
			ActorType: "account", ActorID: "admin-1", ActorEmail: "admin@corp.example",
		}
		cases := []struct {
			name string
			ctx  context.Context
			in   storage.AuditEvent
			want storage.AuditEvent // only the filled fields are compared
		}{{
			name: "everything from the request",
			ctx:  reqctx.With(context.Background(), req),
			in:   storage.AuditEvent{Action: "policy.update"},
			want: storage.AuditEvent{ActorType: "account", ActorID: "admin-1", ActorEmail: "admin@corp.example",
				IP: "203.0.113.7", UserAgent: "Firefox/140", RequestID: "req-1", Outcome: "success"},
		}, {
			name: "the event's own values win",
			ctx:  reqctx.With(context.Background(), req),
			in: storage.AuditEvent{Action: "login.failure", ActorType: "account", ActorID: "admin-1",
				IP: "198.51.100.1", Outcome: "failure", Reason: "bad_credentials"},
			want: storage.AuditEvent{ActorType: "account", ActorID: "admin-1", ActorEmail: "admin@corp.example",
				IP: "198.51.100.1", UserAgent: "Firefox/140", RequestID: "req-1", Outcome: "failure"},
		}, {
			name: "a different actor is not mixed with the request's",
			ctx:  reqctx.With(context.Background(), req),
			in:   storage.AuditEvent{Action: "emergency.expire", ActorType: "system"},
			want: storage.AuditEvent{ActorType: "system", IP: "203.0.113.7", UserAgent: "Firefox/140",
				RequestID: "req-1", Outcome: "success"},
		}, {
			name: "nobody known is anonymous",
			ctx:  context.Background(),
			in:   storage.AuditEvent{Action: "login.failure", Outcome: "failure"},
			want: storage.AuditEvent{ActorType: "anonymous", Outcome: "failure"},
		}}
		for i, c := range cases {
			orgID := fmt.Sprintf("org-%d", i)
			c.in.OrgID, c.in.Time = orgID, t0
			if err := s.InTx(c.ctx, func(tx storage.Store) error { return audit.Record(c.ctx, tx, c.in) }); err != nil {
				t.Fatalf("%s: Record: %v", c.name, err)
			}
			got, err := s.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID})
			if err != nil || len(got) != 1 {
				t.Fatalf("%s: ListAudit = %d events, %v", c.name, len(got), err)
			}
			e := got[0]
			have := storage.AuditEvent{ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail,
				IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Outcome: e.Outcome}
			if fmt.Sprint(have) != fmt.Sprint(c.want) {
				t.Errorf("%s:\n got %+v\nwant %+v", c.name, have, c.want)
			}
			if e.ID == "" || e.Seq != 1 || e.Hash != storage.HashAuditEvent(e) || !e.Time.Equal(storage.Truncate(t0)) {
				t.Errorf("%s: stored event not chained as expected: %+v", c.name, e)
			}
		}
	})
}

func TestVerifyIntactChain(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 50)
		record(t, s, "org-b", 3) // another chain in the same table changes nothing
		res, err := audit.Verify(ctx, s, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK || res.Events != 50 || res.BrokenAt != 0 || res.Problem != "" {
			t.Fatalf("Verify = %+v, want OK over 50 events", res)
		}
		last, err := s.ListAudit(ctx, storage.AuditFilter{OrgID: "org-a", AfterSeq: 49})
		if err != nil || len(last) != 1 {
			t.Fatalf("ListAudit = %d events, %v", len(last), err)
		}
		if h := res.Head; h.OrgID != "org-a" || h.Seq != 50 || h.Hash != last[0].Hash || !h.Time.Equal(last[0].Time) {
			t.Fatalf("Verify head = %+v, want event 50 %+v", h, last[0])
		}
		res, err = audit.Verify(ctx, s, "org-empty")
		if err != nil || !res.OK || res.Events != 0 {
			t.Fatalf("Verify of an empty chain = %+v, %v; want OK", res, err)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name     string
		sql      []string // $1 is the organization
		brokenAt int64
		problem  string
	}{{
		name:     "modified row",
		sql:      []string{`UPDATE audit_events SET actor_email = 'someone-else@corp.example' WHERE org_id = $1 AND seq = 17`},
		brokenAt: 17,
		problem:  "event 17: hash does not match its contents (modified after it was written)",
	}, {
		name:     "modified hash",
		sql:      []string{`UPDATE audit_events SET hash = 'tampered' WHERE org_id = $1 AND seq = 30`},
		brokenAt: 30,
		problem:  "event 30: hash does not match its contents",
	}, {
		name:     "deleted row",
		sql:      []string{`DELETE FROM audit_events WHERE org_id = $1 AND seq = 18`},
		brokenAt: 18,
		problem:  "event 18 is missing",
	}, {
		name:     "deleted first row",
		sql:      []string{`DELETE FROM audit_events WHERE org_id = $1 AND seq = 1`},
		brokenAt: 1,
		problem:  "event 1 is missing",
	}, {
		name: "deleted rows, later ones renumbered",
		sql: []string{
			`DELETE FROM audit_events WHERE org_id = $1 AND seq IN (10, 11)`,
			`UPDATE audit_events SET seq = -seq WHERE org_id = $1 AND seq > 11`,
			`UPDATE audit_events SET seq = -seq - 2 WHERE org_id = $1 AND seq < 0`,
		},
		brokenAt: 10,
		problem:  "event 10",
	}, {
		name: "reordered rows",
		sql: []string{
			`UPDATE audit_events SET seq = -1 WHERE org_id = $1 AND seq = 20`,
			`UPDATE audit_events SET seq = 20 WHERE org_id = $1 AND seq = 21`,
			`UPDATE audit_events SET seq = 21 WHERE org_id = $1 AND seq = -1`,
		},
		brokenAt: 20,
		problem:  "event 20 does not link to event 19",
	}}
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		db := s.(interface{ DB() *sql.DB }).DB()
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				org := fmt.Sprintf("org-%d", i)
				record(t, s, org, 40)
				for _, q := range c.sql {
					if _, err := db.ExecContext(ctx, q, org); err != nil {
						t.Fatalf("tamper: %s: %v", q, err)
					}
				}
				res, err := audit.Verify(ctx, s, org)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK || res.BrokenAt != c.brokenAt || !strings.Contains(res.Problem, c.problem) {
					t.Fatalf("Verify = %+v\nwant broken at %d with %q", res, c.brokenAt, c.problem)
				}
			})
		}
	})
}

// bulk appends n events to the no-organization chain in one transaction,
// which keeps thousands of events quick on SQLite.
func bulk(t *testing.T, s storage.Store, n int) {
	t.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx storage.Store) error {
		for i := range n {
			if err := audit.Record(ctx, tx, storage.AuditEvent{Action: "login.success", Time: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWalksEveryPage(t *testing.T) {
	ctx := context.Background()
	s := sqltest.NewSQLite(t)
	bulk(t, s, 2500)
	res, err := audit.Verify(ctx, s, "")
	if err != nil || !res.OK || res.Events != 2500 {
		t.Fatalf("Verify = %+v, %v; want OK over 2500 events", res, err)
	}
	// A break on the third page is found.
	db := s.(interface{ DB() *sql.DB }).DB()
	if _, err := db.ExecContext(ctx, `UPDATE audit_events SET reason = 'edited' WHERE org_id = '' AND seq = 2100`); err != nil {
		t.Fatal(err)
	}
	res, err = audit.Verify(ctx, s, "")
	if err != nil || res.OK || res.BrokenAt != 2100 || res.Events != 2100 {
		t.Fatalf("Verify = %+v, %v; want broken at 2100", res, err)
	}
}

// A chain whose first event links to something is missing its start, even
// when that event's own hash was recomputed to match.
func TestVerifyDetectsMissingStart(t *testing.T) {
	ctx := context.Background()
	s := sqltest.NewSQLite(t)
	bulk(t, s, 3)
	evs, err := s.ListAudit(ctx, storage.AuditFilter{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("ListAudit = %d events, %v", len(evs), err)
	}
	first := evs[0]
	first.PrevHash = "ab"
	first.Hash = storage.HashAuditEvent(first)
	db := s.(interface{ DB() *sql.DB }).DB()
	if _, err := db.ExecContext(ctx, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE org_id = '' AND seq = 1`, first.PrevHash, first.Hash); err != nil {
		t.Fatal(err)
	}
	if res, _ := audit.Verify(ctx, s, ""); res.OK || res.BrokenAt != 1 {
		t.Fatalf("Verify = %+v; want broken at 1", res)
	}
}

// jsonKeys are the keys of every exported line, in no particular order.
var jsonKeys = []string{"org_id", "seq", "id", "time", "actor_type", "actor_id", "actor_email", "action",
	"target_type", "target_id", "outcome", "reason", "ip", "user_agent", "request_id", "details", "prev_hash", "hash"}

// headKeys are the keys of an export's head line.
var headKeys = []string{"record", "org_id", "seq", "hash", "time"}

// readJSONL decodes every line of an export, failing on anything that is not
// one JSON object per line with exactly jsonKeys, except a last line with
// headKeys (returned as head, nil if there is none).
func readJSONL(t *testing.T, b []byte) (events []map[string]any, head map[string]any) {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", len(out)+1, err, sc.Text())
		}
		if head != nil {
			t.Fatalf("line %d follows the head line", len(out)+2)
		}
		if m["record"] == "head" {
			if len(m) != len(headKeys) {
				t.Fatalf("head line keys = %v, want %v", m, headKeys)
			}
			head = m
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := slices.Sorted(slices.Values(jsonKeys))
		if !slices.Equal(keys, want) {
			t.Fatalf("line %d keys = %v, want %v", len(out)+1, keys, want)
		}
		out = append(out, m)
	}
	return out, head
}

func TestExportJSONL(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		record(t, s, "org-a", 20)
		record(t, s, "org-b", 5)

		var buf bytes.Buffer
		f := storage.AuditFilter{OrgID: "org-a", Action: "login.*", ActorID: "user1@corp.example", Limit: 1}
		if err := audit.ExportJSONL(ctx, s, f, &buf); err != nil {
			t.Fatal(err)
		}
		lines, head := readJSONL(t, buf.Bytes())
		if head != nil {
			t.Errorf("a filtered export has a head line: %v", head)
		}
		// Events i with i%4 in {0,1} (login.*) and i%3 == 1 (user1): i = 1, 4, 13, 16.
		var seqs []float64
		for _, m := range lines {
			seqs = append(seqs, m["seq"].(float64))
			if m["org_id"] != "org-a" || m["actor_email"] != "user1@corp.example" || !strings.HasPrefix(m["action"].(string), "login.") {
				t.Errorf("line does not match the filter: %v", m)
			}
			ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
			if err != nil || !strings.HasSuffix(m["time"].(string), "Z") {
				t.Errorf("time %q is not RFC 3339 in UTC: %v", m["time"], err)
			}
			want := t0.Add(time.Duration(m["seq"].(float64)-1) * time.Minute)
			if !ts.Equal(storage.Truncate(want)) {
				t.Errorf("event %v time = %v, want %v", m["seq"], ts, want)
			}
			if _, ok := m["details"].(map[string]any); !ok {
				t.Errorf("details is not an object: %v", m["details"])
			}
		}
		if want := []float64{2, 5, 14, 17}; !slices.Equal(seqs, want) {
			t.Fatalf("exported seqs = %v, want %v", seqs, want)
		}

		// The whole chain, hashes included, is exported as stored.
		buf.Reset()
		if err := audit.ExportJSONL(ctx, s, storage.AuditFilter{OrgID: "org-a"}, &buf); err != nil {
			t.Fatal(err)
		}
		all, head := readJSONL(t, buf.Bytes())
		stored, _ := s.ListAudit(ctx, storage.AuditFilter{OrgID: "org-a", Limit: 1000})
		if len(all) != 20 || len(stored) != 20 {
			t.Fatalf("exported %d events, stored %d; want 20", len(all), len(stored))
		}
		// It ends with the chain head: the last event's seq, hash and time.
		if head == nil || head["org_id"] != "org-a" || head["seq"] != float64(20) || head["hash"] != stored[19].Hash ||
			head["time"] != all[19]["time"] {
			t.Errorf("head line = %v, want event 20 %v", head, all[19])
		}
		for i, m := range all {
			if m["hash"] != stored[i].Hash || m["prev_hash"] != stored[i].PrevHash || m["id"] != stored[i].ID {
				t.Errorf("line %d differs from stored event %+v: %v", i+1, stored[i], m)
			}
		}
	})
}

// countingAudit counts the queries an export makes against a real store.
type countingAudit struct {
	storage.Audit
	lists int
}

func (c *countingAudit) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	c.lists++
	return c.Audit.ListAudit(ctx, f)
}

func TestExportPagesThroughEverything(t *testing.T) {
	ctx := context.Background()
	s := sqltest.NewSQLite(t)
	bulk(t, s, 2345)
	m := &countingAudit{Audit: s}
	var buf bytes.Buffer
	if err := audit.ExportJSONL(ctx, m, storage.AuditFilter{Limit: 10}, &buf); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 2345+1 {
		t.Fatalf("exported %d lines, want 2345 events and the head", n)
	}
	if m.lists > 4 {
		t.Errorf("export used %d queries for 2345 events; want pages of 1000", m.lists)
	}
}

func TestEntryFrom(t *testing.T) {
	e := audit.EntryFrom(storage.AuditEvent{Seq: 3, Action: "logout", Time: t0.In(time.FixedZone("CET", 3600))})
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"time":"2030-03-04T05:06:07.891234Z"`, `"details":{}`, `"seq":3`, `"action":"logout"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
