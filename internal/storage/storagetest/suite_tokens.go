package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newToken(hash, purpose, accountID string) storage.OneTimeToken {
	return storage.OneTimeToken{
		TokenHash: hash,
		Purpose:   purpose,
		AccountID: accountID,
		OrgID:     "o",
		CreatedAt: base,
		ExpiresAt: base.Add(time.Hour),
		RequestIP: "198.51.100.1",
	}
}

func mustToken(t *testing.T, s storage.Store, tok storage.OneTimeToken) storage.OneTimeToken {
	t.Helper()
	if err := s.CreateToken(ctxOf(t), tok); err != nil {
		t.Fatalf("CreateToken(%s): %v", tok.TokenHash, err)
	}
	return tok
}

func storedToken(tok storage.OneTimeToken) storage.OneTimeToken {
	tok.CreatedAt, tok.ExpiresAt, tok.UsedAt = storage.Truncate(tok.CreatedAt), storage.Truncate(tok.ExpiresAt), storage.Truncate(tok.UsedAt)
	return tok
}

var oneTimeTokenTests = []namedTest{
	{"CreateGet", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		tok := mustToken(t, s, newToken("h1", storage.PurposeReset, "a"))
		got, err := s.GetToken(ctx, "h1")
		wantErr(t, "GetToken", err, nil)
		wantEqual(t, "GetToken", got, storedToken(tok))
		setup := newToken("h-setup", storage.PurposeSetup, "")
		setup.OrgID = ""
		mustToken(t, s, setup)
		got, err = s.GetToken(ctx, "h-setup")
		wantErr(t, "GetToken(setup)", err, nil)
		wantEqual(t, "GetToken(setup)", got, storedToken(setup))

		_, err = s.GetToken(ctx, "nope")
		wantErr(t, "GetToken(missing)", err, storage.ErrNotFound)
		wantErr(t, "duplicate hash", s.CreateToken(ctx, newToken("h1", storage.PurposeInvite, "b")), storage.ErrConflict)
	}},
	{"UseOnce", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustToken(t, s, newToken("h1", storage.PurposeReset, "a"))
		at := base.Add(time.Minute)
		wantErr(t, "first UseToken", s.UseToken(ctx, "h1", at), nil)
		got, err := s.GetToken(ctx, "h1")
		wantErr(t, "GetToken", err, nil)
		wantUTCMicros(t, "UsedAt", got.UsedAt, at)
		wantErr(t, "second UseToken", s.UseToken(ctx, "h1", at.Add(time.Second)), storage.ErrConflict)
		got, err = s.GetToken(ctx, "h1")
		wantErr(t, "GetToken", err, nil)
		wantUTCMicros(t, "UsedAt unchanged by the refused use", got.UsedAt, at)
		wantErr(t, "UseToken(missing)", s.UseToken(ctx, "nope", at), storage.ErrNotFound)
	}},
	{"ConcurrentUseOneWinner", func(t *testing.T, s storage.Store) {
		mustToken(t, s, newToken("h1", storage.PurposeRecovery, "a"))
		errs := race(goroutines, func(i int) error {
			return s.UseToken(ctxOf(t), "h1", base.Add(time.Duration(i)*time.Second))
		})
		oneWinner(t, "concurrent UseToken", errs, storage.ErrConflict)
	}},
	{"Invalidate", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustToken(t, s, newToken("a-reset-1", storage.PurposeReset, "a"))
		mustToken(t, s, newToken("a-reset-2", storage.PurposeReset, "a"))
		mustToken(t, s, newToken("a-invite", storage.PurposeInvite, "a"))
		mustToken(t, s, newToken("b-reset", storage.PurposeReset, "b"))
		used := newToken("a-reset-used", storage.PurposeReset, "a")
		used.UsedAt = base.Add(time.Second)
		mustToken(t, s, used)
		setup := newToken("setup", storage.PurposeSetup, "")
		mustToken(t, s, setup)

		at := base.Add(time.Minute)
		wantErr(t, "InvalidateTokens", s.InvalidateTokens(ctx, "a", storage.PurposeReset, at), nil)
		wantErr(t, "InvalidateTokens(setup)", s.InvalidateTokens(ctx, "", storage.PurposeSetup, at), nil)
		for hash, wantUsed := range map[string]time.Time{
			"a-reset-1": at, "a-reset-2": at, "a-invite": {}, "b-reset": {},
			"a-reset-used": used.UsedAt, "setup": at,
		} {
			got, err := s.GetToken(ctx, hash)
			wantErr(t, "GetToken("+hash+")", err, nil)
			wantUTCMicros(t, "UsedAt of "+hash, got.UsedAt, wantUsed)
		}
		wantErr(t, "UseToken after invalidation", s.UseToken(ctx, "a-reset-1", at), storage.ErrConflict)
	}},
	{"DeleteExpired", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		for i := range 3 {
			tok := newToken(fmt.Sprintf("old%d", i), storage.PurposeReset, "a")
			tok.ExpiresAt = base.Add(time.Duration(i) * time.Minute)
			mustToken(t, s, tok)
		}
		fresh := newToken("fresh", storage.PurposeReset, "a")
		fresh.ExpiresAt = base.Add(time.Hour)
		mustToken(t, s, fresh)
		n, err := s.DeleteExpiredTokens(ctx, base.Add(30*time.Minute))
		wantErr(t, "DeleteExpiredTokens", err, nil)
		wantEqual(t, "deleted", n, 3)
		_, err = s.GetToken(ctx, "old0")
		wantErr(t, "expired token", err, storage.ErrNotFound)
		_, err = s.GetToken(ctx, "fresh")
		wantErr(t, "fresh token", err, nil)
	}},
}

func newAPIToken(orgID, id, name string, created time.Time) storage.APIToken {
	return storage.APIToken{
		ID: id, OrgID: orgID, Name: name, TokenHash: "hash-" + id,
		CreatedBy: "cli", CreatedAt: created, Scope: storage.TokenScopeAdmin,
	}
}

func storedAPIToken(x storage.APIToken) storage.APIToken {
	x.CreatedAt, x.LastUsedAt, x.RevokedAt = storage.Truncate(x.CreatedAt), storage.Truncate(x.LastUsedAt), storage.Truncate(x.RevokedAt)
	x.ExpiresAt = storage.Truncate(x.ExpiresAt)
	return x
}

func mustAPIToken(t *testing.T, s storage.Store, x storage.APIToken) storage.APIToken {
	t.Helper()
	if err := s.CreateAPIToken(ctxOf(t), x); err != nil {
		t.Fatalf("CreateAPIToken(%s): %v", x.ID, err)
	}
	return x
}

var apiTokenTests = []namedTest{
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		older := mustAPIToken(t, s, newAPIToken("o", "t1", "deploy", base))
		newer := mustAPIToken(t, s, newAPIToken("o", "t2", "backup", base.Add(time.Minute)))
		mustAPIToken(t, s, newAPIToken("p", "t3", "deploy", base)) // same name, other org: fine
		wantErr(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, "o", "t1", base.Add(time.Hour)), nil)
		older.RevokedAt = base.Add(time.Hour)

		got, err := s.GetAPITokenByHash(ctx, "hash-t2")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantEqual(t, "GetAPITokenByHash", got, storedAPIToken(newer))
		list, err := s.ListAPITokens(ctx, "o")
		wantErr(t, "ListAPITokens", err, nil)
		wantEqual(t, "ListAPITokens (newest first, revoked included)", list,
			[]storage.APIToken{storedAPIToken(newer), storedAPIToken(older)})
	}},
	{"NotFoundAndConflicts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		_, err := s.GetAPITokenByHash(ctx, "nope")
		wantErr(t, "GetAPITokenByHash", err, storage.ErrNotFound)
		wantErr(t, "RevokeAPIToken(missing)", s.RevokeAPIToken(ctx, "o", "nope", base), storage.ErrNotFound)
		wantErr(t, "TouchAPIToken(missing)", s.TouchAPIToken(ctx, "nope", base, "192.0.2.1"), storage.ErrNotFound)
		wantErr(t, "CreateAPIToken in a missing organization",
			s.CreateAPIToken(ctx, newAPIToken("ghost", "t0", "x", base)), storage.ErrNotFound)

		mustAPIToken(t, s, newAPIToken("o", "t1", "deploy", base))
		wantErr(t, "duplicate name in org", s.CreateAPIToken(ctx, newAPIToken("o", "t2", "deploy", base)), storage.ErrConflict)
		dupHash := newAPIToken("o", "t3", "other", base)
		dupHash.TokenHash = "hash-t1"
		wantErr(t, "duplicate hash", s.CreateAPIToken(ctx, dupHash), storage.ErrConflict)
		wantErr(t, "duplicate ID", s.CreateAPIToken(ctx, newAPIToken("o", "t1", "third", base)), storage.ErrConflict)
	}},
	{"RevokeOnlyWithinOrg", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustAPIToken(t, s, newAPIToken("o", "t1", "deploy", base))
		wantErr(t, "revoke from another org", s.RevokeAPIToken(ctx, "p", "t1", base), storage.ErrNotFound)
		got, err := s.GetAPITokenByHash(ctx, "hash-t1")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantEqual(t, "still live", got.RevokedAt.IsZero(), true)

		at := base.Add(time.Minute)
		wantErr(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, "o", "t1", at), nil)
		wantErr(t, "RevokeAPIToken again", s.RevokeAPIToken(ctx, "o", "t1", at.Add(time.Hour)), nil)
		got, err = s.GetAPITokenByHash(ctx, "hash-t1")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantUTCMicros(t, "RevokedAt (the first)", got.RevokedAt, at)
	}},
	{"ScopeStoredVerbatim", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		for _, scope := range []string{storage.TokenScopeRead, storage.TokenScopeAdmin, storage.TokenScopeOwner} {
			mustAPIToken(t, s, func() storage.APIToken {
				x := newAPIToken("o", "t-"+scope, scope, base)
				x.Scope = scope
				return x
			}())
			got, err := s.GetAPITokenByHash(ctx, "hash-t-"+scope)
			wantErr(t, "GetAPITokenByHash", err, nil)
			wantEqual(t, "Scope", got.Scope, scope)
		}
	}},
	{"TouchMovesForwardOnly", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAPIToken(t, s, newAPIToken("o", "t1", "deploy", base))
		later := base.Add(time.Hour)
		wantErr(t, "TouchAPIToken", s.TouchAPIToken(ctx, "t1", later, "192.0.2.1"), nil)
		wantErr(t, "TouchAPIToken backward", s.TouchAPIToken(ctx, "t1", base.Add(time.Minute), "192.0.2.99"), nil)
		got, err := s.GetAPITokenByHash(ctx, "hash-t1")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantUTCMicros(t, "LastUsedAt", got.LastUsedAt, later)
		wantEqual(t, "LastUsedIP (the later use's)", got.LastUsedIP, "192.0.2.1")
	}},
	{"ExpiryAndLastAddressStored", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		x := newAPIToken("o", "t1", "deploy", base)
		x.ExpiresAt = base.Add(30 * 24 * time.Hour)
		mustAPIToken(t, s, x)
		got, err := s.GetAPITokenByHash(ctx, "hash-t1")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantUTCMicros(t, "ExpiresAt", got.ExpiresAt, x.ExpiresAt)
		wantEqual(t, "LastUsedIP before any use", got.LastUsedIP, "")
		wantErr(t, "TouchAPIToken", s.TouchAPIToken(ctx, "t1", base.Add(time.Hour), "2001:db8::1"), nil)
		list, err := s.ListAPITokens(ctx, "o")
		wantErr(t, "ListAPITokens", err, nil)
		wantEqual(t, "listed address", list[0].LastUsedIP, "2001:db8::1")
		never := newAPIToken("o", "t2", "forever", base)
		mustAPIToken(t, s, never)
		got, err = s.GetAPITokenByHash(ctx, "hash-t2")
		wantErr(t, "GetAPITokenByHash", err, nil)
		wantEqual(t, "no expiry", got.ExpiresAt.IsZero(), true)
	}},
}
