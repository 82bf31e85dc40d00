package mfa_test

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

const origin = "https://id.acme.example"

type fixture struct {
	t     testing.TB
	store storage.Store
	pk    *mfa.Passkeys
	clock *testenv.Clock
	org   storage.Organization
}

func newFixture(t testing.TB, st storage.Store) *fixture {
	t.Helper()
	cfg, err := mfa.PasskeyConfigFromURL(origin+"/", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	pk, err := mfa.NewPasskeys(st, cfg, log, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, pk: pk, clock: clock}
	f.org = storage.Organization{ID: uuid.NewString(), Slug: "acme", Name: "Acme", CreatedAt: clock.Now()}
	if err := st.CreateOrganization(t.Context(), f.org); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) account(email string) storage.Account {
	f.t.Helper()
	a := storage.Account{ID: uuid.NewString(), OrgID: f.org.ID, Email: email, DisplayName: email,
		Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), Version: 1}
	if err := f.store.CreateAccount(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// register adds a passkey held by auth to acct, as acct.
func (f *fixture) register(auth *softauthn.Authenticator, acct storage.Account, name string, emergency bool) storage.Passkey {
	f.t.Helper()
	ctx := authz.AsAccount(f.t.Context(), acct)
	opts, id, err := f.pk.BeginRegistration(ctx, acct, emergency)
	if err != nil {
		f.t.Fatalf("BeginRegistration: %v", err)
	}
	resp, err := auth.Create(opts)
	if err != nil {
		f.t.Fatalf("authenticator create: %v", err)
	}
	p, err := f.pk.FinishRegistration(ctx, acct, id, resp, name)
	if err != nil {
		f.t.Fatalf("FinishRegistration: %v", err)
	}
	return p
}

// login runs a sign-in ceremony for accountID ("" discoverable).
func (f *fixture) login(auth *softauthn.Authenticator, accountID string) (mfa.PasskeyLogin, error) {
	f.t.Helper()
	opts, id, err := f.pk.BeginLogin(f.t.Context(), accountID)
	if err != nil {
		f.t.Fatalf("BeginLogin: %v", err)
	}
	resp, err := auth.Get(opts)
	if err != nil {
		f.t.Fatalf("authenticator get: %v", err)
	}
	return f.pk.FinishLogin(f.t.Context(), id, resp)
}

func (f *fixture) auditActions(action string) []storage.AuditEvent {
	f.t.Helper()
	evs, err := f.store.ListAudit(f.t.Context(), storage.AuditFilter{OrgID: f.org.ID, Action: action})
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

// wantAuditedRefusal checks the newest refusal event says why.
func (f *fixture) wantAuditedRefusal(reason, detail string) {
	f.t.Helper()
	evs := f.auditActions(mfa.ActionPasskeyRefused)
	if len(evs) == 0 {
		f.t.Fatal("refusal not audited")
	}
	e := evs[len(evs)-1]
	if e.Reason != reason || !strings.Contains(e.Details["detail"], detail) {
		f.t.Fatalf("refusal audited as %q (%q), want %q (%q)", e.Reason, e.Details["detail"], reason, detail)
	}
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, mfa.ErrPasskeyRefused) {
		t.Fatalf("%s: got %v, want ErrPasskeyRefused", what, err)
	}
	if errs.KindOf(err) != errs.Unauthenticated {
		t.Fatalf("%s: kind %v, want unauthenticated", what, errs.KindOf(err))
	}
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newFixture(t, st)
		ann := f.account("ann@acme.example")
		auth := softauthn.New(origin)
		p := f.register(auth, ann, "  Work laptop ", true)
		if p.Name != "Work laptop" || !p.Emergency || p.AccountID != ann.ID || len(p.CredentialID) == 0 {
			t.Fatalf("registered passkey = %+v", p)
		}
		if n := len(f.auditActions(mfa.ActionPasskeyAdded)); n != 1 {
			t.Fatalf("%d mfa.passkey_added events, want 1", n)
		}
		total, emergency, err := f.pk.Count(t.Context(), ann.ID)
		if err != nil || total != 1 || emergency != 1 {
			t.Fatalf("Count = %d, %d, %v; want 1, 1", total, emergency, err)
		}

		// Bound to Ann's account, then discoverable: both name Ann.
		for _, accountID := range []string{ann.ID, ""} {
			f.clock.Advance(time.Minute)
			got, err := f.login(auth, accountID)
			if err != nil {
				t.Fatalf("login(%q): %v", accountID, err)
			}
			if got.AccountID != ann.ID || got.PasskeyID != p.ID || !got.Emergency || got.CredentialID == "" {
				t.Fatalf("login(%q) = %+v", accountID, got)
			}
		}
		list, err := f.pk.List(t.Context(), ann.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %v, %v", list, err)
		}
		if list[0].SignCount != 2 || !list[0].LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("after two sign-ins: count %d, last used %v (now %v)", list[0].SignCount, list[0].LastUsedAt, f.clock.Now())
		}

		// The same authenticator cannot register the same account twice:
		// its credential is in the exclude list the options carry.
		ctx := authz.AsAccount(t.Context(), ann)
		opts, _, err := f.pk.BeginRegistration(ctx, ann, false)
		if err != nil {
			t.Fatal(err)
		}
		if !containsAll(string(opts), `"excludeCredentials"`, `"residentKey":"required"`, `"userVerification":"required"`) {
			t.Fatalf("registration options lack exclusions or requirements: %s", opts)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestPasskeyRefusals(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newFixture(t, st)
		ann, bob := f.account("ann@acme.example"), f.account("bob@acme.example")
		annKey, bobKey := softauthn.New(origin), softauthn.New(origin)
		f.register(annKey, ann, "Ann's phone", false)
		f.register(bobKey, bob, "Bob's laptop", false)

		t.Run("wrong origin", func(t *testing.T) {
			phish := annKey.Clone()
			phish.Origin = "https://id.acme.example.evil.test"
			_, err := f.login(phish, "")
			wantRefused(t, "assertion from another origin", err)
			f.wantAuditedRefusal("verification_failed", "origin")
		})
		t.Run("replayed assertion", func(t *testing.T) {
			opts, id, err := f.pk.BeginLogin(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := annKey.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.pk.FinishLogin(t.Context(), id, resp); err != nil {
				t.Fatalf("first use: %v", err)
			}
			_, err = f.pk.FinishLogin(t.Context(), id, resp)
			wantRefused(t, "the same answer to the same challenge again", err)
		})
		t.Run("expired challenge", func(t *testing.T) {
			opts, id, err := f.pk.BeginLogin(t.Context(), ann.ID)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := annKey.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(6 * time.Minute)
			_, err = f.pk.FinishLogin(t.Context(), id, resp)
			wantRefused(t, "an answer after five minutes", err)
		})
		t.Run("user not verified", func(t *testing.T) {
			noUV := annKey.Clone()
			noUV.NoUV = true
			_, err := f.login(noUV, ann.ID)
			wantRefused(t, "assertion without user verification", err)
			f.wantAuditedRefusal("verification_failed", "User verification required but flag not set")
			annKey.Counter = noUV.Counter // keep the real key's counter ahead
		})
		t.Run("another account's passkey", func(t *testing.T) {
			stray := bobKey.Clone()
			stray.IgnoreAllowList = true
			_, err := f.login(stray, ann.ID)
			wantRefused(t, "Bob's passkey for a challenge begun for Ann", err)
			f.wantAuditedRefusal("other_account", "")
		})
		t.Run("cloned authenticator", func(t *testing.T) {
			clone := annKey.Clone()
			if _, err := f.login(annKey, ann.ID); err != nil {
				t.Fatalf("original: %v", err)
			}
			// The clone's counter stands where the original's was: it
			// presents a value the server has already seen.
			_, err := f.login(clone, ann.ID)
			wantRefused(t, "assertion whose counter went backwards", err)
			evs := f.auditActions(mfa.ActionPasskeyCloneSuspected)
			if len(evs) != 1 || evs[0].TargetID != ann.ID {
				t.Fatalf("clone suspicion not audited: %+v", evs)
			}
			// From then on the passkey is refused, even from the original,
			// until Ann removes it; the page shows it marked.
			_, err = f.login(annKey, ann.ID)
			wantRefused(t, "marked passkey", err)
			list, _ := f.pk.List(t.Context(), ann.ID)
			if list[0].CloneSuspectedAt.IsZero() {
				t.Fatal("passkey not marked as possibly cloned")
			}
		})
		t.Run("unknown challenge", func(t *testing.T) {
			_, err := f.pk.FinishLogin(t.Context(), "no-such-challenge", []byte(`{}`))
			wantRefused(t, "unknown challenge", err)
		})
	})
}

func TestPasskeyManagement(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := newFixture(t, st)
		ann, bob := f.account("ann@acme.example"), f.account("bob@acme.example")
		p := f.register(softauthn.New(origin), ann, "", false)
		if p.Name != "Passkey" {
			t.Fatalf("unnamed passkey is called %q", p.Name)
		}
		asAnn, asBob := authz.AsAccount(t.Context(), ann), authz.AsAccount(t.Context(), bob)

		// Only the account itself may add, rename or remove its passkeys.
		if _, _, err := f.pk.BeginRegistration(asBob, ann, false); !errors.Is(err, authz.ErrForbidden) {
			t.Fatalf("Bob adding a passkey to Ann: %v", err)
		}
		if _, _, err := f.pk.BeginRegistration(t.Context(), ann, false); !errors.Is(err, authz.ErrForbidden) {
			t.Fatalf("nobody adding a passkey to Ann: %v", err)
		}
		if err := f.pk.Rename(asBob, ann, p.ID, "Mine now"); !errors.Is(err, authz.ErrForbidden) {
			t.Fatalf("Bob renaming Ann's passkey: %v", err)
		}
		if err := f.pk.Remove(asBob, bob, p.ID); !errors.Is(err, mfa.ErrPasskeyNotFound) {
			t.Fatalf("Bob removing Ann's passkey as his own: %v", err)
		}
		if err := f.pk.Rename(asAnn, ann, p.ID, string(make([]byte, 65))); !errors.Is(err, mfa.ErrPasskeyName) {
			t.Fatalf("overlong name: %v", err)
		}
		if err := f.pk.Rename(asAnn, ann, p.ID, "YubiKey"); err != nil {
			t.Fatal(err)
		}
		list, _ := f.pk.List(t.Context(), ann.ID)
		if len(list) != 1 || list[0].Name != "YubiKey" {
			t.Fatalf("after rename: %+v", list)
		}
		if err := f.pk.Remove(asAnn, ann, p.ID); err != nil {
			t.Fatal(err)
		}
		if total, _, _ := f.pk.Count(t.Context(), ann.ID); total != 0 {
			t.Fatalf("%d passkeys left after removal", total)
		}
		if n := len(f.auditActions("mfa.*")); n != 3 { // added, renamed, removed
			t.Fatalf("%d mfa events, want 3", n)
		}
		// Without passkeys, an account-bound sign-in cannot begin.
		_, _, err := f.pk.BeginLogin(t.Context(), ann.ID)
		wantRefused(t, "BeginLogin for an account without passkeys", err)
	})
}

func TestPasskeysNeedADomainName(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://[::1]:8080/"} {
		if _, err := mfa.PasskeyConfigFromURL(u, "x"); !errors.Is(err, mfa.ErrPasskeysUnavailable) {
			t.Errorf("PasskeyConfigFromURL(%s): %v, want ErrPasskeysUnavailable", u, err)
		}
	}
	_, err := mfa.NewPasskeys(sqltest.NewSQLite(t), mfa.PasskeyConfig{RPID: "10.0.0.1", Origins: []string{"http://10.0.0.1"}}, nil, nil)
	if !errors.Is(err, mfa.ErrPasskeysUnavailable) {
		t.Fatalf("NewPasskeys with an IP address: %v", err)
	}
	cfg, err := mfa.PasskeyConfigFromURL("http://LocalHost:8080/", "x")
	if err != nil || cfg.RPID != "localhost" || len(cfg.Origins) != 1 || cfg.Origins[0] != "http://localhost:8080" {
		t.Fatalf("localhost: %+v, %v", cfg, err)
	}
}
