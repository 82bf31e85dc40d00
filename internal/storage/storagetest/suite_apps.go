package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newApp(orgID, id, name string) storage.App {
	return storage.App{
		ID:                     id,
		OrgID:                  orgID,
		Name:                   name,
		ClientID:               "client-" + id,
		SecretHash:             strings.Repeat("ab", 32),
		RedirectURIs:           []string{"https://" + id + ".example.com/callback", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs: []string{},
		Scopes:                 []string{"email", "profile"},
		Groups:                 []string{},
		Hosts:                  []string{id + ".example.com"},
		AccessTokenTTL:         5 * time.Minute,
		IDTokenTTL:             0,
		RefreshTokenTTL:        720 * time.Hour,
		SigningAlg:             "RS256",
		CreatedAt:              base,
		UpdatedAt:              base,
	}
}

// storedApp is a as a read returns it: times in UTC to the microsecond,
// version 1.
func storedApp(a storage.App) storage.App {
	a.CreatedAt = a.CreatedAt.Truncate(time.Microsecond).UTC()
	a.UpdatedAt = a.UpdatedAt.Truncate(time.Microsecond).UTC()
	a.Version = 1
	return a
}

func mustApp(t *testing.T, s storage.Store, a storage.App) storage.App {
	t.Helper()
	if err := s.CreateApp(ctxOf(t), a); err != nil {
		t.Fatalf("CreateApp(%s): %v", a.ID, err)
	}
	return storedApp(a)
}

var appTests = []namedTest{
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		b := mustApp(t, s, newApp("o", "b", "Wiki"))
		a := newApp("o", "a", "Grafana")
		a.Public, a.SecretHash = true, ""
		a.Groups = []string{"ops", "Eng Team"}
		a.PostLogoutRedirectURIs = []string{"https://a.example.com/bye"}
		a = mustApp(t, s, a)
		z := mustApp(t, s, newApp("p", "z", "Alpha"))

		got, err := s.GetApp(ctx, "o", "a")
		wantErr(t, "GetApp", err, nil)
		wantEqual(t, "GetApp", got, a)
		_, err = s.GetApp(ctx, "p", "a")
		wantErr(t, "GetApp in another organization", err, storage.ErrNotFound)
		_, err = s.GetApp(ctx, "o", "nope")
		wantErr(t, "GetApp missing", err, storage.ErrNotFound)

		list, err := s.ListApps(ctx, "o")
		wantErr(t, "ListApps", err, nil)
		wantEqual(t, "ListApps by name", list, []storage.App{a, b})
		all, err := s.ListAllApps(ctx)
		wantErr(t, "ListAllApps", err, nil)
		wantEqual(t, "ListAllApps by ID", all, []storage.App{a, b, z})
		none, err := s.ListApps(ctx, "nobody")
		wantErr(t, "ListApps of nobody", err, nil)
		wantEqual(t, "ListApps of nobody", len(none), 0)
	}},
	{"NilListsReadBackEmpty", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		a := newApp("o", "a", "A")
		a.RedirectURIs, a.Scopes, a.Groups, a.Hosts, a.PostLogoutRedirectURIs = nil, nil, nil, nil, nil
		wantErr(t, "CreateApp", s.CreateApp(ctxOf(t), a), nil)
		got, err := s.GetApp(ctxOf(t), "o", "a")
		wantErr(t, "GetApp", err, nil)
		for name, l := range map[string][]string{"redirects": got.RedirectURIs, "scopes": got.Scopes,
			"groups": got.Groups, "hosts": got.Hosts, "post-logout": got.PostLogoutRedirectURIs} {
			if l == nil || len(l) != 0 {
				t.Fatalf("%s = %#v, want an empty list", name, l)
			}
		}
	}},
	{"ByClientID", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustApp(t, s, newApp("o", "a", "A"))
		b := mustApp(t, s, newApp("p", "b", "B"))
		got, err := s.GetAppByClientID(ctx, "client-b")
		wantErr(t, "GetAppByClientID", err, nil)
		wantEqual(t, "GetAppByClientID", got, b)
		for _, id := range []string{"", "client-", "CLIENT-B", "client-b ", "b"} {
			_, err = s.GetAppByClientID(ctx, id)
			wantErr(t, fmt.Sprintf("GetAppByClientID(%q)", id), err, storage.ErrNotFound)
		}
	}},
	{"Duplicates", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustApp(t, s, newApp("o", "a", "Grafana"))

		sameID := newApp("o", "a", "Other")
		sameID.ClientID, sameID.Hosts = "client-x", nil
		wantErr(t, "same ID", s.CreateApp(ctx, sameID), storage.ErrConflict)

		sameName := newApp("o", "b", "Grafana")
		wantErr(t, "same name in the organization", s.CreateApp(ctx, sameName), storage.ErrConflict)
		otherOrg := newApp("p", "c", "Grafana")
		wantErr(t, "same name in another organization", s.CreateApp(ctx, otherOrg), nil)

		sameClient := newApp("o", "d", "D")
		sameClient.ClientID = "client-a"
		wantErr(t, "same client ID", s.CreateApp(ctx, sameClient), storage.ErrConflict)

		// A host belongs to one app in the whole deployment, across
		// organizations too.
		sameHost := newApp("p", "e", "E")
		sameHost.Hosts = []string{"e.example.com", "a.example.com"}
		wantErr(t, "a host another app holds", s.CreateApp(ctx, sameHost), storage.ErrConflict)
		_, err := s.GetApp(ctx, "p", "e")
		wantErr(t, "the refused app was not stored", err, storage.ErrNotFound)
		// The refused app claimed none of its hosts.
		free := newApp("p", "f", "F")
		free.Hosts = []string{"e.example.com"}
		wantErr(t, "its other host is free", s.CreateApp(ctx, free), nil)

		// Inside a transaction the refusal is the caller's to return.
		err = s.InTx(ctx, func(tx storage.Store) error {
			return tx.CreateApp(ctx, sameHost)
		})
		wantErr(t, "a host another app holds, in a transaction", err, storage.ErrConflict)
	}},
	{"Update", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		a := mustApp(t, s, newApp("o", "a", "A"))
		mustApp(t, s, newApp("o", "b", "B"))
		later := base.Add(time.Hour)
		got, err := s.UpdateApp(ctx, "o", "a", func(x *storage.App) error {
			x.Name = "A2"
			x.SecretHash = strings.Repeat("cd", 32)
			x.RedirectURIs = []string{"https://a2.example.com/cb"}
			x.Hosts = []string{"a2.example.com", "a.example.com:8443"}
			x.Groups = []string{"ops"}
			x.IDTokenTTL = time.Minute
			x.SigningAlg = "ES256"
			x.UpdatedAt = later
			// Not fn's to change:
			x.ID, x.OrgID, x.ClientID, x.CreatedAt = "zz", "p", "client-zz", later
			return nil
		})
		wantErr(t, "UpdateApp", err, nil)
		want := a
		want.Name, want.SecretHash = "A2", strings.Repeat("cd", 32)
		want.RedirectURIs = []string{"https://a2.example.com/cb"}
		want.Hosts = []string{"a2.example.com", "a.example.com:8443"}
		want.Groups = []string{"ops"}
		want.IDTokenTTL, want.SigningAlg = time.Minute, "ES256"
		want.UpdatedAt, want.Version = later.UTC().Truncate(time.Microsecond), 2
		wantEqual(t, "UpdateApp result", got, want)
		read, err := s.GetApp(ctx, "o", "a")
		wantErr(t, "GetApp", err, nil)
		wantEqual(t, "GetApp after update", read, want)

		// The host a dropped is free for another app; the one b holds is not.
		c := newApp("o", "c", "C")
		c.Hosts = []string{"a.example.com"}
		wantErr(t, "a released host", s.CreateApp(ctx, c), nil)
		_, err = s.UpdateApp(ctx, "o", "a", func(x *storage.App) error {
			x.Hosts = append(x.Hosts, "b.example.com")
			return nil
		})
		wantErr(t, "taking b's host", err, storage.ErrConflict)
		_, err = s.UpdateApp(ctx, "o", "a", func(x *storage.App) error { x.Name = "B"; return nil })
		wantErr(t, "taking b's name", err, storage.ErrConflict)
		read, err = s.GetApp(ctx, "o", "a")
		wantErr(t, "GetApp", err, nil)
		wantEqual(t, "unchanged after refusals", read, want)

		refusal := errors.New("no")
		_, err = s.UpdateApp(ctx, "o", "a", func(x *storage.App) error { x.Name = "X"; return refusal })
		if !errors.Is(err, refusal) {
			t.Fatalf("fn's refusal: got %v", err)
		}
		_, err = s.UpdateApp(ctx, "p", "a", func(*storage.App) error { t.Fatal("fn called"); return nil })
		wantErr(t, "UpdateApp in another organization", err, storage.ErrNotFound)
	}},
	{"StaleReadIsRejected", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		seen := mustApp(t, s, newApp("o", "a", "A"))
		_, err := s.UpdateApp(ctx, "o", "a", func(x *storage.App) error { x.Name = "first"; return nil })
		wantErr(t, "first UpdateApp", err, nil)
		_, err = s.UpdateApp(ctx, "o", "a", func(x *storage.App) error {
			if x.Version != seen.Version {
				return fmt.Errorf("app changed since version %d: %w", seen.Version, storage.ErrConflict)
			}
			x.Name = "second"
			return nil
		})
		wantErr(t, "UpdateApp on a stale read", err, storage.ErrConflict)
	}},
	{"ConcurrentUpdatesLoseNothing", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		mustApp(t, s, newApp("o", "a", "A"))
		errs := race(goroutines, func(i int) error {
			_, err := s.UpdateApp(ctxOf(t), "o", "a", func(x *storage.App) error {
				x.Groups = append(x.Groups, fmt.Sprintf("g%d", i))
				return nil
			})
			return err
		})
		allSucceed(t, "UpdateApp", errs)
		got, err := s.GetApp(ctxOf(t), "o", "a")
		wantErr(t, "GetApp", err, nil)
		wantEqual(t, "version", got.Version, int64(1+goroutines))
		wantEqual(t, "groups", len(got.Groups), goroutines)
	}},
	{"Delete", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustApp(t, s, newApp("o", "a", "A"))
		wantErr(t, "DeleteApp in another organization", s.DeleteApp(ctx, "p", "a"), storage.ErrNotFound)
		wantErr(t, "DeleteApp", s.DeleteApp(ctx, "o", "a"), nil)
		wantErr(t, "DeleteApp twice", s.DeleteApp(ctx, "o", "a"), storage.ErrNotFound)
		_, err := s.GetAppByClientID(ctx, "client-a")
		wantErr(t, "GetAppByClientID after delete", err, storage.ErrNotFound)
		// Its name, client ID and hosts are free again.
		wantErr(t, "CreateApp again", s.CreateApp(ctx, newApp("p", "a", "A")), nil)
	}},
}
