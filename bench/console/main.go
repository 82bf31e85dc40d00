// Command console measures the admin console's members page at scale: it
// seeds an organization of -members people (and -audit audit events) and
// then requests the page 100 times per scenario over loopback, one
// request at a time, reporting p50, p95 and the slowest.
//
//	go run ./bench/console [-members 100000] [-audit 0] [-n 100] [-database-url postgres://…]
//
// It builds the binary and starts `gatehouse serve` on a free loopback
// port with a fresh data directory (embedded SQLite) or the given, empty
// PostgreSQL database, seeds through the same database (straight into
// storage, package seed), signs the owner in with a session made the same
// way, and times whole requests: routing, session and admin checks, the
// search, the policy list and the page's rendering, as a browser gets it.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/bench/console/seed"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func main() {
	n := flag.Int("n", 100, "requests per scenario (at most 10000)")
	count := flag.Int("members", 100000, "members to seed (at most 1000000)")
	auditN := flag.Int("audit", 0, "audit events to seed (at most 5000000)")
	dbURL := flag.String("database-url", "", "empty PostgreSQL database URL (empty: embedded SQLite in a fresh data directory)")
	flag.Parse()
	*n, *count, *auditN = min(max(*n, 1), 10000), min(max(*count, 1), 1000000), min(max(*auditN, 0), 5000000)
	if err := run(*n, *count, *auditN, *dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(n, count, auditN int, dbURL string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatehouse-console-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	base := "http://localhost:" + strings.Split(addr, ":")[1]
	data := filepath.Join(dir, "data")

	// Seed first, then start the server: it finds the data as an
	// operator's server would after a restart.
	cfg := config.Default()
	cfg.DataDir, cfg.DatabaseURL, cfg.PublicURL = data, dbURL, base
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	defer a.Close()
	now := storage.Truncate(time.Now())
	start := time.Now()
	org, owner, err := seed.Organization(ctx, a.Store, "Console Benchmark", "owner@bench.example", now)
	if err != nil {
		return err
	}
	if err := seed.Members(ctx, a.Store, org.ID, "bench.example", count, 5000, now); err != nil {
		return err
	}
	fmt.Printf("seeded %d members in %s\n", count, time.Since(start).Round(time.Second))
	if auditN > 0 {
		start = time.Now()
		if err := seed.Audit(ctx, a.Store, org.ID, owner.ID, auditN, 5000, now); err != nil {
			return err
		}
		fmt.Printf("seeded %d audit events in %s\n", auditN, time.Since(start).Round(time.Second))
	}
	if dbURL != "" {
		// As autovacuum does within a minute of a bulk load: without
		// statistics the planner takes 100,000 rows for a handful.
		db, ok := a.Store.(interface{ DB() *sql.DB })
		if !ok {
			return fmt.Errorf("the store has no database handle")
		}
		if _, err := db.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	tok, _, err := a.Sessions.Start(ctx, session.StartParams{Account: owner, Methods: []string{session.MethodPassword},
		IP: "127.0.0.1", UserAgent: "bench/console"})
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	cookie := &http.Cookie{Name: a.Sessions.CookieName(), Value: tok}

	srv := exec.Command(bin, "serve")
	srv.Env = append(os.Environ(), "GATEHOUSE_DATA_DIR="+data, "GATEHOUSE_LISTEN="+addr, "GATEHOUSE_PUBLIC_URL="+base,
		"GATEHOUSE_DATABASE_URL="+dbURL)
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start serve: %w", err)
	}
	defer func() { _ = srv.Process.Kill(); _, _ = srv.Process.Wait() }()
	if err := waitReady(base + "/readyz"); err != nil {
		return err
	}

	// The deep page starts after the member in the middle of the email
	// order (emails are m000000@… in order, so the middle is count/2).
	_, midEmail := seed.Name(count/2, "bench.example")
	mid, err := a.Store.GetAccountByEmail(ctx, midEmail)
	if err != nil {
		return err
	}
	deep := members.EncodeCursor(storage.MemberCursor{Key: mid.Email, ID: mid.ID})
	midName, _ := seed.Name(count/2, "bench.example")
	deepName := members.EncodeCursor(storage.MemberCursor{Key: storage.NameKey(midName), ID: mid.ID})
	scenarios := []struct{ name, query string }{
		{"first page", ""},
		{"search by name (\"mar\")", "q=mar"},
		{"search by email (\"m05\")", "q=m05"},
		{"deep page by email (row " + fmt.Sprint(count/2) + ")", "after=" + deep},
		{"deep page by name", "sort=name&after=" + deepName},
		{"active, newest sign-in first", "status=active&sort=last_sign_in&dir=desc"},
		{"search + invited", "q=grace&status=invited"},
		{"search by name, by last sign-in", "q=mar&sort=last_sign_in&dir=desc"},
	}
	db := "SQLite"
	if dbURL != "" {
		db = "PostgreSQL"
	}
	fmt.Printf("%s, %d members; %d sequential requests per scenario over loopback\n", db, count, n)
	fmt.Printf("%-34s %8s %8s %8s %7s\n", "GET /admin/members", "p50", "p95", "max", "rows")
	hc := &http.Client{Timeout: time.Minute}
	for _, s := range scenarios {
		u := base + "/admin/members"
		if s.query != "" {
			u += "?" + s.query
		}
		var times []time.Duration
		rows := 0
		for i := range n + 5 {
			t0 := time.Now()
			body, err := get(hc, u, cookie)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if i < 5 {
				continue // warm-up: connections, caches, prepared plans
			}
			times = append(times, d)
			rows = strings.Count(body, `name="id" value=`)
		}
		slices.Sort(times)
		fmt.Printf("%-34s %8s %8s %8s %7d\n", s.name, ms(times[len(times)/2]), ms(times[(len(times)*95+99)/100-1]), ms(times[len(times)-1]), rows)
	}
	return nil
}

func get(hc *http.Client, u string, c *http.Cookie) (string, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.AddCookie(c)
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return string(b), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func waitReady(u string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within a minute", u)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
