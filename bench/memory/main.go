// Command memory measures the resident memory of a running `gatehouse
// serve`: idle after start, and after a number of people have live
// sessions that the server has validated (so each sits in its node-local
// session cache, the state that grows with active users).
//
//	go run ./bench/memory [-sessions 10000] [-database-url postgres://…]
//
// It builds the binary, starts it on a free loopback port with a fresh
// data directory (or the given PostgreSQL database), reads VmRSS from
// /proc, makes the sessions directly in the database through the session
// service (signing in 10,000 times would only measure argon2id), then has
// the server validate each one over HTTP (/auth/verify, as a reverse proxy
// in front of an app would) and reads VmRSS again.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/bench/internal/serveproc"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func main() {
	n := flag.Int("sessions", 10000, "sessions to make and validate")
	people := flag.Int("people", 1000, "accounts the sessions belong to")
	dbURL := flag.String("database-url", "", "PostgreSQL URL (empty: embedded SQLite in a fresh data directory)")
	flag.Parse()
	if err := run(*n, *people, *dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

func run(n, people int, dbURL string) error {
	ctx := context.Background()
	srv, err := serveproc.Start(dbURL)
	if err != nil {
		return err
	}
	defer srv.Stop()
	base, data := srv.Base, srv.DataDir
	time.Sleep(3 * time.Second) // let start-up work (migrations, first polls) settle
	idle, err := rss(srv.Pid())
	if err != nil {
		return err
	}
	fmt.Printf("idle after start: VmRSS %.1f MB\n", idle)
	printHeap(base)

	cfg := config.Default()
	cfg.DataDir, cfg.DatabaseURL = data, dbURL
	cfg.Log.Level = "error"
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("open the server's database: %w", err)
	}
	defer a.Close()
	tokens, err := makeSessions(ctx, a, n, people)
	if err != nil {
		return err
	}
	// The server learns of the new app from the invalidation feed; wait
	// until it answers for the app's host.
	if err := waitVerify(base, tokens[0]); err != nil {
		return err
	}
	if err := validateAll(base, tokens); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	after, err := rss(srv.Pid())
	if err != nil {
		return err
	}
	fmt.Printf("after %d validated sessions (%d people): VmRSS %.1f MB\n", n, people, after)
	printHeap(base)
	return nil
}

// makeSessions creates an organization with people accounts and n
// sessions spread over them, returning the cookie tokens.
func makeSessions(ctx context.Context, a *app.App, n, people int) ([]string, error) {
	now := storage.Truncate(time.Now())
	org := storage.Organization{ID: uuid.NewString(), Slug: "mem-" + uuid.NewString()[:8], Name: "Memory Benchmark", CreatedAt: now}
	if err := a.Store.CreateOrganization(ctx, org); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	if _, _, err := a.Apps.Create(authz.AsCLI(ctx, "bench"), org.ID, apps.Input{Name: "Wiki", Hosts: []string{appHost}}); err != nil {
		return nil, fmt.Errorf("register the app: %w", err)
	}
	accounts := make([]storage.Account, people)
	for i := range accounts {
		accounts[i] = storage.Account{ID: uuid.NewString(), OrgID: org.ID, Email: fmt.Sprintf("person%05d@mem.example", i),
			DisplayName: fmt.Sprintf("Person %d", i), Role: storage.RoleMember, Status: storage.StatusActive,
			CreatedAt: now, UpdatedAt: now}
		if err := a.Store.CreateAccount(ctx, accounts[i]); err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
	}
	sessions := session.New(a.Store, session.Config{}, slog.New(slog.DiscardHandler), time.Now)
	tokens := make([]string, n)
	for i := range tokens {
		tok, _, err := sessions.Start(ctx, session.StartParams{Account: accounts[i%people], Methods: []string{session.MethodSSO},
			IP: "127.0.0.1", UserAgent: "bench/memory"})
		if err != nil {
			return nil, fmt.Errorf("start session: %w", err)
		}
		tokens[i] = tok
	}
	return tokens, nil
}

// appHost is the registered app behind the reverse proxy whose requests
// /auth/verify checks.
const appHost = "wiki.mem.example"

// verifyRequest is what a reverse proxy sends for one request to the app.
func verifyRequest(base, token string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, base+"/auth/verify", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", appHost)
	req.Header.Set("X-Forwarded-Uri", "/")
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: token})
	return req
}

func waitVerify(base, token string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.DefaultClient.Do(verifyRequest(base, token)); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("/auth/verify never accepted the session for %s", appHost)
}

// validateAll has the server validate every session once, as a reverse
// proxy's /auth/verify call for a request to the app, eight at a time.
func validateAll(base string, tokens []string) error {
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					return
				}
				resp, err := client.Do(verifyRequest(base, tokens[i]))
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d sessions were not accepted", f, len(tokens))
	}
	return nil
}

func rss(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f kB", &kb); err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// printHeap shows the Go heap figures the server exports, to tell live
// data from memory the runtime has not yet returned.
func printHeap(base string) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		for _, m := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_heap_idle_bytes ", "go_memstats_heap_released_bytes ", "go_memstats_sys_bytes "} {
			if v, ok := strings.CutPrefix(l, m); ok {
				var b float64
				fmt.Sscanf(v, "%g", &b)
				fmt.Printf("  %s %.1f MB\n", strings.TrimSpace(m), b/1e6)
			}
		}
	}
}
