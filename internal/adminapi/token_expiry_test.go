package adminapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// A token past its expiry is refused exactly like a revoked one, even
// though nobody revoked it, and a call with it records no use.
func TestExpiredTokenRefused(t *testing.T) {
	e := newEnv(t)
	secret := "gh_expiredtokenforthetestonly0123456789"
	sum := sha256.Sum256([]byte(secret))
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := storage.APIToken{
		ID: "expired-token", OrgID: e.orgA.ID, Name: "expired", TokenHash: hex.EncodeToString(sum[:]),
		CreatedBy: "cli", Scope: storage.TokenScopeOwner, CreatedAt: now.Add(-2 * time.Hour),
		ExpiresAt: now.Add(-time.Minute),
	}
	if err := e.store.CreateAPIToken(e.ctx, tok); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/organization", secret, nil)
	if r.status != http.StatusUnauthorized || r.errCode(t) != "unauthorized" {
		t.Fatalf("expired token: GET /organization = %d %s", r.status, r.body)
	}
	got, err := e.store.GetAPITokenByHash(e.ctx, tok.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.IsZero() || got.LastUsedIP != "" {
		t.Errorf("a refused call recorded a use: %+v", got)
	}
}

// A token made with an expiry works until then, shows its expiry, and
// an expiry in the past is refused with nothing written.
func TestTokenExpiryOnCreate(t *testing.T) {
	e := newEnv(t)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	r := e.do("POST", "/api/v1/tokens", e.tokenA, []byte(fmt.Sprintf(`{"name":"short","scope":"read","expires_at":%q}`, until.Format(time.RFC3339))))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /tokens with expires_at = %d %s", r.status, r.body)
	}
	var created apiview.CreatedToken
	r.json(t, &created)
	if created.Token.ExpiresAt == nil || !created.Token.ExpiresAt.Equal(until) {
		t.Errorf("expires_at = %v, want %v", created.Token.ExpiresAt, until)
	}
	if r := e.do("GET", "/api/v1/organization", created.Secret, nil); r.status != http.StatusOK {
		t.Errorf("token before its expiry = %d %s", r.status, r.body)
	}

	before := e.auditCount()
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	r = e.do("POST", "/api/v1/tokens", e.tokenA, []byte(fmt.Sprintf(`{"name":"late","expires_at":%q}`, past)))
	if r.status != http.StatusBadRequest {
		t.Errorf("expiry in the past = %d %s", r.status, r.body)
	}
	if e.auditCount() != before {
		t.Errorf("a refused creation wrote an audit event")
	}
}

// The API records where a token was last used from, besides when.
func TestTokenLastUsedAddress(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/api/v1/organization", e.tokenA, nil); r.status != http.StatusOK {
		t.Fatalf("GET /organization = %d", r.status)
	}
	got, err := e.store.GetAPITokenByHash(e.ctx, e.tokA.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt.IsZero() || got.LastUsedIP != "127.0.0.1" {
		t.Errorf("last use = %v from %q, want now from 127.0.0.1", got.LastUsedAt, got.LastUsedIP)
	}
	r := e.do("GET", "/api/v1/tokens", e.tokenA, nil)
	var list struct{ Tokens []apiview.Token }
	r.json(t, &list)
	for _, tk := range list.Tokens {
		if tk.ID == e.tokA.ID && tk.LastUsedIP != "127.0.0.1" {
			t.Errorf("listed last_used_ip = %q", tk.LastUsedIP)
		}
	}
}
