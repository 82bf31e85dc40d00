// Command verify measures forward-auth: GET /auth/verify with a valid
// session over loopback HTTP, against the assembled Gatehouse (app.OpenWith
// + server.Handler, every middleware included, access log formatted), side
// by side in the same run with a bare net/http handler that does the
// least a session check can do (read the cookie, SHA-256 it, look it up in
// a map, set two headers). It reports requests/s, the ratio and latency
// percentiles, on SQLite and — when a PostgreSQL URL is given — on
// PostgreSQL, in a fresh database it drops afterwards.
//
//	go run ./bench/verify [-requests 200000] [-concurrency 32] [-rounds 3]
//	GATEHOUSE_BENCH_POSTGRES_DSN=postgres://… go run ./bench/verify
//
// The load generator is bounded (a fixed number of requests at a fixed
// concurrency, keep-alive connections, loopback only). Rounds alternate
// the two servers so that both see the same machine; each figure is the
// median round.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-id/gatehouse/bench/internal/inproc"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func main() {
	requests := flag.Int("requests", 200_000, "requests per server per round")
	conc := flag.Int("concurrency", 32, "concurrent keep-alive connections")
	rounds := flag.Int("rounds", 3, "alternating rounds per server (the median is reported)")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the Gatehouse rounds (SQLite) to this file, for go tool pprof")
	pg := flag.String("postgres", os.Getenv("GATEHOUSE_BENCH_POSTGRES_DSN"), "PostgreSQL server URL (a fresh database is created on it); empty skips PostgreSQL")
	flag.Parse()
	fmt.Printf("forward-auth benchmark: %d requests × %d rounds, concurrency %d, GOMAXPROCS %d, %s/%s, %s\n",
		*requests, *rounds, *conc, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	backends := []struct{ name, dsn string }{{"sqlite", ""}}
	if *pg != "" {
		backends = append(backends, struct{ name, dsn string }{"postgres", *pg})
	} else {
		fmt.Println("postgres: skipped (set GATEHOUSE_BENCH_POSTGRES_DSN or -postgres)")
	}
	for _, b := range backends {
		if err := runBackend(b.name, b.dsn, *requests, *conc, *rounds); err != nil {
			fmt.Fprintf(os.Stderr, "verify: %s: %v\n", b.name, err)
			os.Exit(1)
		}
	}
}

// cpuprofile, when set, names the file the SQLite Gatehouse rounds are
// profiled into.
var cpuprofile *string

func runBackend(name, pgDSN string, requests, conc, rounds int) error {
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
	bare, err := startBare(g.token, g.accountID, g.email)
	if err != nil {
		return err
	}
	defer bare.close()

	target := func(base string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/auth/verify", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "wiki.bench.test")
		req.Header.Set("X-Forwarded-Uri", "/page?x=1")
		req.AddCookie(&http.Cookie{Name: g.cookie, Value: g.token})
		return req
	}
	gReq, bReq := target(g.url), target(bare.url)
	// Both must answer 200 before anything is measured.
	for _, r := range []*http.Request{gReq, bReq} {
		if err := check(r, g.accountID); err != nil {
			return err
		}
	}
	// Warm up both (connections, caches, the JIT-free but GC-sized heap).
	load(gReq, requests/10, conc)
	load(bReq, requests/10, conc)
	var gs, bs []result
	if *cpuprofile != "" && name == "sqlite" && rounds > 0 {
		// The first round's Gatehouse half is profiled (the load
		// generator's goroutines are in the profile too: same process).
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		bs = append(bs, load(bReq, requests, conc))
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		gs = append(gs, load(gReq, requests, conc))
		pprof.StopCPUProfile()
		f.Close()
		rounds--
	}
	for range rounds {
		bs = append(bs, load(bReq, requests, conc))
		gs = append(gs, load(gReq, requests, conc))
	}
	gm, bm := median(gs), median(bs)
	fmt.Printf("\n%s\n", name)
	fmt.Printf("  %-22s %10s %9s %9s %9s %7s\n", "", "req/s", "p50", "p99", "max", "errors")
	for _, r := range []struct {
		label string
		r     result
	}{{"bare handler", bm}, {"gatehouse /auth/verify", gm}} {
		fmt.Printf("  %-22s %10.0f %9s %9s %9s %7d\n", r.label, r.r.rps, r.r.p50, r.r.p99, r.r.max, r.r.errors)
	}
	fmt.Printf("  ratio: %.2f× the bare handler's requests/s (target ≥ 0.70), p99 %s (target < 5ms)\n", gm.rps/bm.rps, gm.p99)
	if gm.errors > 0 || bm.errors > 0 {
		return fmt.Errorf("%d and %d requests failed", gm.errors, bm.errors)
	}
	return nil
}

type result struct {
	rps           float64
	p50, p99, max time.Duration
	errors        int
}

func median(rs []result) result {
	slices.SortFunc(rs, func(a, b result) int {
		switch {
		case a.rps < b.rps:
			return -1
		case a.rps > b.rps:
			return 1
		}
		return 0
	})
	return rs[len(rs)/2]
}

// load sends n copies of req over conc keep-alive connections and
// measures each request from send to the end of the body.
func load(req *http.Request, n, conc int) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return result{
		rps: float64(n) / elapsed.Seconds(),
		p50: lat[n/2].Round(time.Microsecond), p99: lat[n*99/100].Round(time.Microsecond), max: lat[n-1].Round(time.Microsecond),
		errors: int(errs.Load()),
	}
}

func check(req *http.Request, user string) error {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Gatehouse-User") != user {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s answered %d (user %q): %s", req.URL, res.StatusCode, res.Header.Get("X-Gatehouse-User"), b)
	}
	return nil
}

// --- the bare handler ---

type bareServer struct {
	url   string
	close func()
}

// startBare serves the least a session check can do: cookie, SHA-256, map
// lookup, two headers.
func startBare(token, user, email string) (*bareServer, error) {
	type who struct{ user, email string }
	sessions := map[[32]byte]who{sha256.Sum256([]byte(token)): {user, email}}
	var mu sync.RWMutex // a real store is shared and written to
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("gatehouse_session")
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.RLock()
		s, ok := sessions[sha256.Sum256([]byte(c.Value))]
		mu.RUnlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Gatehouse-User", s.user)
		w.Header().Set("X-Gatehouse-Email", s.email)
		w.WriteHeader(http.StatusOK)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	return &bareServer{url: "http://" + l.Addr().String(), close: func() { _ = srv.Close() }}, nil
}

// --- Gatehouse ---

type gatehouse struct {
	url, cookie, token, accountID, email string
	close                                func()
}

// startGatehouse assembles Gatehouse as serve does, on a fresh data
// directory (SQLite) or dbURL, with one organization, one member in a group,
// one forward-auth app and one session.
func startGatehouse(ctx context.Context, dbURL string) (*gatehouse, error) {
	s, err := inproc.Start(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	a, admin, org, closeAll := s.App, s.Admin, s.Org, s.Close
	now := time.Now().UTC()
	acct := storage.Account{ID: "acct-bench", OrgID: org.ID, Email: "person@bench.test", DisplayName: "Person",
		Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := a.Store.CreateAccount(ctx, acct); err != nil {
		closeAll()
		return nil, err
	}
	if err := a.Store.SetAccountGroups(ctx, acct.ID, []string{"eng", "ops"}); err != nil {
		closeAll()
		return nil, err
	}
	if _, _, err := a.Apps.Create(admin, org.ID, apps.Input{Name: "Wiki", Hosts: []string{"wiki.bench.test"}, Groups: []string{"eng"},
		RedirectURIs: []string{"https://wiki.bench.test/callback"}}); err != nil {
		closeAll()
		return nil, fmt.Errorf("register app: %w", err)
	}
	tok, _, err := a.Sessions.Start(ctx, session.StartParams{Account: acct, Method: "sso"})
	if err != nil {
		closeAll()
		return nil, err
	}
	// The registry's snapshot picks the app up from its feed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := a.Apps.ByHost(ctx, "wiki.bench.test"); ok {
			break
		}
		if time.Now().After(deadline) {
			closeAll()
			return nil, fmt.Errorf("the app never reached the registry's snapshot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &gatehouse{url: s.URL, cookie: a.Sessions.CookieName(), token: tok,
		accountID: acct.ID, email: acct.Email, close: closeAll}, nil
}
