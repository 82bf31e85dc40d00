// Command token measures Gatehouse's token endpoint per core: how many
// authorization-code exchanges and refresh-token grants one core of the
// server answers each second, for an app signing ID tokens with RS256 and
// one with ES256.
//
//	go run ./bench/token [-n 3000] [-duration 20s] [-concurrency 8] [-procs 1] [-database-url postgres://…]
//
// It builds the binary and starts `gatehouse serve` on a free loopback
// port with GOMAXPROCS=procs and a fresh data directory (or the given,
// empty PostgreSQL database), seeds a person with a live session and the
// two apps through the same database, and then, for each app:
//
//   - fetches n codes through /oidc/authorize with the session cookie
//     (not measured), then redeems all of them at /oidc/token;
//   - redeems refresh tokens: each worker owns one token family and
//     rotates it, until n grants or the duration has passed.
//
// Each phase reports the wall-clock rate and the server process's CPU
// time (utime+stime from /proc/PID/stat, all its threads) per grant, from
// which "per core" is grants per CPU-second. The load generator runs in
// this process, not the server's. On PostgreSQL a second figure adds the
// CPU time of the database's server processes serving that database
// (their /proc/PID/stat, PIDs from pg_stat_activity; PostgreSQL must run
// on this machine). Everything stays on 127.0.0.1.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-id/gatehouse/bench/internal/serveproc"
	"github.com/gatehouse-id/gatehouse/bench/token/tokenload"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

func main() {
	n := flag.Int("n", 3000, "grants per phase (at most 100000)")
	dur := flag.Duration("duration", 20*time.Second, "longest time per phase (at most 2m)")
	conc := flag.Int("concurrency", 8, "concurrent requests (at most 64)")
	procs := flag.Int("procs", 1, "GOMAXPROCS of the server")
	dbURL := flag.String("database-url", "", "empty PostgreSQL database URL (empty: embedded SQLite in a fresh data directory)")
	flag.Parse()
	// Bounded, so a typo cannot turn the benchmark into a flood.
	*n, *dur, *conc = min(max(*n, 1), 100000), min(max(*dur, time.Second), 2*time.Minute), min(max(*conc, 1), 64)
	if err := run(*n, *dur, *conc, *procs, *dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(1)
	}
}

func run(n int, dur time.Duration, conc, procs int, dbURL string) error {
	ctx := context.Background()
	srv, err := serveproc.Start(dbURL, "GOMAXPROCS="+strconv.Itoa(procs))
	if err != nil {
		return err
	}
	defer srv.Stop()
	base, data := srv.Base, srv.DataDir

	cfg := config.Default()
	cfg.DataDir, cfg.DatabaseURL, cfg.PublicURL = data, dbURL, base
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("open the server's database: %w", err)
	}
	defer a.Close()
	f, err := tokenload.Seed(ctx, a)
	if err != nil {
		return err
	}
	c := tokenload.NewClient(base, f.Cookie, conc)
	db := "SQLite"
	cpu := procCPU{pids: func() ([]int, error) { return []int{srv.Pid()}, nil }}
	var pgCPU *procCPU
	if dbURL != "" {
		db = "PostgreSQL"
		pg, err := sql.Open("pgx", dbURL)
		if err != nil {
			return err
		}
		defer pg.Close()
		pgCPU = &procCPU{pids: func() ([]int, error) { return backends(pg) }}
	}
	fmt.Printf("server: GOMAXPROCS=%d, %s; load: %d concurrent requests over loopback\n", procs, db, conc)
	fmt.Printf("%-6s %-14s %7s %9s %12s %16s", "alg", "grant", "grants", "wall/s", "server CPU", "per core (CPU)")
	if pgCPU != nil {
		fmt.Printf(" %14s %18s", "+ PostgreSQL", "per core (both)")
	}
	fmt.Println()
	probes := []*procCPU{&cpu, pgCPU}
	for _, ap := range f.Apps {
		// Warm up: connections, the key ring, the session cache.
		if _, err := chains(ctx, c, ap, conc); err != nil {
			return err
		}
		codes, err := fetchCodes(ctx, c, ap, n, conc)
		if err != nil {
			return err
		}
		r, err := measure(probes, len(codes), dur, conc, func(i int) error {
			_, err := c.Exchange(ctx, codes[i])
			return err
		})
		if err != nil {
			return err
		}
		r.print(ap.Alg, "code exchange")

		tokens, err := chains(ctx, c, ap, conc)
		if err != nil {
			return err
		}
		r, err = measureChains(probes, n, dur, tokens, func(w int) error {
			t, err := c.Refresh(ctx, ap, tokens[w])
			tokens[w] = t.RefreshToken
			return err
		})
		if err != nil {
			return err
		}
		r.print(ap.Alg, "refresh")
	}
	return nil
}

// chains starts k token families for a (one code exchange each) and
// returns their refresh tokens.
func chains(ctx context.Context, c *tokenload.Client, a tokenload.App, k int) ([]string, error) {
	out := make([]string, k)
	for i := range out {
		code, err := c.Authorize(ctx, a)
		if err != nil {
			return nil, err
		}
		t, err := c.Exchange(ctx, code)
		if err != nil {
			return nil, err
		}
		out[i] = t.RefreshToken
	}
	return out, nil
}

// fetchCodes gets n codes, conc at a time.
func fetchCodes(ctx context.Context, c *tokenload.Client, a tokenload.App, n, conc int) ([]tokenload.Code, error) {
	codes := make([]tokenload.Code, n)
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				code, err := c.Authorize(ctx, a)
				if err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
					return
				}
				codes[i] = code
			}
		})
	}
	wg.Wait()
	return codes, first
}

type result struct {
	grants int
	wall   time.Duration
	cpu    time.Duration // Gatehouse's
	pgCPU  time.Duration // PostgreSQL's; -1 on SQLite
}

func (r result) print(alg, what string) {
	perGrant := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(r.grants) }
	fmt.Printf("%-6s %-14s %7d %9.0f %9.0f µs %12.0f /s", alg, what, r.grants, float64(r.grants)/r.wall.Seconds(),
		perGrant(r.cpu), float64(r.grants)/r.cpu.Seconds())
	if r.pgCPU >= 0 {
		fmt.Printf(" %11.0f µs %16.0f /s", perGrant(r.pgCPU), float64(r.grants)/(r.cpu+r.pgCPU).Seconds())
	}
	fmt.Println()
}

// procCPU sums the CPU time of a set of processes. PostgreSQL backends
// come and go with the server's connection pool: a PID seen at the start
// or the end counts, one that lived only in between is missed (the pool
// keeps its connections, so the figure is a close lower bound).
type procCPU struct {
	pids  func() ([]int, error)
	start map[int]time.Duration
}

func (p *procCPU) begin() error {
	pids, err := p.pids()
	if err != nil {
		return err
	}
	p.start = map[int]time.Duration{}
	for _, pid := range pids {
		if t, err := cpuTime(pid); err == nil {
			p.start[pid] = t
		}
	}
	return nil
}

func (p *procCPU) end() (time.Duration, error) {
	pids, err := p.pids()
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range pids {
		t, err := cpuTime(pid)
		if err != nil {
			continue // gone meanwhile
		}
		total += t - p.start[pid]
	}
	return total, nil
}

// backends lists the PostgreSQL server processes connected to the
// benchmark's database, other than the one asking.
func backends(db *sql.DB) ([]int, error) {
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, fmt.Errorf("list PostgreSQL backends: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		out = append(out, pid)
	}
	return out, rows.Err()
}

// measure runs do(i) for i in [0, n), conc at a time, until done or dur
// has passed, and returns the count, wall time and server CPU time.
func measure(probes []*procCPU, n int, dur time.Duration, conc int, do func(i int) error) (result, error) {
	var next, done atomic.Int64
	deadline := time.Now().Add(dur)
	return timed(probes, conc, func(int) (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= n || time.Now().After(deadline) {
			return false, nil
		}
		if err := do(i); err != nil {
			return false, err
		}
		done.Add(1)
		return true, nil
	}, &done)
}

// measureChains has one worker per token family rotate it, until n grants
// in all or dur has passed.
func measureChains(probes []*procCPU, n int, dur time.Duration, tokens []string, do func(w int) error) (result, error) {
	var next, done atomic.Int64
	deadline := time.Now().Add(dur)
	return timed(probes, len(tokens), func(w int) (bool, error) {
		if int(next.Add(1)) > n || time.Now().After(deadline) {
			return false, nil
		}
		if err := do(w); err != nil {
			return false, err
		}
		done.Add(1)
		return true, nil
	}, &done)
}

// timed runs workers calling step until it says stop, reading the
// server's CPU time before and after.
func timed(probes []*procCPU, workers int, step func(w int) (bool, error), done *atomic.Int64) (result, error) {
	for _, p := range probes {
		if p != nil {
			if err := p.begin(); err != nil {
				return result{}, err
			}
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				ok, err := step(w)
				if err != nil {
					errs[w] = err
					return
				}
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	r := result{grants: int(done.Load()), wall: wall, pgCPU: -1}
	var err error
	if r.cpu, err = probes[0].end(); err != nil {
		return result{}, err
	}
	if probes[1] != nil {
		if r.pgCPU, err = probes[1].end(); err != nil {
			return result{}, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return result{}, err
	}
	if done.Load() == 0 {
		return result{}, errors.New("no grant completed")
	}
	return r, nil
}

// cpuTime is the process's user plus system time, all threads, from
// /proc/PID/stat (fields 14 and 15, in USER_HZ ticks: 100 a second on
// Linux whatever the kernel's HZ).
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	fields := strings.Fields(rest) // fields[0] is field 3
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * (time.Second / 100), nil
}
