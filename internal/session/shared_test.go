package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// With a cookie domain the session cookie is shared with the domain's
// subdomains: named __Secure- (a __Host- cookie cannot carry Domain),
// still Secure, HttpOnly and SameSite=Lax; reading and clearing use the
// same name and attributes.
func TestSharedCookieForSubdomains(t *testing.T) {
	c := newClock()
	svc := New(nil, Config{Secure: true, CookieDomain: "example.com"}, nil, c.Now)
	if got := svc.CookieName(); got != "__Secure-gatehouse_session" {
		t.Fatalf("CookieName = %q", got)
	}
	tok, _ := newToken()
	rec := httptest.NewRecorder()
	svc.SetCookie(rec, tok, c.Now().Add(time.Hour))
	rec2 := httptest.NewRecorder()
	svc.ClearCookie(rec2)
	for _, h := range []string{rec.Header().Get("Set-Cookie"), rec2.Header().Get("Set-Cookie")} {
		for _, want := range []string{"__Secure-gatehouse_session=", "Domain=example.com", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(h, want) {
				t.Errorf("Set-Cookie %q lacks %q", h, want)
			}
		}
	}
	r := httptest.NewRequest(http.MethodGet, "https://app.example.com/", nil)
	r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_session", Value: tok})
	if svc.TokenFromRequest(r) != "" {
		t.Error("the host-only cookie's name was read in shared mode")
	}
	r.AddCookie(&http.Cookie{Name: "__Secure-gatehouse_session", Value: tok})
	if svc.TokenFromRequest(r) != tok {
		t.Error("the shared cookie was not read")
	}
}

// The account's IdP groups come with a validated session, from the cache
// on a warm one; a change of groups published by the node that made it
// reaches the cache at once (local invalidation), without a poll.
func TestGroupsTravelWithTheSessionAndChangesDropTheCache(t *testing.T) {
	st := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(st, c) // no Run: only the local notification can drop the entry
	ctx := context.Background()
	a := seedAccount(t, st, c.Now())
	if err := st.SetAccountGroups(ctx, a.ID, []string{"eng", "ops"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := start(t, svc, a)
	if v := mustValidate(t, svc, tok); !slices.Equal(v.Groups, []string{"eng", "ops"}) {
		t.Fatalf("groups = %q", v.Groups)
	}
	err := st.InTx(ctx, func(tx storage.Store) error {
		if err := tx.SetAccountGroups(ctx, a.ID, []string{"eng"}); err != nil {
			return err
		}
		return tx.PublishInvalidation(ctx, kindAccount, a.ID, c.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := mustValidate(t, svc, tok); !slices.Equal(v.Groups, []string{"eng"}) {
		t.Fatalf("after the change, groups = %q", v.Groups)
	}
}

// A suspension committed on this node (by another service, in its own
// transaction) signs the person out here at once.
func TestSuspensionOnThisNodeTakesEffectWithoutAPoll(t *testing.T) {
	st := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(st, c)
	ctx := context.Background()
	a := seedAccount(t, st, c.Now())
	tok, _ := start(t, svc, a)
	mustValidate(t, svc, tok)
	err := st.InTx(ctx, func(tx storage.Store) error {
		if _, err := tx.UpdateAccount(ctx, a.ID, func(x *storage.Account) error { x.Status = storage.StatusSuspended; return nil }); err != nil {
			return err
		}
		return tx.PublishInvalidation(ctx, kindAccount, a.ID, c.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	mustBeInvalid(t, svc, tok)

	// A rolled-back change tells no one.
	b := addAccount(t, st, a.OrgID, c.Now())
	tokB, _ := start(t, svc, b)
	_ = st.InTx(ctx, func(tx storage.Store) error {
		if err := tx.PublishInvalidation(ctx, kindAccount, b.ID, c.Now()); err != nil {
			return err
		}
		return context.Canceled
	})
	if svc.cache.get(tokenSum(tokB)) == nil {
		t.Fatal("a rolled-back invalidation dropped the cache")
	}
	mustValidate(t, svc, tokB)
}
