package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestStartThenValidate(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		a := seedAccount(t, s, c.Now())
		svc := newService(s, c)

		tok, sess := start(t, svc, a)
		if !wellFormed(tok) {
			t.Fatalf("token %q is not 43 base64url characters", tok)
		}
		stored, err := s.GetSession(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(tok))
		if stored.TokenHash != hex.EncodeToString(sum[:]) || strings.Contains(stored.TokenHash, tok) {
			t.Fatalf("stored token hash %q is not the hex SHA-256 of the token", stored.TokenHash)
		}
		if stored.IdleTimeout != 8*time.Hour || !stored.ExpiresAt.Equal(c.Now().Add(7*24*time.Hour)) ||
			!stored.LastSeenAt.Equal(c.Now()) || stored.Method != "password" || stored.IP != "203.0.113.9" {
			t.Fatalf("stored session = %+v", stored)
		}

		v := mustValidate(t, svc, tok)
		if v.Session.ID != sess.ID || v.Account.ID != a.ID || v.Account.Email != a.Email {
			t.Fatalf("Validate = %+v", v)
		}
		// A node that never saw the sign-in validates from the database.
		v = mustValidate(t, newService(s, c), tok)
		if v.Session.ID != sess.ID || v.Account.ID != a.ID {
			t.Fatalf("Validate on another node = %+v", v)
		}

		// Every sign-in gets a new token, so a token planted before sign-in is never promoted.
		tok2, sess2 := start(t, svc, a)
		if tok2 == tok || sess2.ID == sess.ID {
			t.Fatal("a second sign-in reused the token or session ID")
		}

		evs := auditEvents(t, s, a.OrgID, "login.success")
		if len(evs) != 2 {
			t.Fatalf("login.success events = %d, want 2", len(evs))
		}
		e := evs[0]
		if e.ActorType != "account" || e.ActorID != a.ID || e.ActorEmail != a.Email || e.TargetType != "session" ||
			e.TargetID != sess.ID || e.Details["method"] != "password" || e.Details["amr"] != "pwd" ||
			e.Details["auth_time"] != "2030-01-07T09:00:00Z" || e.IP != "203.0.113.9" ||
			e.UserAgent != "Firefox/140" || e.Outcome != "success" {
			t.Fatalf("login.success event = %+v", e)
		}
	})
}

func TestStartRefusesInactiveAccount(t *testing.T) {
	svc := New(nil, Config{}, nil, newClock().Now)
	for _, a := range []storage.Account{
		{ID: "a", OrgID: "o", Status: storage.StatusSuspended},
		{OrgID: "o", Status: storage.StatusActive},
	} {
		if _, _, err := svc.Start(context.Background(), StartParams{Account: a}); err == nil {
			t.Errorf("Start(%+v) succeeded", a)
		}
	}
}

func TestValidateRejectsUnknownAndMalformedTokens(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		svc := newService(s, c)
		start(t, svc, seedAccount(t, s, c.Now()))
		unknown, _ := newToken()
		for name, tok := range map[string]string{
			"unknown":            unknown,
			"empty":              "",
			"garbage":            "not a token",
			"too long":           unknown + "A",
			"too short":          unknown[:42],
			"standard base64":    strings.Repeat("+", 42) + "A",
			"stray bits at end":  unknown[:42] + "B",
			"padding":            unknown[:42] + "=",
			"hex hash of itself": hashHex(tokenSum(unknown)),
		} {
			if _, err := svc.Validate(context.Background(), tok); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: Validate(%q) = %v, want ErrInvalid", name, tok, err)
			}
		}
	})
}

func TestIdleExpiry(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		svc := newService(s, c)
		tok, sess := start(t, svc, seedAccount(t, s, c.Now()))

		// Activity keeps the session alive well past one idle timeout.
		for range 5 {
			c.Advance(7*time.Hour + 59*time.Minute)
			mustValidate(t, svc, tok)
		}
		stored, _ := s.GetSession(context.Background(), sess.ID)
		if !stored.LastSeenAt.Equal(c.Now()) {
			t.Fatalf("LastSeenAt in storage = %v, want %v (activity must reach the database)", stored.LastSeenAt, c.Now())
		}
		// Eight hours without a request end it, on this node and any other.
		c.Advance(8 * time.Hour)
		mustBeInvalid(t, svc, tok)
		mustBeInvalid(t, newService(s, c), tok)
	})
}

func TestActivityOnAnotherNodeKeepsSessionAlive(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		nodeA, nodeB := newService(s, c), newService(s, c)
		tok, _ := start(t, nodeA, seedAccount(t, s, c.Now()))
		mustValidate(t, nodeA, tok) // cached on A

		c.Advance(6 * time.Hour)
		mustValidate(t, nodeB, tok) // the person's requests now go to B
		c.Advance(6 * time.Hour)
		// A's copy last saw the session 12h ago, but B saw it 6h ago.
		mustValidate(t, nodeA, tok)
	})
}

func TestAbsoluteExpiry(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		svc := newService(s, c)
		tok, sess := start(t, svc, seedAccount(t, s, c.Now()))
		for c.Now().Add(time.Hour).Before(sess.ExpiresAt) {
			c.Advance(time.Hour)
			mustValidate(t, svc, tok)
		}
		c.Advance(sess.ExpiresAt.Sub(c.Now()))
		if !c.Now().Equal(sess.ExpiresAt) || !sess.ExpiresAt.Equal(sess.CreatedAt.Add(7*24*time.Hour)) {
			t.Fatalf("clock %v, session expires %v", c.Now(), sess.ExpiresAt)
		}
		mustBeInvalid(t, svc, tok)
	})
}

func TestLogout(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		tok, sess := start(t, svc, a)
		other, _ := start(t, svc, a)
		mustValidate(t, svc, tok)

		if err := svc.Logout(ctx, tok); err != nil {
			t.Fatal(err)
		}
		mustBeInvalid(t, svc, tok)
		mustValidate(t, svc, other) // only this browser signs out

		stored, _ := s.GetSession(ctx, sess.ID)
		if stored.RevokedAt.IsZero() || stored.RevokeReason != "logout" {
			t.Fatalf("stored session after logout = %+v", stored)
		}
		evs := auditEvents(t, s, a.OrgID, "logout")
		if len(evs) != 1 || evs[0].TargetID != sess.ID || evs[0].ActorID != a.ID || evs[0].ActorEmail != a.Email {
			t.Fatalf("logout events = %+v", evs)
		}
		// A second logout (double click, back button) is harmless and not logged again.
		if err := svc.Logout(ctx, tok); err != nil {
			t.Fatalf("second Logout: %v", err)
		}
		if n := len(auditEvents(t, s, a.OrgID, "logout")); n != 1 {
			t.Fatalf("logout events after a second logout = %d, want 1", n)
		}
		unknown, _ := newToken()
		for _, tok := range []string{unknown, "junk"} {
			if err := svc.Logout(ctx, tok); !errors.Is(err, ErrInvalid) {
				t.Errorf("Logout(%q) = %v, want ErrInvalid", tok, err)
			}
		}
	})
}

func TestRevoke(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		b := addAccount(t, s, a.OrgID, c.Now())
		tok, sess := start(t, svc, a)
		mustValidate(t, svc, tok)
		admin := reqctx.With(context.Background(), reqctx.Info{ActorType: "account", ActorID: b.ID, ActorEmail: b.Email, RequestID: "r1"})

		if err := svc.Revoke(admin, b.ID, sess.ID, "admin"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Revoke of another account's session = %v, want ErrInvalid", err)
		}
		if err := svc.Revoke(admin, a.ID, "no-such-session", "admin"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Revoke of an unknown session = %v, want ErrInvalid", err)
		}
		mustValidate(t, svc, tok)

		if err := svc.Revoke(admin, a.ID, sess.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		mustBeInvalid(t, svc, tok)
		evs := auditEvents(t, s, a.OrgID, "session.revoke")
		if len(evs) != 1 || evs[0].ActorID != b.ID || evs[0].TargetID != sess.ID || evs[0].Reason != "admin" ||
			evs[0].RequestID != "r1" || evs[0].Details["account_id"] != a.ID {
			t.Fatalf("session.revoke events = %+v", evs)
		}
	})
}

func TestRevokeAllExceptCurrent(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		bystander := addAccount(t, s, a.OrgID, c.Now())
		current, cur := start(t, svc, a)
		c.Advance(time.Minute)
		laptop, _ := start(t, svc, a)
		c.Advance(time.Minute)
		phone, _ := start(t, svc, a)
		theirs, _ := start(t, svc, bystander)
		for _, tok := range []string{current, laptop, phone, theirs} {
			mustValidate(t, svc, tok)
		}

		n, err := svc.RevokeAll(ctx, a.ID, cur.ID, "user")
		if err != nil || n != 2 {
			t.Fatalf("RevokeAll = %d, %v; want 2", n, err)
		}
		mustValidate(t, svc, current)
		mustBeInvalid(t, svc, laptop)
		mustBeInvalid(t, svc, phone)
		mustValidate(t, svc, theirs)

		list, err := svc.List(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].ID != cur.ID {
			t.Fatalf("List after RevokeAll = %+v, %v", list, err)
		}
		evs := auditEvents(t, s, a.OrgID, "session.revoke_all")
		if len(evs) != 1 || evs[0].TargetID != a.ID || evs[0].Details["revoked"] != "2" || evs[0].Details["kept_session_id"] != cur.ID {
			t.Fatalf("session.revoke_all events = %+v", evs)
		}

		// Without an exception every session ends.
		if n, err := svc.RevokeAll(ctx, a.ID, "", "password_reset"); err != nil || n != 1 {
			t.Fatalf("RevokeAll = %d, %v; want 1", n, err)
		}
		mustBeInvalid(t, svc, current)
		if _, err := svc.RevokeAll(ctx, "no-such-account", "", "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("RevokeAll of an unknown account = %v, want ErrInvalid", err)
		}
	})
}

func TestListDropsIdleSessions(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		_, old := start(t, svc, a)
		c.Advance(7 * time.Hour)
		_, recent := start(t, svc, a)
		c.Advance(2 * time.Hour) // old: 9h idle; recent: 2h
		list, err := svc.List(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != recent.ID {
			t.Fatalf("List = %+v; want only %s (not the idle %s)", list, recent.ID, old.ID)
		}
	})
}

func TestSuspendedAccountIsSignedOutAfterPoll(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		run(t, svc)
		a := seedAccount(t, s, c.Now())
		tok, _ := start(t, svc, a)
		mustValidate(t, svc, tok)

		// What SCIM deprovisioning does: change the status and tell every node.
		err := s.InTx(ctx, func(tx storage.Store) error {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(a *storage.Account) error {
				a.Status = storage.StatusSuspended
				return nil
			}); err != nil {
				return err
			}
			return tx.PublishInvalidation(ctx, "account", a.ID, c.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		// The clock stands still, so only the feed can evict the cached entry.
		eventually(t, "suspended account's session rejected", func() bool {
			_, err := svc.Validate(ctx, tok)
			return errors.Is(err, ErrInvalid)
		})
	})
}

func TestRevocationOnAnotherNode(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		nodeA, nodeB := newService(s, c), newService(s, c)
		run(t, nodeA)
		run(t, nodeB)
		a := seedAccount(t, s, c.Now())
		tok1, _ := start(t, nodeA, a)
		tok2, _ := start(t, nodeA, a)
		tok3, _ := start(t, nodeA, a)
		for _, tok := range []string{tok1, tok2, tok3} {
			mustValidate(t, nodeA, tok)
		}

		if err := nodeB.Logout(ctx, tok1); err != nil {
			t.Fatal(err)
		}
		eventually(t, "logout on B seen by A", func() bool {
			_, err := nodeA.Validate(ctx, tok1)
			return errors.Is(err, ErrInvalid)
		})
		mustValidate(t, nodeA, tok2)

		if _, err := nodeB.RevokeAll(ctx, a.ID, "", "admin"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "revoke-all on B seen by A", func() bool {
			_, err2 := nodeA.Validate(ctx, tok2)
			_, err3 := nodeA.Validate(ctx, tok3)
			return errors.Is(err2, ErrInvalid) && errors.Is(err3, ErrInvalid)
		})
	})
}

func TestCacheTTLBoundsStaleness(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		tok, _ := start(t, svc, a)
		mustValidate(t, svc, tok)
		// A change that reached the database but was never published on
		// the feed, which this node keeps reading without error.
		if _, err := s.UpdateAccount(ctx, a.ID, func(a *storage.Account) error {
			a.Status = storage.StatusSuspended
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		since := c.Now().Add(-time.Minute)
		for range 29 {
			c.Advance(time.Second)
			since = svc.poll(ctx, since)
			mustValidate(t, svc, tok) // still cached
		}
		c.Advance(time.Second)
		svc.poll(ctx, since)
		mustBeInvalid(t, svc, tok)
	})
}

func TestPruneRemovesDeadRows(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		_, sess := start(t, svc, a)
		if err := s.PublishInvalidation(ctx, "session", sess.ID, c.Now()); err != nil {
			t.Fatal(err)
		}
		c.Advance(8*24*time.Hour + time.Minute) // a day past its lifetime
		run(t, svc)
		eventually(t, "expired session and old invalidations pruned", func() bool {
			_, err := s.GetSession(ctx, sess.ID)
			invs, _ := s.InvalidationsSince(ctx, time.Time{})
			return errors.Is(err, storage.ErrNotFound) && len(invs) == 0
		})
	})
}

// The browser's User-Agent header reaches Start as the browser sent it: of
// any length up to the header limit, and not necessarily UTF-8. Neither may
// keep anyone from signing in, nor fill the sessions table.
func TestStartStoresAClippedValidUserAgent(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		a := seedAccount(t, s, c.Now())
		svc := newService(s, c)
		for _, tc := range []struct{ name, ua, want string }{
			{"invalid UTF-8", "Mozilla/5.0 \xff\xfe(X11)", "Mozilla/5.0 (X11)"},
			{"control characters", "Mozilla\t/5.0\x01", "Mozilla/5.0"},
			{"long", strings.Repeat("é", 300), strings.Repeat("é", maxUserAgent/2)},
		} {
			_, sess, err := svc.Start(ctx, StartParams{Account: a, Method: "password", IP: "203.0.113.9", UserAgent: tc.ua})
			if err != nil {
				t.Fatalf("%s: Start: %v", tc.name, err)
			}
			stored, err := s.GetSession(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.UserAgent != tc.want || sess.UserAgent != tc.want {
				t.Errorf("%s: stored user agent %q (returned %q), want %q", tc.name, stored.UserAgent, sess.UserAgent, tc.want)
			}
		}
	})
}
