// Command auditpage measures the console's audit log page at scale: it
// seeds one organization with a million audit events and then times the
// page an admin opens (the newest events), filtered pages and a deep page
// reached by cursor, over loopback HTTP against the assembled Gatehouse
// (app.OpenWith + server.Handler, every middleware, the production logger
// writing to nowhere). Each figure is the p95 of a fixed number of
// sequential requests; the target is under 100 ms.
//
//	go run ./bench/auditpage [-events 1000000] [-requests 100]
//	go run ./bench/auditpage -postgres "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
//	GATEHOUSE_BENCH_POSTGRES_DSN=… go run ./bench/auditpage   # SQLite, then PostgreSQL
//
// The events are written straight into audit_events in multi-row batches,
// not through AppendAudit, so seeding takes a minute or two rather than
// hours; the seeder continues the organization's hash chain (each event's
// prev_hash and hash as AppendAudit would compute them) and moves the
// chain head, so `audit verify` still passes afterwards (-verify checks it,
// and reports how long a whole-chain verification takes). On PostgreSQL the
// run uses a fresh database it creates and drops.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-id/gatehouse/bench/internal/inproc"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// people is how many members the seeded events are spread over.
const people = 5000

func main() {
	events := flag.Int("events", 1_000_000, "audit events to seed (at most 2,000,000)")
	requests := flag.Int("requests", 100, "sequential requests per page (the p95 is reported)")
	verify := flag.Bool("verify", true, "verify the seeded chain afterwards and report how long it took")
	pg := flag.String("postgres", os.Getenv("GATEHOUSE_BENCH_POSTGRES_DSN"), "PostgreSQL server URL (a fresh database is created on it); empty skips PostgreSQL")
	pgOnly := flag.Bool("postgres-only", false, "skip SQLite")
	flag.Parse()
	*events, *requests = min(max(*events, 1000), 2_000_000), min(max(*requests, 10), 10_000)
	fmt.Printf("audit page benchmark: %d events, %d sequential requests per page, GOMAXPROCS %d, %s/%s, %s\n",
		*events, *requests, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var backends []struct{ name, dsn string }
	if !*pgOnly {
		backends = append(backends, struct{ name, dsn string }{"sqlite", ""})
	}
	if *pg != "" {
		backends = append(backends, struct{ name, dsn string }{"postgres", *pg})
	} else {
		fmt.Println("postgres: skipped (set GATEHOUSE_BENCH_POSTGRES_DSN or -postgres)")
	}
	for _, b := range backends {
		if err := runBackend(b.name, b.dsn, *events, *requests, *verify); err != nil {
			fmt.Fprintf(os.Stderr, "auditpage: %s: %v\n", b.name, err)
			os.Exit(1)
		}
	}
}

func runBackend(name, pgDSN string, events, requests int, verify bool) error {
	ctx := context.Background()
	dbURL := ""
	if pgDSN != "" {
		u, drop, err := inproc.FreshPostgres(pgDSN)
		if err != nil {
			return err
		}
		defer drop()
		dbURL = u
	}
	g, err := startGatehouse(ctx, dbURL)
	if err != nil {
		return err
	}
	defer g.close()
	fmt.Printf("\n%s\n", name)
	t0 := time.Now()
	s, err := seed(ctx, g, pgDSN != "", events)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("  seeded %d events in %s\n", events, time.Since(t0).Round(time.Second))
	if verify {
		t0 = time.Now()
		res, err := g.app.Audit.Verify(ctx, g.orgID)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if !res.OK {
			return fmt.Errorf("the seeded chain does not verify: %s at %d", res.Problem, res.BrokenAt)
		}
		fmt.Printf("  audit verify: ok, %d events in %s\n", res.Events, time.Since(t0).Round(100*time.Millisecond))
	}

	day := s.times[len(s.times)/2].UTC().Format("2006-01-02")
	pages := []struct{ label, path string }{
		{"newest page", "/admin/audit"},
		{"actor (a member's email)", "/admin/audit?actor=" + url.QueryEscape(s.email)},
		{"actor (ID) + action prefix", "/admin/audit?actor=" + s.actorID + "&action=login.*"},
		{"action prefix account.*", "/admin/audit?action=account.*"},
		{"outcome failure", "/admin/audit?outcome=failure"},
		{"target (type and ID)", "/admin/audit?target_type=account&target=" + s.actorID},
		{"one day (from/to)", "/admin/audit?from=" + day + "&to=" + day},
		{"30 days, recent", "/admin/audit?from=" + s.times[len(s.times)*91/100].UTC().Format("2006-01-02")},
		{"90 days, the year's start", "/admin/audit?from=" + s.times[len(s.times)/20].UTC().Format("2006-01-02") +
			"&to=" + s.times[len(s.times)*3/10].UTC().Format("2006-01-02")},
		{"deep page (before=1000)", "/admin/audit?before=1000"},
		{"deep newer page (after=500)", "/admin/audit?after=500"},
		{"actor, deep by cursor", "/admin/audit?actor=" + url.QueryEscape(s.email) + "&before=" + strconv.FormatInt(s.actorMid, 10)},
		{"event page", "/admin/audit/" + strconv.Itoa(events/2)},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fmt.Printf("  %-30s %9s %9s %9s %6s\n", "page", "p50", "p95", "max", "rows")
	worst := time.Duration(0)
	for _, p := range pages {
		req, _ := http.NewRequest(http.MethodGet, g.url+p.path, nil)
		req.AddCookie(&http.Cookie{Name: g.cookie, Value: g.token})
		rows := 0
		lat := make([]time.Duration, 0, requests)
		for i := range requests + 5 { // five unmeasured warm-up requests
			t := time.Now()
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return err
			}
			d := time.Since(t)
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %d: %.300s", p.path, res.StatusCode, body)
			}
			if i >= 5 {
				lat = append(lat, d)
			}
			rows = strings.Count(string(body), `aria-label="Event `)
		}
		slices.Sort(lat)
		p95 := lat[(len(lat)*95+99)/100-1]
		worst = max(worst, p95)
		fmt.Printf("  %-30s %9s %9s %9s %6d\n", p.label, lat[len(lat)/2].Round(10*time.Microsecond), p95.Round(10*time.Microsecond),
			lat[len(lat)-1].Round(10*time.Microsecond), rows)
	}
	fmt.Printf("  worst p95 %s (target < 100ms)\n", worst.Round(10*time.Microsecond))
	return nil
}

// seeded is what the pages ask for: a member with events, the seq in the
// middle of that member's events, and the events' times.
type seeded struct {
	email, actorID string
	actorMid       int64
	times          []time.Time
}

var actions = []struct {
	action, outcome, reason, target string
	weight                          int
}{
	{"login.success", "success", "", "session", 70},
	{"login.failure", "failure", "bad_credentials", "", 8},
	{"session.revoke", "success", "", "session", 8},
	{"account.update", "success", "", "account", 5},
	{"account.create", "success", "", "account", 3},
	{"account.suspend", "success", "", "account", 1},
	{"sso.login.success", "success", "", "session", 4},
	{"access.denied", "denied", "forbidden", "path", 1},
}

// seed appends n events to the organization's chain in batches written
// straight into audit_events, continuing the chain from its head.
func seed(ctx context.Context, g *gatehouse, postgres bool, n int) (seeded, error) {
	db := g.app.Store.(interface{ DB() *sql.DB }).DB()
	head, err := g.app.Store.AuditHead(ctx, g.orgID)
	if err != nil {
		return seeded{}, err
	}
	rng := rand.New(rand.NewPCG(1, 2)) // fixed: every run seeds the same log
	var weights []int
	for i, a := range actions {
		for range a.weight {
			weights = append(weights, i)
		}
	}
	const batch = 500 // × 19 columns: within both dialects' parameter limits
	cols := `org_id, seq, id, event_time, actor_type, actor_id, actor_email, action,
		target_type, target_id, outcome, reason, ip, user_agent, request_id, details, prev_hash, hash, max_time`
	// The history follows the organization's first events (its creation,
	// the owner's sign-in) in time as in seq, as appends stamped by the
	// clock make it: a year from the head onwards.
	start := head.Time.Add(time.Second).Truncate(time.Second)
	step := 365 * 24 * time.Hour / time.Duration(n)
	s := seeded{email: "user42@bench.test", actorID: "acct-42"}
	var mine []int64
	prev, seq := head.Hash, head.Seq
	var last storage.AuditEvent
	args := make([]any, 0, batch*19)
	// The running maximum of event times along the chain, as AppendAudit
	// keeps it, continued from the head.
	var maxTime int64
	q := `SELECT max_time FROM audit_heads WHERE org_id = ?`
	if postgres {
		q = `SELECT max_time FROM audit_heads WHERE org_id = $1`
	}
	if err := db.QueryRowContext(ctx, q, g.orgID).Scan(&maxTime); err != nil {
		return seeded{}, fmt.Errorf("read the chain head: %w", err)
	}
	var sb strings.Builder
	for done := 0; done < n; {
		k := min(batch, n-done)
		args, sb = args[:0], strings.Builder{}
		sb.WriteString("INSERT INTO audit_events (" + cols + ") VALUES ")
		for i := range k {
			seq++
			r := done + i
			a := actions[weights[rng.IntN(len(weights))]]
			who := rng.IntN(people)
			e := storage.AuditEvent{
				OrgID: g.orgID, Seq: seq, ID: fmt.Sprintf("ev-%d", seq), Time: storage.Truncate(start.Add(time.Duration(r) * step)),
				ActorType: "account", ActorID: "acct-" + strconv.Itoa(who), ActorEmail: "user" + strconv.Itoa(who) + "@bench.test",
				Action: a.action, Outcome: a.outcome, Reason: a.reason, IP: fmt.Sprintf("203.0.113.%d", who%250+1),
				UserAgent: "Mozilla/5.0 (bench)", RequestID: fmt.Sprintf("req%016x", seq), PrevHash: prev,
			}
			switch a.target {
			case "session":
				e.TargetType, e.TargetID = "session", fmt.Sprintf("sess-%d", seq)
			case "account":
				e.TargetType, e.TargetID = "account", "acct-"+strconv.Itoa((who+1)%people)
				e.Details = map[string]string{"email": "user" + strconv.Itoa((who+1)%people) + "@bench.test"}
			case "path":
				e.TargetType, e.TargetID = "path", "/admin/members"
				e.Details = map[string]string{"attempted": "POST /admin/members"}
			}
			if a.action == "login.failure" {
				e.ActorType, e.ActorID = "anonymous", ""
			}
			e.Hash = storage.HashAuditEvent(e)
			prev = e.Hash
			maxTime = max(maxTime, e.Time.UnixMicro())
			if e.ActorID == s.actorID || e.ActorEmail == s.email {
				mine = append(mine, e.Seq)
			}
			if r%(n/1000+1) == 0 {
				s.times = append(s.times, e.Time)
			}
			details := "{}"
			if len(e.Details) > 0 {
				b, _ := json.Marshal(e.Details)
				details = string(b)
			}
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString("(")
			for j, v := range []any{e.OrgID, e.Seq, e.ID, e.Time.UnixMicro(), e.ActorType, e.ActorID, e.ActorEmail, e.Action,
				e.TargetType, e.TargetID, e.Outcome, e.Reason, e.IP, e.UserAgent, e.RequestID, details, e.PrevHash, e.Hash, maxTime} {
				args = append(args, v)
				if j > 0 {
					sb.WriteString(",")
				}
				if postgres {
					sb.WriteString("$" + strconv.Itoa(len(args)))
				} else {
					sb.WriteString("?")
				}
			}
			sb.WriteString(")")
			last = e
		}
		if _, err := db.ExecContext(ctx, sb.String(), args...); err != nil {
			return s, fmt.Errorf("insert events %d–%d: %w", seq-int64(k)+1, seq, err)
		}
		done += k
	}
	q = `UPDATE audit_heads SET seq = ?, hash = ?, event_time = ?, max_time = ? WHERE org_id = ?`
	if postgres {
		q = `UPDATE audit_heads SET seq = $1, hash = $2, event_time = $3, max_time = $4 WHERE org_id = $5`
	}
	if _, err := db.ExecContext(ctx, q, last.Seq, last.Hash, last.Time.UnixMicro(), maxTime, g.orgID); err != nil {
		return s, fmt.Errorf("move the chain head: %w", err)
	}
	// Statistics for the planners and (PostgreSQL) the visibility map
	// index-only scans need, as autovacuum or an operator's ANALYZE
	// (SQLite) would have left them on a real log.
	maintain := "ANALYZE"
	if postgres {
		maintain = "VACUUM ANALYZE audit_events"
	}
	if _, err := db.ExecContext(ctx, maintain); err != nil {
		return s, fmt.Errorf("analyze: %w", err)
	}
	if len(mine) > 0 {
		s.actorMid = mine[len(mine)/2]
	}
	return s, nil
}

type gatehouse struct {
	app                       *app.App
	url, cookie, token, orgID string
	close                     func()
}

// startGatehouse assembles Gatehouse as serve does, on a fresh data
// directory (SQLite) or dbURL, with one organization and its owner signed in.
func startGatehouse(ctx context.Context, dbURL string) (*gatehouse, error) {
	s, err := inproc.Start(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	a, org, closeAll := s.App, s.Org, s.Close
	now := time.Now().UTC()
	owner := storage.Account{ID: "acct-owner", OrgID: org.ID, Email: "owner@bench.test", DisplayName: "Owner",
		Role: storage.RoleOwner, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := a.Store.CreateAccount(ctx, owner); err != nil {
		closeAll()
		return nil, err
	}
	tok, _, err := a.Sessions.Start(ctx, session.StartParams{Account: owner, Method: "password"})
	if err != nil {
		closeAll()
		return nil, err
	}
	return &gatehouse{app: a, url: s.URL, cookie: a.Sessions.CookieName(), token: tok,
		orgID: org.ID, close: closeAll}, nil
}
