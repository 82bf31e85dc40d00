package account

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Throttle keys. Sign-in counters are keyed by the email string, not the
// account ID, so an unknown email throttles exactly like a known one and the
// throttle says nothing about which accounts exist. Per-address counters use
// ratelimit.ClientKey: an IPv6 subscriber counts per /64, so rotating
// through its addresses escapes nothing.
func acctKey(email string) string  { return "acct:" + email }
func ipKey(ip string) string       { return "ip:" + ratelimit.ClientKey(ip) }
func resetKey(email string) string { return "reset:" + email }
func resetIPKey(ip string) string  { return "resetip:" + ratelimit.ClientKey(ip) }

// throttleKey is one sign-in counter and the failures it allows before
// delays start.
type throttleKey struct {
	key   string
	limit int
}

// throttleKeys returns the sign-in counters for email and ip.
func (c ThrottleConfig) throttleKeys(email, ip string) []throttleKey {
	keys := make([]throttleKey, 0, 2)
	if email != "" {
		keys = append(keys, throttleKey{acctKey(email), c.AccountLimit})
	}
	// No address (a caller outside HTTP) means no per-address counter,
	// rather than one counter shared by every such caller.
	if ip != "" {
		keys = append(keys, throttleKey{ipKey(ip), c.IPLimit})
	}
	return keys
}

// Reset mails allowed per window, per email and per source address.
const (
	resetPerEmail = 3
	resetPerIP    = 20
)

// delay is how long after its last failure a counter at failures blocks:
// BaseDelay once the limit is reached, doubling with every further failure,
// capped at MaxDelay so a throttle never becomes a lockout.
func (c ThrottleConfig) delay(failures, limit int) time.Duration {
	if failures < limit {
		return 0
	}
	d := c.BaseDelay
	for i := limit; i < failures && d < c.MaxDelay; i++ {
		d *= 2
	}
	return min(d, c.MaxDelay)
}

// retryAfter returns how long t still blocks at now (0: not blocked),
// rounded up to a whole second so "try again in 0s" is never shown.
func (c ThrottleConfig) retryAfter(t storage.Throttle, limit int, now time.Time) time.Duration {
	d := c.delay(t.Failures, limit)
	if d == 0 {
		return 0
	}
	left := t.LastFailure.Add(d).Sub(now)
	if left <= 0 {
		return 0
	}
	if r := left % time.Second; r != 0 {
		left += time.Second - r
	}
	return left
}

// checkThrottle returns the longest wait any of the sign-in counters for
// email and ip imposes at now, or 0.
func (s *Service) checkThrottle(ctx context.Context, email, ip string, now time.Time) (time.Duration, error) {
	var wait time.Duration
	for _, k := range s.cfg.Throttle.throttleKeys(email, ip) {
		t, err := s.store.GetThrottle(ctx, k.key)
		if err != nil {
			return 0, fmt.Errorf("account: read throttle: %w", err)
		}
		wait = max(wait, s.cfg.Throttle.retryAfter(t, k.limit, now))
	}
	return wait, nil
}

// recordLoginFailure counts one failed sign-in against email and ip in tx.
func (s *Service) recordLoginFailure(ctx context.Context, tx storage.Throttles, email, ip string, now time.Time) error {
	for _, k := range s.cfg.Throttle.throttleKeys(email, ip) {
		if _, err := tx.RecordFailure(ctx, k.key, now, s.cfg.Throttle.Window); err != nil {
			return fmt.Errorf("account: record failed sign-in: %w", err)
		}
	}
	return nil
}
