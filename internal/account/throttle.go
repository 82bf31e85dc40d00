package account

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Throttle keys. Sign-in counters are keyed by the email string, not the
// account ID, so an unknown email throttles exactly like a known one and the
// throttle says nothing about which accounts exist.
func acctKey(email string) string  { return "acct:" + email }
func ipKey(ip string) string       { return "ip:" + throttleAddr(ip) }
func resetKey(email string) string { return "reset:" + email }
func resetIPKey(ip string) string  { return "resetip:" + throttleAddr(ip) }

// throttleAddr is the part of a client address that per-address limits
// count. An IPv6 subscriber is usually given a whole /64 (RFC 6177), so
// keyed by the full address a sprayer could take a fresh address for every
// guess and never reach the limit: IPv6 counts per /64. An IPv4-mapped IPv6
// address is the IPv4 address it carries, and a zone says nothing about
// the sender. Anything that does not parse (callers outside HTTP) is kept
// as given.
func throttleAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
func throttleKeys(email, ip string) []string {
	keys := make([]string, 0, 2)
	if email != "" {
		keys = append(keys, acctKey(email))
	}
	// No address (a caller outside HTTP) means no per-address counter,
	// rather than one counter shared by every such caller.
	if ip != "" {
		keys = append(keys, ipKey(ip))
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
	for _, key := range throttleKeys(email, ip) {
		t, err := s.store.GetThrottle(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("account: read throttle: %w", err)
		}
		limit := s.cfg.Throttle.AccountLimit
		if key == ipKey(ip) {
			limit = s.cfg.Throttle.IPLimit
		}
		wait = max(wait, s.cfg.Throttle.retryAfter(t, limit, now))
	}
	return wait, nil
}

// recordLoginFailure counts one failed sign-in against email and ip in tx.
func (s *Service) recordLoginFailure(ctx context.Context, tx storage.Throttles, email, ip string, now time.Time) error {
	for _, key := range throttleKeys(email, ip) {
		if _, err := tx.RecordFailure(ctx, key, now, s.cfg.Throttle.Window); err != nil {
			return fmt.Errorf("account: record failed sign-in: %w", err)
		}
	}
	return nil
}
