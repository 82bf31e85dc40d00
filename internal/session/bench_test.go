package session

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// benchService signs in one account on a fresh SQLite store, with the real
// clock, and returns its token.
func benchService(b *testing.B) (*Service, string) {
	b.Helper()
	s := sqltest.NewSQLite(b)
	svc := New(s, Config{Secure: true}, nil, time.Now)
	run(b, svc) // as in production: without the feed the cache goes stale
	a := seedAccount(b, s, time.Now())
	tok, _, err := svc.Start(context.Background(), StartParams{Account: a, Method: "password"})
	if err != nil {
		b.Fatal(err)
	}
	return svc, tok
}

// BenchmarkValidateWarm measures the per-request cost on a node that has
// the session cached: go test -run '^$' -bench ValidateWarm -cpu 1 ./internal/session/
func BenchmarkValidateWarm(b *testing.B) {
	svc, tok := benchService(b)
	ctx := context.Background()
	if _, err := svc.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}

// BenchmarkValidateCold measures the same with the cache off: two indexed
// reads from SQLite per request.
func BenchmarkValidateCold(b *testing.B) {
	svc, tok := benchService(b)
	svc.noCache = true
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}
