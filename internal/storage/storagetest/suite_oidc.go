package storagetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func oidcAuthRequest(id string) storage.OIDCAuthRequest {
	return storage.OIDCAuthRequest{ID: id, ClientID: "client-1", OrgID: "o1", Request: []byte(`{"scope":"openid"}`),
		HintSubject: "acct-hint", CreatedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
}

func oidcToken(id, kind, hash, family string) storage.OIDCToken {
	return storage.OIDCToken{ID: id, Kind: kind, TokenHash: hash, FamilyID: family, AuthRequestID: "ar-" + family,
		ClientID: "client-1", OrgID: "o1", AccountID: "acct", SessionID: "sess", Scopes: []string{"openid", "email"},
		AuthTime: base, AMR: []string{"pwd", "otp"}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
}

var oidcTests = []namedTest{
	{"AuthRequestLifecycle", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		r := oidcAuthRequest("ar1")
		wantErr(t, "Create", s.CreateOIDCAuthRequest(ctx, r), nil)
		wantErr(t, "Create twice", s.CreateOIDCAuthRequest(ctx, r), storage.ErrConflict)
		got, err := s.GetOIDCAuthRequest(ctx, "ar1")
		wantErr(t, "Get", err, nil)
		if string(got.Request) != `{"scope":"openid"}` || got.HintSubject != "acct-hint" || !got.DoneAt.IsZero() || got.AMR == nil {
			t.Fatalf("Get = %+v", got)
		}
		wantUTCMicros(t, "CreatedAt", got.CreatedAt, base)
		_, err = s.GetOIDCAuthRequest(ctx, "nope")
		wantErr(t, "Get unknown", err, storage.ErrNotFound)

		// No code before the sign-in is recorded.
		wantErr(t, "code before done", s.SetOIDCAuthCode(ctx, "ar1", "h1", base.Add(time.Minute)), storage.ErrConflict)
		done := storage.OIDCAuthRequest{DoneAt: base.Add(time.Second), AccountID: "acct", SessionID: "sess",
			AuthTime: base, AMR: []string{"sso"}, EmergencyID: "em1"}
		wantErr(t, "Complete", s.CompleteOIDCAuthRequest(ctx, "ar1", done), nil)
		wantErr(t, "Complete twice", s.CompleteOIDCAuthRequest(ctx, "ar1", done), storage.ErrConflict)
		wantErr(t, "Complete unknown", s.CompleteOIDCAuthRequest(ctx, "nope", done), storage.ErrNotFound)
		wantErr(t, "SetCode", s.SetOIDCAuthCode(ctx, "ar1", "h1", base.Add(time.Minute)), nil)
		wantErr(t, "SetCode twice", s.SetOIDCAuthCode(ctx, "ar1", "h2", base.Add(time.Minute)), storage.ErrConflict)

		got, err = s.GetOIDCAuthRequestByCode(ctx, "h1")
		wantErr(t, "ByCode", err, nil)
		if got.ID != "ar1" || got.AccountID != "acct" || got.SessionID != "sess" || got.EmergencyID != "em1" ||
			!reflect.DeepEqual(got.AMR, []string{"sso"}) {
			t.Fatalf("ByCode = %+v", got)
		}
		wantUTCMicros(t, "CodeExpiresAt", got.CodeExpiresAt, base.Add(time.Minute))
		_, err = s.GetOIDCAuthRequestByCode(ctx, "")
		wantErr(t, "ByCode empty", err, storage.ErrNotFound)

		wantErr(t, "Use", s.UseOIDCAuthCode(ctx, "ar1", base.Add(2*time.Second)), nil)
		wantErr(t, "Use twice", s.UseOIDCAuthCode(ctx, "ar1", base.Add(3*time.Second)), storage.ErrConflict)
		got, _ = s.GetOIDCAuthRequest(ctx, "ar1")
		wantUTCMicros(t, "CodeUsedAt", got.CodeUsedAt, base.Add(2*time.Second))

		wantErr(t, "Delete", s.DeleteOIDCAuthRequest(ctx, "ar1"), nil)
		_, err = s.GetOIDCAuthRequest(ctx, "ar1")
		wantErr(t, "Get deleted", err, storage.ErrNotFound)
	}},
	{"ConcurrentCodeUseOneWinner", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		wantErr(t, "Create", s.CreateOIDCAuthRequest(ctx, oidcAuthRequest("ar1")), nil)
		wantErr(t, "Complete", s.CompleteOIDCAuthRequest(ctx, "ar1", storage.OIDCAuthRequest{DoneAt: base, AccountID: "a"}), nil)
		wantErr(t, "SetCode", s.SetOIDCAuthCode(ctx, "ar1", "h1", base.Add(time.Minute)), nil)
		errs := race(goroutines, func(int) error {
			return s.InTx(ctx, func(tx storage.Store) error { return tx.UseOIDCAuthCode(ctx, "ar1", base) })
		})
		oneWinner(t, "concurrent redemptions of one code", errs, storage.ErrConflict)
	}},
	{"TokensRotateAndRevoke", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		wantErr(t, "access", s.CreateOIDCToken(ctx, oidcToken("at1", storage.OIDCAccessToken, "", "f1")), nil)
		wantErr(t, "refresh", s.CreateOIDCToken(ctx, oidcToken("rt1", storage.OIDCRefreshToken, "rh1", "f1")), nil)
		wantErr(t, "other family", s.CreateOIDCToken(ctx, oidcToken("rt2", storage.OIDCRefreshToken, "rh2", "f2")), nil)
		wantErr(t, "duplicate hash", s.CreateOIDCToken(ctx, oidcToken("rt3", storage.OIDCRefreshToken, "rh1", "f3")), storage.ErrConflict)
		// Access tokens have no hash; many share the empty one.
		wantErr(t, "second access", s.CreateOIDCToken(ctx, oidcToken("at2", storage.OIDCAccessToken, "", "f2")), nil)

		got, err := s.GetOIDCToken(ctx, "at1")
		wantErr(t, "Get", err, nil)
		if got.Kind != storage.OIDCAccessToken || !reflect.DeepEqual(got.Scopes, []string{"openid", "email"}) ||
			!reflect.DeepEqual(got.AMR, []string{"pwd", "otp"}) || got.SessionID != "sess" {
			t.Fatalf("Get = %+v", got)
		}
		wantUTCMicros(t, "ExpiresAt", got.ExpiresAt, base.Add(time.Hour))
		rt, err := s.GetOIDCRefreshToken(ctx, "rh1")
		wantErr(t, "GetRefresh", err, nil)
		if rt.ID != "rt1" {
			t.Fatalf("GetRefresh = %+v", rt)
		}
		_, err = s.GetOIDCRefreshToken(ctx, "")
		wantErr(t, "GetRefresh empty", err, storage.ErrNotFound)

		wantErr(t, "Rotate", s.RotateOIDCRefreshToken(ctx, "rt1", base), nil)
		wantErr(t, "Rotate twice", s.RotateOIDCRefreshToken(ctx, "rt1", base), storage.ErrConflict)
		wantErr(t, "Rotate unknown", s.RotateOIDCRefreshToken(ctx, "nope", base), storage.ErrNotFound)

		n, err := s.RevokeOIDCTokenFamily(ctx, "f1", base)
		wantErr(t, "RevokeFamily", err, nil)
		if n != 2 {
			t.Errorf("RevokeFamily revoked %d, want 2", n)
		}
		if got, _ := s.GetOIDCToken(ctx, "rt2"); !got.RevokedAt.IsZero() {
			t.Error("another family's token was revoked")
		}
		wantErr(t, "Rotate revoked", s.RotateOIDCRefreshToken(ctx, "rt2", base), nil)
		n, _ = s.RevokeOIDCAuthRequestTokens(ctx, "ar-f2", base)
		if n != 2 {
			t.Errorf("RevokeAuthRequestTokens revoked %d, want 2", n)
		}
		wantErr(t, "RevokeOne twice", s.RevokeOIDCToken(ctx, "at2", base), nil)
		if got, _ := s.GetOIDCToken(ctx, "at2"); got.RevokedAt.IsZero() {
			t.Error("revoked token has no RevokedAt")
		}
	}},
	{"ConcurrentRotateOneWinner", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		wantErr(t, "refresh", s.CreateOIDCToken(ctx, oidcToken("rt1", storage.OIDCRefreshToken, "rh1", "f1")), nil)
		errs := race(goroutines, func(int) error {
			return s.InTx(ctx, func(tx storage.Store) error { return tx.RotateOIDCRefreshToken(ctx, "rt1", base) })
		})
		oneWinner(t, "concurrent rotations", errs, storage.ErrConflict)
	}},
	{"SigningKeys", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		if err := s.LockOIDCSigningKeys(ctx); err == nil {
			t.Error("LockOIDCSigningKeys outside a transaction succeeded")
		}
		for i, created := range []time.Time{base, base.Add(time.Hour)} {
			k := storage.OIDCSigningKey{ID: fmt.Sprintf("k%d", i), Algorithm: "RS256", SealedKey: "sealed", PublicJWK: `{"kty":"RSA"}`,
				CreatedAt: created, ActiveUntil: created.Add(time.Hour), ExpiresAt: created.Add(2 * time.Hour)}
			err := s.InTx(ctx, func(tx storage.Store) error {
				if err := tx.LockOIDCSigningKeys(ctx); err != nil {
					return err
				}
				return tx.CreateOIDCSigningKey(ctx, k)
			})
			wantErr(t, "Create", err, nil)
		}
		keys, err := s.ListOIDCSigningKeys(ctx, base)
		wantErr(t, "List", err, nil)
		if len(keys) != 2 || keys[0].ID != "k1" || keys[1].SealedKey != "sealed" || keys[1].PublicJWK != `{"kty":"RSA"}` {
			t.Fatalf("List = %+v", keys)
		}
		wantUTCMicros(t, "ActiveUntil", keys[1].ActiveUntil, base.Add(time.Hour))
		// Expired keys leave the list, then the table.
		keys, _ = s.ListOIDCSigningKeys(ctx, base.Add(2*time.Hour))
		if len(keys) != 1 || keys[0].ID != "k1" {
			t.Fatalf("List after k0 expired = %+v", keys)
		}
		n, err := s.DeleteExpiredOIDC(ctx, base.Add(2*time.Hour+time.Second))
		wantErr(t, "DeleteExpired", err, nil)
		if n != 1 {
			t.Errorf("DeleteExpired removed %d, want 1", n)
		}
	}},
	{"DeleteExpired", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		wantErr(t, "Create", s.CreateOIDCAuthRequest(ctx, oidcAuthRequest("ar1")), nil)
		wantErr(t, "access", s.CreateOIDCToken(ctx, oidcToken("at1", storage.OIDCAccessToken, "", "f1")), nil)
		if n, _ := s.DeleteExpiredOIDC(ctx, base.Add(time.Minute)); n != 0 {
			t.Fatalf("deleted %d live rows", n)
		}
		if n, _ := s.DeleteExpiredOIDC(ctx, base.Add(2*time.Hour)); n != 2 {
			t.Fatalf("deleted %d rows, want 2", n)
		}
	}},
}
