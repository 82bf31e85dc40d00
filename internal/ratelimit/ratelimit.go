// Package ratelimit bounds how often one client may do something costly or
// noisy (start an SSO sign-in, post a rejected SAML response, present a bad
// API token). Counters live in the database (storage.Throttles), so the
// limits hold across every node.
package ratelimit

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Rule is a limit of Max events per Window for one kind of event.
type Rule struct {
	Name   string // key prefix, e.g. "sso_begin"
	Max    int
	Window time.Duration
}

// Limiter counts events per client.
type Limiter struct {
	store storage.Throttles
	now   func() time.Time
}

// New returns a Limiter over store; now nil means time.Now.
func New(store storage.Throttles, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, now: now}
}

// ClientKey is the unit a limit applies to for an address: the address
// itself for IPv4, its /64 for IPv6, because one subscriber usually holds a
// whole /64 and could otherwise rotate through addresses to escape a limit.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (r Rule) key(ip string) string { return r.Name + ":" + ClientKey(ip) }

// Exceeded reports whether ip has used up rule's budget, and for how long,
// without counting anything.
func (l *Limiter) Exceeded(ctx context.Context, rule Rule, ip string) (bool, time.Duration, error) {
	if l == nil {
		return false, 0, nil
	}
	t, err := l.store.GetThrottle(ctx, rule.key(ip))
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: %w", err)
	}
	// Max events are allowed; once that many were counted, the budget is spent.
	return l.over(rule, t, rule.Max)
}

// Count records one event for ip under rule.
func (l *Limiter) Count(ctx context.Context, rule Rule, ip string) error {
	if l == nil {
		return nil
	}
	if _, err := l.store.RecordFailure(ctx, rule.key(ip), l.now(), rule.Window); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}

// Allow counts one event and reports whether it is within the budget.
func (l *Limiter) Allow(ctx context.Context, rule Rule, ip string) (bool, time.Duration, error) {
	if l == nil {
		return true, 0, nil
	}
	t, err := l.store.RecordFailure(ctx, rule.key(ip), l.now(), rule.Window)
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: %w", err)
	}
	// t includes this event: it is the (Max+1)th when over budget.
	over, wait, _ := l.over(rule, t, rule.Max+1)
	return !over, wait, nil
}

// over reports whether t's count reached limit within the window.
func (l *Limiter) over(rule Rule, t storage.Throttle, limit int) (bool, time.Duration, error) {
	end := t.WindowStart.Add(rule.Window)
	now := l.now()
	if t.Failures < limit || !now.Before(end) {
		return false, 0, nil
	}
	return true, end.Sub(now).Round(time.Second) + time.Second, nil
}
