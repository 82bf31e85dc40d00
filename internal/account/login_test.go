package account_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		const pw = "grace under pressure"
		e.member(org, "grace@acme.example", pw, storage.RoleMember)
		susp := e.member(org, "sam@acme.example", pw, storage.RoleMember)
		if _, err := e.svc.SetStatus(e.ctx, org.ID, susp.ID, storage.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: "sso-only@acme.example"}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, email, pw string
			ok              bool
			reason, orgID   string // audit of a failure
		}{
			{"right password", " Grace@ACME.example", pw, true, "", ""},
			{"owner", ownerEmail, ownerPassword, true, "", ""},
			{"wrong password", "grace@acme.example", pw + "!", false, "bad_password", org.ID},
			{"unknown email", "nobody@acme.example", pw, false, "unknown_account", ""},
			{"not an email", "nobody", pw, false, "unknown_account", ""},
			{"suspended, right password", "sam@acme.example", pw, false, "suspended", org.ID},
			{"never had a password", "sso-only@acme.example", "", false, "no_password", org.ID},
			{"empty password", "grace@acme.example", "", false, "bad_password", org.ID},
		}
		for i, tt := range tests {
			// A fresh address each time keeps the per-address limit out of it.
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			a, err := e.signIn(tt.email, tt.pw, ip)
			if tt.ok {
				if err != nil {
					t.Errorf("%s: %v", tt.name, err)
				}
				if a.ID == "" || a.OrgID != org.ID {
					t.Errorf("%s: account = %+v", tt.name, a)
				}
				continue
			}
			// Every failure is the same answer, with the same text.
			if err != account.ErrBadCredentials || a.ID != "" {
				t.Errorf("%s: Authenticate = %+v, %v; want ErrBadCredentials", tt.name, a, err)
				continue
			}
			ev := e.lastEvent(tt.orgID, "login.failure")
			if ev.Reason != tt.reason || ev.Outcome != "failure" || ev.IP != ip {
				t.Errorf("%s: audit = %s/%s from %s, want failure/%s from %s", tt.name, ev.Outcome, ev.Reason, ev.IP, tt.reason, ip)
			}
		}
		// Successful sign-ins are the session service's to audit.
		if n := len(e.events(org.ID, "login.success")); n != 0 {
			t.Errorf("%d login.success events written by Authenticate", n)
		}

		_, err := e.signIn("grace@acme.example", "bad\xffpassword", testIP)
		wantInvalid(t, "invalid UTF-8 password", err, "password")
		_, err = e.signIn("grace\xff@acme.example", pw, testIP)
		wantInvalid(t, "invalid UTF-8 email", err, "email")
		_, err = e.signIn("grace@acme.example", pw, "192.0.2.1\x00")
		wantInvalid(t, "control character in the address", err, "ip")
	})
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, func(c *account.Config) {
			// Only the per-email counter in this test; a 16s cap.
			c.Throttle.IPLimit = 1000
			c.Throttle.MaxDelay = 16 * time.Second
		})
		org, _ := e.setup()
		const pw = "grace under pressure"
		e.member(org, "grace@acme.example", pw, storage.RoleMember)

		// The same sequence for a real account and an unknown email: the
		// throttle must not tell them apart.
		for _, email := range []string{"grace@acme.example", "ghost@acme.example"} {
			t.Run(email, func(t *testing.T) {
				for i := range 5 {
					_, err := e.signIn(email, "wrong password", testIP)
					wantErr(t, fmt.Sprintf("failure %d", i+1), err, account.ErrBadCredentials)
				}
				// Even the right password is not evaluated now.
				_, err := e.signIn(email, pw, testIP)
				wantThrottled(t, "after 5 failures", err, time.Second)

				// Each further failure doubles the delay, up to the cap.
				for _, want := range []time.Duration{2, 4, 8, 16, 16} {
					e.clk.Advance(time.Duration(want/2) * time.Second)
					if want == 16 {
						e.clk.Advance(16 * time.Second)
					}
					_, err := e.signIn(email, "wrong password", testIP)
					wantErr(t, "failure after the delay", err, account.ErrBadCredentials)
					_, err = e.signIn(email, pw, testIP)
					wantThrottled(t, "next attempt", err, want*time.Second)
				}
				e.clk.Advance(15 * time.Second)
				_, err = e.signIn(email, pw, testIP)
				wantThrottled(t, "one second before the end", err, time.Second)

				// The delay runs out with the clock.
				e.clk.Advance(time.Second)
				_, err = e.signIn(email, pw, testIP)
				if email == "ghost@acme.example" {
					wantErr(t, "unknown email after the delay", err, account.ErrBadCredentials)
				} else if err != nil {
					t.Fatalf("right password after the delay: %v", err)
				}
				e.clk.Advance(time.Hour)
			})
		}
		if ev := e.lastEvent("", "login.throttled"); ev.Reason != "throttled" || ev.Outcome != "failure" || ev.Details["email"] != "ghost@acme.example" {
			t.Fatalf("throttled attempt on unknown email audited as %+v", ev)
		}
		if ev := e.lastEvent(org.ID, "login.throttled"); ev.Reason != "throttled" || ev.Details["email"] != "grace@acme.example" {
			t.Fatalf("throttled attempt on a known account audited as %+v", ev)
		}
	})
}

func TestThrottlingDefaults(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		const pw = "grace under pressure"
		e.member(org, "grace@acme.example", pw, storage.RoleMember)

		t.Run("success clears the email's counter", func(t *testing.T) {
			for round := range 3 {
				for i := range 4 {
					ip := fmt.Sprintf("203.0.113.%d", round*10+i)
					_, err := e.signIn("grace@acme.example", "wrong password", ip)
					wantErr(t, "failure", err, account.ErrBadCredentials)
				}
				if _, err := e.signIn("grace@acme.example", pw, "203.0.113.99"); err != nil {
					t.Fatalf("round %d: sign-in after 4 failures: %v", round, err)
				}
			}
		})

		t.Run("per-address limit across emails", func(t *testing.T) {
			const ip = "192.0.2.77"
			for i := range 5 {
				_, err := e.signIn(fmt.Sprintf("user%d@elsewhere.example", i), "password guess", ip)
				wantErr(t, "spray", err, account.ErrBadCredentials)
			}
			_, err := e.signIn("grace@acme.example", pw, ip)
			wantThrottled(t, "sixth email from the address", err, time.Second)
			// The account itself is not locked: from elsewhere it works.
			if _, err := e.signIn("grace@acme.example", pw, "192.0.2.78"); err != nil {
				t.Fatalf("sign-in from another address: %v", err)
			}
		})

		t.Run("never a lockout", func(t *testing.T) {
			// A guesser who waits out every delay is always evaluated
			// again, and no delay exceeds the 15 minute cap.
			const email = "target@acme.example"
			evaluated := 0
			for i := range 40 {
				_, err := e.signIn(email, "guess", fmt.Sprintf("2001:db8::%x", i))
				var th *account.ThrottledError
				if errors.As(err, &th) {
					if th.RetryAfter <= 0 || th.RetryAfter > 15*time.Minute {
						t.Fatalf("RetryAfter %v outside (0, 15m]", th.RetryAfter)
					}
					e.clk.Advance(th.RetryAfter)
					_, err = e.signIn(email, "guess", fmt.Sprintf("2001:db8::%x", i))
				}
				wantErr(t, "guess after waiting", err, account.ErrBadCredentials)
				evaluated++
			}
			if evaluated != 40 {
				t.Fatalf("%d of 40 guesses evaluated", evaluated)
			}
		})
	})
}
