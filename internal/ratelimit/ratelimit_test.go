package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestLimiter(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
		l := ratelimit.New(st, func() time.Time { return now })
		rule := ratelimit.Rule{Name: "test", Max: 3, Window: time.Minute}
		for i := 1; i <= 3; i++ {
			if ok, _, err := l.Allow(ctx, rule, "192.0.2.1"); !ok || err != nil {
				t.Fatalf("event %d refused: %v", i, err)
			}
		}
		ok, wait, err := l.Allow(ctx, rule, "192.0.2.1")
		if ok || err != nil || wait <= 0 || wait > time.Minute+time.Second {
			t.Fatalf("4th event: ok=%v wait=%v err=%v; want refused with a wait within the window", ok, wait, err)
		}
		if over, _, _ := l.Exceeded(ctx, rule, "192.0.2.1"); !over {
			t.Error("Exceeded does not report the spent budget")
		}
		// Another client is unaffected; so is another rule.
		if ok, _, _ := l.Allow(ctx, rule, "192.0.2.2"); !ok {
			t.Error("another address was limited")
		}
		if ok, _, _ := l.Allow(ctx, ratelimit.Rule{Name: "other", Max: 3, Window: time.Minute}, "192.0.2.1"); !ok {
			t.Error("another rule was limited")
		}
		// The window passes: the budget is back.
		now = now.Add(time.Minute)
		if ok, _, _ := l.Allow(ctx, rule, "192.0.2.1"); !ok {
			t.Error("the budget did not come back after the window")
		}
	})
}

// Rotating through addresses of one IPv6 /64 does not escape the limit.
func TestIPv6SharesItsSlash64(t *testing.T) {
	ctx := context.Background()
	l := ratelimit.New(sqltest.NewSQLite(t), nil)
	rule := ratelimit.Rule{Name: "test", Max: 2, Window: time.Hour}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		_, _, _ = l.Allow(ctx, rule, ip)
	}
	if over, _, _ := l.Exceeded(ctx, rule, "2001:db8:1:2::99"); !over {
		t.Fatal("addresses of one /64 are counted separately")
	}
	if over, _, _ := l.Exceeded(ctx, rule, "2001:db8:1:3::1"); over {
		t.Fatal("another /64 is limited")
	}
	if got := ratelimit.ClientKey("::ffff:192.0.2.7"); got != "192.0.2.7" {
		t.Errorf("IPv4-mapped address key = %q", got)
	}
}

func TestNilLimiterAllows(t *testing.T) {
	var l *ratelimit.Limiter
	if ok, _, err := l.Allow(context.Background(), ratelimit.Rule{Name: "x", Max: 0, Window: time.Second}, "192.0.2.1"); !ok || err != nil {
		t.Fatal("a nil limiter must allow")
	}
}
