package oidc_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/bench/token/tokenload"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The token benchmarks time one grant at a time over loopback HTTP to an
// assembled server (app.OpenWith + server.Handler), client included: the
// per-core figures of docs/BENCHMARKS.md come from go run ./bench/token,
// which measures the server process's own CPU time.
//
//	go test ./internal/oidc -run '^$' -bench Token -benchtime 2000x -cpu 1
//
// PostgreSQL runs when GATEHOUSE_TEST_POSTGRES_DSN is set.

func BenchmarkTokenRefresh(b *testing.B) {
	forEachSetup(b, func(b *testing.B, c *tokenload.Client, a tokenload.App) {
		ctx := context.Background()
		code, err := c.Authorize(ctx, a)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := c.Exchange(ctx, code)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if tok, err = c.Refresh(ctx, a, tok.RefreshToken); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
	})
}

func BenchmarkTokenCode(b *testing.B) {
	forEachSetup(b, func(b *testing.B, c *tokenload.Client, a tokenload.App) {
		ctx := context.Background()
		// Codes live a minute: fetch them in batches, outside the timer.
		const batch = 200
		codes := make([]tokenload.Code, 0, batch)
		b.ResetTimer()
		for i := range b.N {
			if i%batch == 0 {
				b.StopTimer()
				codes = codes[:0]
				for range min(batch, b.N-i) {
					code, err := c.Authorize(ctx, a)
					if err != nil {
						b.Fatal(err)
					}
					codes = append(codes, code)
				}
				b.StartTimer()
			}
			if _, err := c.Exchange(ctx, codes[i%batch]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
	})
}

// forEachSetup runs fn for each database (SQLite; PostgreSQL when
// configured) and each signing algorithm, on one server per database.
func forEachSetup(b *testing.B, fn func(b *testing.B, c *tokenload.Client, a tokenload.App)) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			c, f := benchServer(b, db)
			for _, a := range f.Apps {
				b.Run(a.Alg, func(b *testing.B) { fn(b, c, a) })
			}
		})
	}
}

func benchServer(b *testing.B, db string) (*tokenload.Client, tokenload.Fixture) {
	b.Helper()
	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	base := "http://localhost:" + port
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.PublicURL = base
	cfg.Listen = ts.Listener.Addr().String()
	if db == "postgres" {
		cfg.DatabaseURL = sqltest.PostgresDatabaseURL(b)
	}
	a, err := app.OpenWith(b.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	h, err := server.Handler(a)
	if err != nil {
		b.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	b.Cleanup(ts.Close)
	f, err := tokenload.Seed(b.Context(), a)
	if err != nil {
		b.Fatal(err)
	}
	c := tokenload.NewClient(base, f.Cookie, 4)
	b.Cleanup(c.HC.CloseIdleConnections)
	return c, f
}
