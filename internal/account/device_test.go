package account_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	gmail "github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

const (
	gracePassword = "grace under pressure"
	graceIP       = "192.0.2.50" // Grace's own network
)

// attempt is a sign-in with a device cookie.
func (e *env) attempt(svc *account.Service, email, password, ip, device string) (account.Authenticated, error) {
	return svc.Authenticate(e.ctx, account.PasswordAttempt{Email: email, Password: password, IP: ip, Device: device})
}

// deviceOf signs email in from graceIP and returns the device cookie its
// browser is given.
func (e *env) deviceOf(svc *account.Service, email, password string) string {
	e.t.Helper()
	res, err := e.attempt(svc, email, password, graceIP, "")
	if err != nil {
		e.t.Fatalf("sign-in of %s: %v", email, err)
	}
	if res.Device == "" || res.Account.Email != email {
		e.t.Fatalf("sign-in of %s: account %q, device cookie %q", email, res.Account.Email, res.Device)
	}
	return res.Device
}

// holdAccount sends wrong passwords for email from fresh addresses until
// the account-wide delay refuses them.
func (e *env) holdAccount(email string) {
	e.t.Helper()
	for i := range 20 {
		_, err := e.signIn(email, "guess", fmt.Sprintf("203.0.113.%d", 200+i))
		var th *account.ThrottledError
		if errors.As(err, &th) {
			return
		}
		wantErr(e.t, "guess", err, account.ErrBadCredentials)
	}
	e.t.Fatalf("%s is not throttled after 20 wrong passwords", email)
}

// TestDeviceCookieKeepsTheOwnerIn replays an attack seen on the running
// server: rotating source addresses and sending one wrong password
// whenever Retry-After ended kept an account throttled for 22 minutes
// with 38 requests, and its owner out. Her browser now holds a device
// cookie from her last sign-in, which exempts her from the account-wide
// delay: she signs in at once, every time, while the attack goes on.
// Without the cookie she is throttled as before, and her sign-ins do not
// lift the delay the attacker has earned.
func TestDeviceCookieKeepsTheOwnerIn(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		e.member(org, "grace@acme.example", gracePassword, storage.RoleMember)
		cookie := e.deviceOf(e.svc, "grace@acme.example", gracePassword)

		start := e.clk.Now()
		requests, held := 0, 0
		for e.clk.Now().Sub(start) < 22*time.Minute {
			requests++
			_, err := e.signIn("grace@acme.example", "guess", fmt.Sprintf("203.0.113.%d", requests))
			var th *account.ThrottledError
			if !errors.As(err, &th) {
				wantErr(t, "attacker's guess", err, account.ErrBadCredentials)
				continue
			}
			held++
			_, err = e.signIn("grace@acme.example", gracePassword, graceIP)
			if !errors.As(err, new(*account.ThrottledError)) {
				t.Fatalf("after %s: Grace without her cookie: err = %v, want throttled as before", e.clk.Now().Sub(start), err)
			}
			res, err := e.attempt(e.svc, "grace@acme.example", gracePassword, graceIP, cookie)
			if err != nil {
				t.Fatalf("after %s: Grace with her device cookie: %v", e.clk.Now().Sub(start), err)
			}
			if res.Account.Email != "grace@acme.example" || res.Device == "" || res.Device == cookie {
				t.Fatalf("Grace's sign-in: account %q, renewed cookie %q", res.Account.Email, res.Device)
			}
			cookie = res.Device
			requests++
			_, err = e.signIn("grace@acme.example", "guess", fmt.Sprintf("203.0.113.%d", requests))
			if !errors.As(err, new(*account.ThrottledError)) {
				t.Fatalf("Grace's sign-in lifted the attacker's delay: %v", err)
			}
			e.clk.Advance(th.RetryAfter)
		}
		if held < 10 {
			t.Fatalf("the attack held the account only %d times in 22 minutes (%d requests)", held, requests)
		}
	})
}

// TestStolenDeviceCookieRunsOut: failures with a device cookie count
// against that cookie; once it is delayed it is trusted no more, so a
// stolen cookie gives a guesser its small allowance and then only the
// account-wide delay everyone else gets.
func TestStolenDeviceCookieRunsOut(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, func(c *account.Config) { c.Throttle.DeviceLimit = 3 })
		org, _ := e.setup()
		e.member(org, "grace@acme.example", gracePassword, storage.RoleMember)
		stolen := e.deviceOf(e.svc, "grace@acme.example", gracePassword)
		other := e.deviceOf(e.svc, "grace@acme.example", gracePassword) // her other browser
		e.holdAccount("grace@acme.example")

		before := e.svc.HashRuns()
		for i := range 3 {
			_, err := e.attempt(e.svc, "grace@acme.example", "guess", fmt.Sprintf("198.51.100.%d", i+1), stolen)
			wantErr(t, fmt.Sprintf("guess %d with the stolen cookie", i+1), err, account.ErrBadCredentials)
		}
		if ev := e.lastEvent(org.ID, "login.failure"); ev.Details["device_cookie"] != "trusted" {
			t.Errorf("failure with a device cookie audited without saying so: %+v", ev.Details)
		}
		for i, pw := range []string{"guess", gracePassword} {
			_, err := e.attempt(e.svc, "grace@acme.example", pw, fmt.Sprintf("198.51.100.%d", 10+i), stolen)
			if !errors.As(err, new(*account.ThrottledError)) {
				t.Fatalf("attempt %d with the exhausted cookie: err = %v, want the account's delay", i+1, err)
			}
		}
		if got := e.svc.HashRuns() - before; got != 3 {
			t.Fatalf("%d passwords checked through the stolen cookie, want 3", got)
		}
		// Her other browser's cookie is its own.
		if _, err := e.attempt(e.svc, "grace@acme.example", gracePassword, graceIP, other); err != nil {
			t.Fatalf("sign-in with another device cookie: %v", err)
		}
	})
}

// TestDeviceCookieMustBeValid: only a cookie this server issued, for this
// email, unexpired and unaltered, lifts the account-wide delay; anything
// else is judged like no cookie. Nodes sharing the secret key accept each
// other's cookies.
func TestDeviceCookieMustBeValid(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		secret := bytes.Repeat([]byte{7}, 32)
		e := newEnv(t, st, func(c *account.Config) { c.SecretKey = secret })
		org, _ := e.setup()
		e.member(org, "grace@acme.example", gracePassword, storage.RoleMember)
		cookie := e.deviceOf(e.svc, "grace@acme.example", gracePassword)
		adas := e.deviceOf(e.svc, ownerEmail, ownerPassword)
		e.holdAccount("grace@acme.example")

		node := func(key []byte) *account.Service {
			return account.New(st, &gmail.Outbox{Dir: t.TempDir()}, account.Config{PublicURL: publicURL, SecretKey: key},
				slog.New(slog.DiscardHandler), e.clk.Now)
		}
		flipped := []byte(cookie)
		flipped[len(flipped)/2] ^= 1
		refused := []struct {
			name, cookie string
			svc          *account.Service
		}{
			{"another account's cookie", adas, e.svc},
			{"an altered cookie", string(flipped), e.svc},
			{"a truncated cookie", cookie[:len(cookie)-2], e.svc},
			{"a lengthened cookie", cookie + "AA", e.svc},
			{"garbage", "not a cookie \x00", e.svc},
			{"a node with another secret key", cookie, node(bytes.Repeat([]byte{8}, 32))},
		}
		for _, tt := range refused {
			_, err := e.attempt(tt.svc, "grace@acme.example", gracePassword, graceIP, tt.cookie)
			if !errors.As(err, new(*account.ThrottledError)) {
				t.Errorf("%s: err = %v, want the account's delay", tt.name, err)
			}
		}
		if _, err := e.attempt(node(secret), "grace@acme.example", gracePassword, graceIP, cookie); err != nil {
			t.Fatalf("a node sharing the secret key refused the cookie: %v", err)
		}

		e.clk.Advance(account.DeviceCookieLifetime)
		e.holdAccount("grace@acme.example")
		_, err := e.attempt(e.svc, "grace@acme.example", gracePassword, graceIP, cookie)
		if !errors.As(err, new(*account.ThrottledError)) {
			t.Fatalf("an expired cookie: err = %v, want the account's delay", err)
		}
	})
}
