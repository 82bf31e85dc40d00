package oidc_test

import (
	"context"

	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const (
	rpCallback  = "https://rp.example.test/callback"
	rpLoggedOut = "https://rp.example.test/bye"
	email       = "ada@corp.example"
	password    = "correct horse battery staple 42"
)

// gatehouse is one assembled server, as serve builds it, on SQLite.
type gatehouse struct {
	t     *testing.T
	App   *app.App
	URL   string
	Admin context.Context
	org   storage.Organization
}

func start(t *testing.T) *gatehouse { return startWith(t, nil) }

// startWith starts a server whose services all read the clock now (nil:
// the wall clock).
func startWith(t *testing.T, now func() time.Time) *gatehouse {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	g := &gatehouse{t: t, URL: "http://localhost:" + port, Admin: authz.AsCLI(context.Background(), "test")}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = g.URL
	cfg.Listen = ts.Listener.Addr().String()
	cfg.Session.StaleAfter = config.StaleFactor * cfg.Session.PollInterval
	a, err := app.OpenWith(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	g.App = a
	h, err := server.Handler(a)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	if g.org, err = a.Accounts.CreateOrganization(g.Admin, "Corp", "corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accounts.AddMember(g.Admin, g.org.ID, account.MemberInput{Email: email, DisplayName: "Ada Lovelace",
		Role: storage.RoleMember, Password: password}); err != nil {
		t.Fatal(err)
	}
	return g
}

// register adds an app and returns its client ID and secret.
func (g *gatehouse) register(name string, public bool, scopes ...string) (string, string) {
	g.t.Helper()
	a, secret, err := g.App.Apps.Create(g.Admin, g.org.ID, apps.Input{Name: name, Public: public,
		RedirectURIs: []string{rpCallback}, PostLogoutRedirectURIs: []string{rpLoggedOut}, Scopes: scopes})
	if err != nil {
		g.t.Fatalf("register %s: %v", name, err)
	}
	return a.ClientID, secret
}

// browser is a cookie-keeping client that does not follow redirects, so
// the test sees every hop.
type browser struct {
	t     *testing.T
	g     *gatehouse
	hc    *http.Client
	email string // who signs in when the login page comes up
}

func (g *gatehouse) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: g.t, g: g, email: email, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, target string, form url.Values) (int, string, string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.g.URL + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.g.URL)
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(raw)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.g.URL)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var inputRE = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// follow follows redirects on Gatehouse until one leaves it (to the app),
// signing in with the password when the login page comes up.
func (b *browser) follow(target string) string {
	b.t.Helper()
	for range 20 {
		if strings.HasPrefix(target, rpCallback) || strings.HasPrefix(target, rpLoggedOut) {
			return target
		}
		u, _ := url.Parse(target)
		if u.Path == "/login" {
			target = b.signIn(u.Query().Get("return_to"))
			continue
		}
		status, loc, body := b.do(http.MethodGet, target, nil)
		if loc == "" {
			b.t.Fatalf("GET %s: %d without a redirect\n%s", target, status, body)
		}
		target = loc
	}
	b.t.Fatal("too many redirects")
	return ""
}

// signIn takes the email and password steps, returning where Gatehouse
// sends the browser afterwards.
func (b *browser) signIn(returnTo string) string {
	b.t.Helper()
	b.do(http.MethodGet, "/login", nil)
	csrf := b.cookie("gatehouse_csrf")
	_, _, page := b.do(http.MethodPost, "/login", url.Values{"email": {b.email}, "method": {"password"},
		"return_to": {returnTo}, "csrf_token": {csrf}})
	form := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	form.Set("password", password)
	status, loc, body := b.do(http.MethodPost, "/login/password", form)
	if status == http.StatusOK {
		// An app's sign-in leaves the form post by a page that refreshes
		// itself to the glue (Chrome's form-action check covers redirects).
		if m := refreshRE.FindStringSubmatch(body); m != nil {
			status, loc = http.StatusSeeOther, html.UnescapeString(m[1])
		}
	}
	if status != http.StatusSeeOther || b.cookie(b.g.App.Sessions.CookieName()) == "" {
		b.t.Fatalf("password sign-in: %d → %q\n%s", status, loc, body)
	}
	return loc
}

var refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

// rp is a relying party: go-oidc and x/oauth2, as an app would use them.
type rp struct {
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
}

func (g *gatehouse) rp(clientID, secret string, scopes ...string) *rp {
	g.t.Helper()
	ctx := gooidc.InsecureIssuerURLContext(g.t.Context(), g.URL)
	p, err := gooidc.NewProvider(ctx, g.URL)
	if err != nil {
		g.t.Fatalf("discovery: %v", err)
	}
	return &rp{provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
		cfg: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpCallback,
			Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}}
}

// authorize runs the front channel and returns the code.
func (r *rp) authorize(t *testing.T, b *browser, verifier string, extra ...oauth2.AuthCodeOption) string {
	t.Helper()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-0S6")}, extra...)
	final := b.follow(r.cfg.AuthCodeURL("st4te", opts...))
	u, _ := url.Parse(final)
	if u.Query().Get("state") != "st4te" || u.Query().Get("code") == "" {
		t.Fatalf("authorization answered %s", final)
	}
	return u.Query().Get("code")
}

func TestCodeFlowEndToEnd(t *testing.T) {
	g := start(t)
	clientID, secret := g.register("Wiki", false, "email", "profile", "groups", "offline_access")
	r := g.rp(clientID, secret, "email", "profile", "groups", "offline_access")
	b := g.browser()
	ctx := t.Context()

	verifier := oauth2.GenerateVerifier()
	code := r.authorize(t, b, verifier)
	tok, err := r.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Name          string   `json:"name"`
		Org           string   `json:"org"`
		AMR           []string `json:"amr"`
		AuthTime      int64    `json:"auth_time"`
		Nonce         string   `json:"nonce"`
		Groups        []string `json:"groups"`
		Emergency     *bool    `json:"emergency"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	acct, _ := g.App.Store.GetAccountByEmail(ctx, email)
	if idt.Subject != acct.ID || claims.Email != email || !claims.EmailVerified || claims.Name != "Ada Lovelace" ||
		claims.Org != "corp" || len(claims.AMR) != 1 || claims.AMR[0] != "pwd" || claims.AuthTime == 0 ||
		claims.Nonce != "n-0S6" || claims.Groups == nil || claims.Emergency != nil {
		t.Fatalf("ID token claims: sub %s %+v", idt.Subject, claims)
	}

	// Userinfo by GET with the bearer token (go-oidc), and by POST body.
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != acct.ID || ui.Email != email {
		t.Fatalf("userinfo: %+v, %v", ui, err)
	}
	res, err := http.PostForm(g.URL+"/oidc/userinfo", url.Values{"access_token": {tok.AccessToken}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("userinfo by POST body: %v %v", res, err)
	}
	res.Body.Close()

	// Refresh rotates; the old refresh token then revokes the family.
	fresh, err := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v, %v", fresh, err)
	}
	if _, err := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted again")
	}
	if _, err := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("after reuse of its predecessor, the newest refresh token still works")
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Fatal("after refresh token reuse, the family's access token still works")
	}

	// The code is single use: a second redemption fails and revokes what
	// the first issued.
	code2 := r.authorize(t, b, verifier)
	tok2, err := r.cfg.Exchange(ctx, code2, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
	if _, err := r.cfg.Exchange(ctx, code2, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was redeemed twice")
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Fatal("tokens of a replayed code still work")
	}

	// RP-initiated logout with the ID token ends the Gatehouse session.
	code3 := r.authorize(t, b, verifier)
	tok3, err := r.cfg.Exchange(ctx, code3, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := tok3.Extra("id_token").(string)
	final := b.follow(g.URL + "/oidc/end_session?" + url.Values{"id_token_hint": {hint},
		"post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye"}}.Encode())
	if final != rpLoggedOut+"?state=bye" {
		t.Fatalf("logout went to %s", final)
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok3)); err == nil {
		t.Fatal("after logout the access token still works")
	}
	if _, err := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok3.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("after logout the refresh token still works")
	}
}

func TestAuthorizationRefusals(t *testing.T) {
	g := start(t)
	clientID, secret := g.register("Wiki", false, "email")
	publicID, _ := g.register("SPA", true, "email")
	otherID, otherSecret := g.register("Other", false, "email")
	b := g.browser()
	authz := func(q url.Values) (int, string) {
		status, loc, _ := b.do(http.MethodGet, "/oidc/authorize?"+q.Encode(), nil)
		// The provider hands every accepted request to the sign-in glue,
		// which answers prompt=none itself: follow that one hop.
		if rest, ok := strings.CutPrefix(loc, g.URL+"/oidc/login?"); ok && status == http.StatusFound {
			status, loc, _ = b.do(http.MethodGet, "/oidc/login?"+rest, nil)
		}
		return status, loc
	}
	base := func(id string) url.Values {
		return url.Values{"client_id": {id}, "redirect_uri": {rpCallback}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"s"}}
	}
	// Redirect URIs match exactly: no redirect to a near miss.
	for _, uri := range []string{rpCallback + "/", strings.ToUpper(rpCallback[:8]) + rpCallback[8:], "https://RP.example.test/callback", "https://evil.test/callback"} {
		q := base(clientID)
		q.Set("redirect_uri", uri)
		if status, loc := authz(q); status != http.StatusBadRequest || loc != "" {
			t.Errorf("redirect_uri %s: %d → %q", uri, status, loc)
		}
	}
	refused := func(what string, q url.Values, wantErr string) {
		t.Helper()
		status, loc := authz(q)
		u, _ := url.Parse(loc)
		if status != http.StatusFound || !strings.HasPrefix(loc, rpCallback) || u.Query().Get("error") != wantErr {
			t.Errorf("%s: %d → %q, want error %s", what, status, loc, wantErr)
		}
	}
	q := base(clientID)
	q.Set("response_type", "token")
	refused("implicit flow", q, "unauthorized_client")
	refused("public client without PKCE", base(publicID), "invalid_request")
	q = base(clientID)
	q.Set("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123")
	q.Set("code_challenge_method", "plain")
	refused("plain PKCE", q, "invalid_request")
	q = base(clientID)
	q.Set("prompt", "none")
	refused("prompt=none without a session", q, "login_required")

	// Token endpoint: wrong secret, missing and wrong verifier, another
	// client's code, the password grant.
	r := g.rp(clientID, secret, "email")
	verifier := oauth2.GenerateVerifier()
	code := r.authorize(t, b, verifier)
	bad := g.rp(clientID, "not-the-secret", "email")
	if _, err := bad.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a wrong client secret was accepted")
	}
	if _, err := r.cfg.Exchange(t.Context(), code); err == nil {
		t.Error("a code was redeemed without its PKCE verifier")
	}
	if _, err := r.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("a code was redeemed with the wrong PKCE verifier")
	}
	other := g.rp(otherID, otherSecret, "email")
	if _, err := other.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("client B redeemed client A's code")
	}
	if _, err := r.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("the rightful client could not redeem its code after the failed attempts: %v", err)
	}
	if _, err := r.cfg.PasswordCredentialsToken(t.Context(), email, password); err == nil {
		t.Error("the password grant was accepted")
	}
}

// A revoked Gatehouse session ends the app's access: refresh and
// introspection fail.
func TestRevokedSessionEndsTokens(t *testing.T) {
	g := start(t)
	clientID, secret := g.register("Wiki", false, "email", "offline_access")
	r := g.rp(clientID, secret, "email", "offline_access")
	b := g.browser()
	verifier := oauth2.GenerateVerifier()
	tok, err := r.cfg.Exchange(t.Context(), r.authorize(t, b, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	introspect := func() bool {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/oidc/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Active bool `json:"active"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out.Active
	}
	if !introspect() {
		t.Fatal("a live access token introspected inactive")
	}
	acct, _ := g.App.Store.GetAccountByEmail(t.Context(), email)
	if _, err := g.App.Sessions.RevokeAll(g.Admin, acct.ID, "", "test"); err != nil {
		t.Fatal(err)
	}
	if introspect() {
		t.Error("introspection says active after the session was revoked")
	}
	if _, err := r.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Error("refresh succeeded after the session was revoked")
	}
}
