package mfa_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// resetEnv is Ada (a member) with an authenticator app, recovery codes,
// two passkeys and two sessions, plus the people who may or may not reset
// them.
type resetEnv struct {
	*env
	outbox string
	auth   *softauthn.Authenticator
	pk     *mfa.Passkeys
	admin  storage.Account
	owner  storage.Account
}

func newResetEnv(t *testing.T, st storage.Store) *resetEnv {
	t.Helper()
	e := &resetEnv{env: newEnv(t, st), outbox: t.TempDir()}
	e.svc.SetMailer(&mail.Outbox{Dir: e.outbox})
	t.Cleanup(e.svc.Wait) // before the outbox is removed
	cfg, err := mfa.PasskeyConfigFromURL(origin+"/", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if e.pk, err = mfa.NewPasskeys(st, cfg, nil, e.clock.now); err != nil {
		t.Fatal(err)
	}
	e.admin = e.person(t, "grace@acme.test", storage.RoleAdmin)
	e.owner = e.person(t, "olive@acme.test", storage.RoleOwner)
	e.enrol(t)
	e.auth = softauthn.New(origin)
	for _, emergency := range []bool{false, true} {
		opts, id, err := e.pk.BeginRegistration(e.asAda, e.ada, emergency)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.auth.Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pk.FinishRegistration(e.asAda, e.ada, id, resp, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.session(t, e.ada)
	e.session(t, e.ada)
	return e
}

func (e *resetEnv) person(t *testing.T, email string, role storage.Role) storage.Account {
	t.Helper()
	a := storage.Account{ID: uuid.NewString(), OrgID: e.org.ID, Email: email, Role: role,
		Status: storage.StatusActive, CreatedAt: start, UpdatedAt: start, Version: 1}
	if err := e.store.CreateAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *resetEnv) session(t *testing.T, a storage.Account) {
	t.Helper()
	now := e.clock.now()
	err := e.store.CreateSession(t.Context(), storage.Session{ID: uuid.NewString(), TokenHash: uuid.NewString(),
		AccountID: a.ID, OrgID: a.OrgID, Method: "password", CreatedAt: now, LastSeenAt: now,
		IdleTimeout: time.Hour, ExpiresAt: now.Add(8 * time.Hour), AMR: []string{"pwd", "otp"}, AuthTime: now})
	if err != nil {
		t.Fatal(err)
	}
}

// factors returns what Ada has left: an authenticator app, unused
// recovery codes, passkeys, live sessions.
func (e *resetEnv) factors(t *testing.T) (bool, int, int, int) {
	t.Helper()
	st, err := e.svc.Status(t.Context(), e.ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	total, _, err := e.pk.Count(t.Context(), e.ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := e.store.ListSessions(t.Context(), e.ada.ID, e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return st.TOTP, st.RecoveryCodesLeft, total, len(ss)
}

// mails returns the messages in the outbox.
func (e *resetEnv) mails(t *testing.T) []string {
	t.Helper()
	e.svc.Wait()
	files, err := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestResetFactorsByAdmin(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newResetEnv(t, st)
		if totp, codes, pks, live := e.factors(t); !totp || codes != mfa.RecoveryCodeCount || pks != 2 || live != 2 {
			t.Fatalf("before: totp %v, codes %d, passkeys %d, sessions %d", totp, codes, pks, live)
		}
		asAdmin := authz.AsAccount(t.Context(), e.admin)
		res, err := e.svc.ResetFactors(asAdmin, e.org.ID, e.ada.ID, mfa.AllFactors)
		if err != nil {
			t.Fatalf("ResetFactors: %v", err)
		}
		if !res.TOTPRemoved || res.RecoveryCodes != mfa.RecoveryCodeCount || res.Passkeys != 2 || res.EmergencyPasskeys != 1 || res.SessionsRevoked != 2 {
			t.Fatalf("result = %+v", res)
		}
		if totp, codes, pks, live := e.factors(t); totp || codes != 0 || pks != 0 || live != 0 {
			t.Fatalf("after: totp %v, codes %d, passkeys %d, sessions %d; want nothing left", totp, codes, pks, live)
		}
		// The lost phone's code and the lost passkey no longer work.
		e.clock.add(time.Minute)
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("old authenticator code after reset: %v", err)
		}
		opts, id, err := e.pk.BeginLogin(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := e.auth.Get(opts); err == nil {
			if _, err := e.pk.FinishLogin(t.Context(), id, resp); !errors.Is(err, mfa.ErrPasskeyRefused) {
				t.Fatalf("old passkey after reset: %v", err)
			}
		}

		evs := e.events(t, mfa.ActionReset)
		if len(evs) != 1 {
			t.Fatalf("%d mfa.reset events, want 1", len(evs))
		}
		ev := evs[0]
		if ev.ActorID != e.admin.ID || ev.TargetID != e.ada.ID || ev.OrgID != e.org.ID {
			t.Fatalf("event actor %q target %q org %q", ev.ActorID, ev.TargetID, ev.OrgID)
		}
		want := map[string]string{"reset": "totp,recovery_codes,passkeys", "totp_removed": "true",
			"recovery_codes_removed": "10", "passkeys_removed": "2", "emergency_passkeys_removed": "1", "sessions_revoked": "2"}
		for k, v := range want {
			if ev.Details[k] != v {
				t.Errorf("details[%s] = %q, want %q (%v)", k, ev.Details[k], v, ev.Details)
			}
		}

		ms := e.mails(t)
		if len(ms) != 1 || !strings.Contains(ms[0], "ada@acme.test") || !strings.Contains(ms[0], "reset the sign-in methods") ||
			!strings.Contains(ms[0], "set up new ones") {
			t.Fatalf("mail to Ada = %q", ms)
		}
	})
}

func TestResetFactorsOnlyWhatWasAsked(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newResetEnv(t, st)
		res, err := e.svc.ResetFactors(authz.AsCLI(t.Context(), "root"), e.org.ID, e.ada.Email, mfa.AllFactors)
		if !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("reset by email instead of ID: %+v, %v; want not found", res, err)
		}
		if _, err := e.svc.ResetFactors(authz.AsCLI(t.Context(), "root"), e.org.ID, e.ada.ID, mfa.ResetWhat{}); err == nil {
			t.Fatal("a reset of nothing was accepted")
		}
		if _, err := e.svc.ResetFactors(authz.AsCLI(t.Context(), "root"), e.org.ID, e.ada.ID, mfa.ResetWhat{TOTP: true}); err != nil {
			t.Fatal(err)
		}
		if totp, codes, pks, live := e.factors(t); totp || codes != mfa.RecoveryCodeCount || pks != 2 || live != 0 {
			t.Fatalf("after an authenticator-only reset: totp %v, codes %d, passkeys %d, sessions %d", totp, codes, pks, live)
		}
	})
}

func TestResetFactorsRefusals(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newResetEnv(t, st)
		ctx := t.Context()
		ownerTok := e.token(t, storage.TokenScopeOwner)
		other := storage.Organization{ID: "org2", Slug: "other", Name: "Other", CreatedAt: start}
		if err := st.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		stranger := storage.Account{ID: uuid.NewString(), OrgID: other.ID, Email: "sam@other.test", Role: storage.RoleOwner,
			Status: storage.StatusActive, CreatedAt: start, UpdatedAt: start, Version: 1}
		if err := st.CreateAccount(ctx, stranger); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			ctx    context.Context
			org    string
			target storage.Account
			want   error
		}{
			{"admin resets an owner", authz.AsAccount(ctx, e.admin), e.org.ID, e.owner, authz.ErrOwnerOnly},
			{"admin token resets an owner", authz.AsToken(ctx, e.token(t, storage.TokenScopeAdmin)), e.org.ID, e.owner, authz.ErrOwnerOnly},
			{"member", authz.AsAccount(ctx, e.ada), e.org.ID, e.admin, authz.ErrForbidden},
			{"read token", authz.AsToken(ctx, e.token(t, storage.TokenScopeRead)), e.org.ID, e.ada, authz.ErrForbidden},
			{"no actor", ctx, e.org.ID, e.ada, authz.ErrForbidden},
			{"another organization's owner, naming ours", authz.AsAccount(ctx, stranger), e.org.ID, e.ada, authz.ErrForbidden},
			{"another organization's owner, in theirs", authz.AsAccount(ctx, stranger), other.ID, e.ada, account.ErrNotFound},
			{"our admin, in another organization", authz.AsAccount(ctx, e.admin), other.ID, stranger, authz.ErrForbidden},
		} {
			if _, err := e.svc.ResetFactors(c.ctx, c.org, c.target.ID, mfa.AllFactors); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if totp, codes, pks, live := e.factors(t); !totp || codes != mfa.RecoveryCodeCount || pks != 2 || live != 2 {
			t.Fatalf("after refusals Ada has: totp %v, codes %d, passkeys %d, sessions %d", totp, codes, pks, live)
		}
		if n := len(e.events(t, mfa.ActionReset)); n != 0 {
			t.Fatalf("%d mfa.reset events after refusals", n)
		}
		if ms := e.mails(t); len(ms) != 0 {
			t.Fatalf("mail sent after refusals: %q", ms)
		}
		// Owners (and owner tokens, and the CLI) may reset an owner and an admin.
		for _, c := range []struct {
			ctx    context.Context
			target storage.Account
		}{
			{authz.AsToken(ctx, ownerTok), e.owner},
			{authz.AsAccount(ctx, e.owner), e.admin},
			{authz.AsCLI(ctx, "root"), e.owner},
		} {
			if _, err := e.svc.ResetFactors(c.ctx, e.org.ID, c.target.ID, mfa.AllFactors); err != nil {
				t.Errorf("reset of %s: %v", c.target.Email, err)
			}
		}
	})
}

func (e *resetEnv) token(t *testing.T, scope string) storage.APIToken {
	t.Helper()
	tok := storage.APIToken{ID: uuid.NewString(), OrgID: e.org.ID, Name: scope + " token", TokenHash: uuid.NewString(),
		CreatedBy: "cli", Scope: scope, CreatedAt: start}
	if err := e.store.CreateAPIToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}
