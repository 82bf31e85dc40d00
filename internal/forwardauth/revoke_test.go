package forwardauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/forwardauth"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// node2 is a second Gatehouse node on g's database: its own store, session
// service (and cache, polling the feed) and forward-auth handler. Apps
// come from g's registry: what is under test is the session cache.
func node2(t *testing.T, g *gh) http.Handler {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), g.DatabaseURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := g.App.Config.Session
	sessions := session.New(st, session.Config{PollInterval: cfg.PollInterval, StaleAfter: cfg.StaleAfter}, nil, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sessions.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	mux := http.NewServeMux()
	fa := &forwardauth.Handler{Sessions: sessions, Apps: g.App.Apps, Orgs: g.App.Accounts, PublicURL: g.URL, Log: slog.New(slog.DiscardHandler)}
	if err := fa.Register(mux); err != nil {
		t.Fatal(err)
	}
	return mux
}

func statusOn(h http.Handler, token, cookie string) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/auth/verify?mode=nginx", nil)
	req.Header.Set("X-Original-URL", "https://wiki.acme.test/")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookie, Value: token})
	}
	h.ServeHTTP(rec, req)
	return rec.Code
}

// Sign-out, an admin's revocation and suspending the account make
// /auth/verify answer 401 at once on the node that made the change, and on
// another node (its own cache, polling the feed) within about a second.
func TestRevocationReachesForwardAuthAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *gh) {
		org := g.org("acme")
		g.app(org, "Wiki", []string{"wiki.acme.test"})
		other := node2(t, g)
		cookie := g.App.Sessions.CookieName()
		within := 2 * config.StaleFactor * g.App.Config.Session.PollInterval // generous; the feed is polled every poll_interval

		for _, tc := range []struct {
			name   string
			revoke func(a storage.Account, tok string) error
		}{
			{"sign-out", func(_ storage.Account, tok string) error { return g.App.Sessions.Logout(context.Background(), tok) }},
			{"admin revoke", func(a storage.Account, _ string) error {
				_, err := g.App.Accounts.RevokeSessions(g.admin, a.OrgID, a.ID)
				return err
			}},
			{"suspension", func(a storage.Account, _ string) error {
				_, err := g.App.Accounts.SetStatus(g.admin, a.OrgID, a.ID, storage.StatusSuspended)
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a, tok := g.member(org)
				// Warm both nodes' caches.
				if c := statusOn(g.Handler, tok, cookie); c != http.StatusOK {
					t.Fatalf("before: this node %d", c)
				}
				if c := statusOn(other, tok, cookie); c != http.StatusOK {
					t.Fatalf("before: other node %d", c)
				}
				if err := tc.revoke(a, tok); err != nil {
					t.Fatal(err)
				}
				if c := statusOn(g.Handler, tok, cookie); c != http.StatusUnauthorized {
					t.Errorf("this node right after: %d, want 401", c)
				}
				took := eventually(t, within, "the other node answers 401", func() bool {
					return statusOn(other, tok, cookie) == http.StatusUnauthorized
				})
				t.Logf("other node: 401 after %s", took.Round(time.Millisecond))
			})
		}
	})
}

// A change of groups at the IdP, synced at the next SSO sign-in, reaches
// the groups forward-auth sends (and the app's restriction) at once.
func TestGroupChangeReachesForwardAuth(t *testing.T) {
	g := startGatehouse(t, "")
	org := g.org("acme")
	g.app(org, "Grafana", []string{"wiki.acme.test"}, "ops")
	a, tok := g.member(org, "ops")
	cookie := g.App.Sessions.CookieName()
	if c := statusOn(g.Handler, tok, cookie); c != http.StatusOK {
		t.Fatalf("in ops: %d", c)
	}
	// What sso's link step does when the IdP sends new groups.
	ctx := context.Background()
	err := g.App.Store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.SetAccountGroups(ctx, a.ID, []string{"eng"}); err != nil {
			return err
		}
		return tx.PublishInvalidation(ctx, "account", a.ID, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := statusOn(g.Handler, tok, cookie); c != http.StatusForbidden {
		t.Errorf("after leaving ops: %d, want 403", c)
	}
}
