package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var apiTokenSecretRE = regexp.MustCompile(`gh_[A-Za-z0-9_-]{43}`)

// fromAddress is a context for a call to the API from ip.
func fromAddress(ip string) context.Context {
	return reqctx.With(context.Background(), reqctx.Info{IP: ip})
}

// An owner creates an API token in the console, sees its secret once,
// sees when and from where it was last used and when it expires, and
// revokes it behind a confirmation page; every step is audited as the
// owner.
func TestAdminTokens(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	if r := c.get("/admin"); !strings.Contains(r.body, `href="/admin/tokens"`) {
		t.Error("the console navigation has no link to the API tokens")
	}
	expect(t, c.get("/admin/tokens"), http.StatusOK, "No API tokens yet", "Create a token")

	r := c.post("/admin/tokens", url.Values{"name": {"nightly export"}, "scope": {"read"}, "expires": {"30"}})
	expect(t, r, http.StatusCreated, "Copy it now: it will not be shown again", "Secret of nightly export")
	secret := apiTokenSecretRE.FindString(r.body)
	if secret == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the answer has no secret or may be cached (%q):\n%s", r.header.Get("Cache-Control"), text(r.body))
	}
	ev := e.lastAudit(org.ID)
	if ev.Action != "api_token.create" || ev.ActorID != owner.ID || ev.Details["scope"] != "read" || ev.Details["expires_at"] == "" {
		t.Errorf("audit = %+v", ev)
	}

	// Shown once: the list has the token but never its secret.
	r = c.get("/admin/tokens")
	if strings.Contains(r.body, secret) || strings.Contains(r.body, "gh_") {
		t.Fatal("the token list shows a secret")
	}
	expect(t, r, http.StatusOK, "nightly export", "read", "Active", "Never", "by "+owner.Email)
	wantExpiry := isoUTC(e.clock.Now().AddDate(0, 0, 30))
	if !strings.Contains(r.body, `<time datetime="`+wantExpiry+`">`) {
		t.Errorf("the expiry %s is not shown as a <time>:\n%s", wantExpiry, r.body)
	}

	// Used from an address: the list shows when and from where.
	tok, err := e.accounts.AuthenticateAPIToken(fromAddress("203.0.113.9"), secret)
	if err != nil {
		t.Fatal(err)
	}
	r = c.get("/admin/tokens")
	expect(t, r, http.StatusOK, "from 203.0.113.9")
	if !strings.Contains(r.body, `<time datetime="`+isoUTC(e.clock.Now())+`">`) {
		t.Error("the last use is not shown as a <time>")
	}

	// A duplicate name is refused beside the name field; nothing is written.
	before := e.auditCount()
	r = c.post("/admin/tokens", url.Values{"name": {"nightly export"}, "scope": {"admin"}, "expires": {""}})
	expect(t, r, http.StatusConflict, "A token with this name already exists")
	if !strings.Contains(r.body, `aria-invalid="true"`) || e.auditCount() != before {
		t.Error("the duplicate is not marked on its field, or something was written")
	}
	// An expiry that is not one of the choices is refused.
	expect(t, c.post("/admin/tokens", url.Values{"name": {"odd"}, "scope": {"read"}, "expires": {"100000"}}),
		http.StatusBadRequest, "Choose when the token expires")

	// Revoke: a confirmation page, then the token no longer works.
	href := "/admin/tokens/" + tok.ID + "/revoke"
	if !strings.Contains(c.get("/admin/tokens").body, `href="`+href+`"`) {
		t.Fatal("the list does not link to the revoke page")
	}
	expect(t, c.get(href), http.StatusOK, "Revoke this API token?", "nightly export", "Revoke token", "Cancel")
	r = c.post(href, url.Values{})
	expectRedirect(t, r, "/admin/tokens?notice=token-revoked")
	if _, err := e.accounts.AuthenticateAPIToken(fromAddress("203.0.113.9"), secret); err == nil {
		t.Error("the revoked token still authenticates")
	}
	ev = e.lastAudit(org.ID)
	if ev.Action != "api_token.revoke" || ev.ActorID != owner.ID || ev.TargetID != tok.ID {
		t.Errorf("audit = %+v", ev)
	}
	expect(t, c.get("/admin/tokens?notice=token-revoked"), http.StatusOK, "Token revoked", "Revoked")

	// Past its expiry a token is listed as expired and refused.
	secret2, tok2, err := e.accounts.CreateAPITokenSpec(adminCtx(org.ID), org.ID,
		account.APITokenSpec{Name: "short", Scope: storage.TokenScopeRead, ExpiresAt: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if _, err := e.accounts.AuthenticateAPIToken(fromAddress("203.0.113.9"), secret2); err == nil {
		t.Error("an expired token authenticates")
	}
	r = c.get("/admin/tokens")
	if !strings.Contains(r.body, `data-token-id="`+tok2.ID+`" data-status="expired"`) {
		t.Errorf("the expired token is not listed as expired:\n%s", text(r.body))
	}
}

// An admin who is not an owner is not offered owner tokens, is refused
// one if they ask anyway, and cannot revoke one; another organization's
// token is not found.
func TestAdminTokensOwnerOnly(t *testing.T) {
	e := newEnv(t)
	org, _, _ := e.signedInOwner()
	e.addMember(org.ID, "admin@example.com", storage.RoleAdmin)
	c := e.client()
	c.signIn("admin@example.com", memberPassword)
	r := c.get("/admin/tokens")
	expect(t, r, http.StatusOK, "Create a token")
	if strings.Contains(r.body, `value="owner"`) {
		t.Error("an admin is offered owner tokens")
	}
	before := e.auditCount()
	r = c.post("/admin/tokens", url.Values{"name": {"sneaky"}, "scope": {"owner"}, "expires": {"30"}})
	expect(t, r, http.StatusForbidden, "Only an owner can create an owner token")
	if apiTokenSecretRE.MatchString(r.body) {
		t.Error("a refused creation shows a secret")
	}
	toks, err := e.accounts.ListAPITokens(adminCtx(org.ID), org.ID)
	if err != nil || len(toks) != 0 {
		t.Errorf("tokens after the refusal: %v %v", toks, err)
	}
	if n := e.auditCount(); n != before+1 { // the access.denied event only
		t.Errorf("audit events: %d, want %d (access.denied)", n, before+1)
	}

	_, ownerTok, err := e.accounts.CreateAPITokenWithScope(adminCtx(org.ID), org.ID, "owner automation", storage.TokenScopeOwner)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, c.post("/admin/tokens/"+ownerTok.ID+"/revoke", url.Values{}), http.StatusForbidden, "Only an owner can revoke an owner token")

	other, err := e.accounts.CreateOrganization(adminCtx(""), "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	_, otherTok, err := e.accounts.CreateAPITokenWithScope(adminCtx(other.ID), other.ID, "theirs", storage.TokenScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/tokens/" + otherTok.ID + "/revoke", "/admin/tokens/nope/revoke"} {
		expect(t, c.get(p), http.StatusNotFound, "There is no such API token")
		expect(t, c.post(p, url.Values{}), http.StatusNotFound, "There is no such API token")
	}
}

func isoUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }
