package account_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestThrottleIPv6Rotation: a single IPv6 subscriber is routinely given a
// whole /64, 2^64 addresses. Keyed by the full address, the per-address
// limit never fired for a password sprayer who uses a fresh address per
// guess. Counting IPv6 by /64 closes that; IPv4 stays per address, and an
// IPv4-mapped IPv6 address counts as the IPv4 address it is.
func TestThrottleIPv6Rotation(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		const pw = "grace under pressure"
		e.member(org, "grace@acme.example", pw, storage.RoleMember)

		for i := range 5 {
			ip := fmt.Sprintf("2001:db8:1:2:%x::%x", i, i+1)
			_, err := e.signIn(fmt.Sprintf("user%d@elsewhere.example", i), "password guess", ip)
			wantErr(t, "spray", err, account.ErrBadCredentials)
		}
		_, err := e.signIn("grace@acme.example", pw, "2001:db8:1:2:ffff:ffff:ffff:fffe")
		wantThrottled(t, "sixth guess from a fresh address of the same /64", err, time.Second)
		// Another /64 is another subscriber.
		if _, err := e.signIn("grace@acme.example", pw, "2001:db8:1:3::1"); err != nil {
			t.Fatalf("sign-in from another /64: %v", err)
		}

		for i := range 5 {
			_, err := e.signIn(fmt.Sprintf("v4user%d@elsewhere.example", i), "password guess", "192.0.2.80")
			wantErr(t, "spray", err, account.ErrBadCredentials)
		}
		_, err = e.signIn("grace@acme.example", pw, "::ffff:192.0.2.80")
		wantThrottled(t, "the same IPv4 address written as IPv4-mapped IPv6", err, time.Second)
		if _, err := e.signIn("grace@acme.example", pw, "192.0.2.81"); err != nil {
			t.Fatalf("IPv4 neighbours are not grouped: %v", err)
		}
	})
}
