package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func deviceKey(id string) string { return "dev:" + id }

// throttleKey is one sign-in counter and how it blocks.
type throttleKey struct {
	key     string
	backoff storage.Backoff
}

func (c ThrottleConfig) backoff(limit int) storage.Backoff {
	return storage.Backoff{Window: c.Window, Limit: limit, BaseDelay: c.BaseDelay, MaxDelay: c.MaxDelay}
}

// throttleKeys returns the sign-in counters for email and ip, in the order
// they are reserved (always the same order, so two transactions on
// PostgreSQL lock the rows alike and never deadlock). With a trusted
// device (its id), the device's own counter stands in for the email's.
func (c ThrottleConfig) throttleKeys(email, ip, device string) []throttleKey {
	keys := make([]throttleKey, 0, 2)
	switch {
	case device != "":
		keys = append(keys, throttleKey{deviceKey(device), c.backoff(c.DeviceLimit)})
	case email != "":
		keys = append(keys, throttleKey{acctKey(email), c.backoff(c.AccountLimit)})
	}
	// No address (a caller outside HTTP) means no per-address counter,
	// rather than one counter shared by every such caller.
	if ip != "" {
		keys = append(keys, throttleKey{ipKey(ip), c.backoff(c.IPLimit)})
	}
	return keys
}

// Reset mails allowed per window, per email and per source address.
const (
	resetPerEmail = 3
	resetPerIP    = 20
)

// errThrottled rolls back a reservation one of whose keys refused.
var errThrottled = errors.New("account: throttled")

// reserve counts one attempt on every key before the password is checked,
// all or none in one transaction: an attempt one key refuses uses up no
// other key's budget. It returns how long the refusing key still blocks
// (0: admitted) and which key it is. Concurrent attempts are admitted one
// after another by the database, so no more passwords are ever checked
// than the limits allow, however many arrive at once and on however many
// nodes.
func (s *Service) reserve(ctx context.Context, keys []throttleKey, now time.Time) (time.Duration, string, error) {
	var wait time.Duration
	var refused string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		wait, refused = 0, ""
		for _, k := range keys {
			t, ok, err := tx.ReserveAttempt(ctx, k.key, now, k.backoff)
			if err != nil {
				return fmt.Errorf("account: reserve sign-in attempt: %w", err)
			}
			if !ok {
				wait, refused = retryAfter(t, now), k.key
				return errThrottled
			}
		}
		return nil
	})
	if errors.Is(err, errThrottled) {
		// A block that ended between the refusal and now still answers
		// with the shortest wait, never "0s".
		return max(wait, time.Second), refused, nil
	}
	return 0, "", err
}

// release gives back attempts reserve admitted that turned out not to be
// failures. Failing to is logged, not returned: the person's sign-in has
// succeeded or been refused already, and the counter only errs towards
// caution.
func (s *Service) release(ctx context.Context, keys []throttleKey) {
	for _, k := range keys {
		if err := s.store.ReleaseAttempt(ctx, k.key, k.backoff); err != nil {
			s.log.WarnContext(ctx, "releasing a sign-in attempt failed", "key_kind", strings.SplitN(k.key, ":", 2)[0], "err", err)
		}
	}
}

// retryAfter returns how long t still blocks at now, rounded up to a whole
// second so "try again in 0s" is never shown.
func retryAfter(t storage.Throttle, now time.Time) time.Duration {
	left := t.BlockedUntil.Sub(now)
	if left <= 0 {
		return 0
	}
	if r := left % time.Second; r != 0 {
		left += time.Second - r
	}
	return left
}
