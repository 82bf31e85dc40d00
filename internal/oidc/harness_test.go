package oidc_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// Helpers shared by the conformance, attack and key tests: a server on a
// clock the test moves, raw protocol requests, and a browser walk that
// records which pages it was shown.

// clocked is a server whose every service reads clock.
type clocked struct {
	*gatehouse
	clock *testenv.Clock
}

func startClocked(t *testing.T) *clocked {
	t.Helper()
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	return &clocked{gatehouse: startWith(t, clock.Now), clock: clock}
}

// in is g for subtest t, so helpers fail the subtest, not its parent.
func (g *clocked) in(t *testing.T) *clocked {
	c := *g.gatehouse
	c.t = t
	return &clocked{gatehouse: &c, clock: g.clock}
}

// app registers an app in org from in (redirect URIs default to the RP's).
func (g *gatehouse) app(orgID string, in apps.Input) storage.App {
	g.t.Helper()
	if in.RedirectURIs == nil {
		in.RedirectURIs = []string{rpCallback}
	}
	if in.PostLogoutRedirectURIs == nil {
		in.PostLogoutRedirectURIs = []string{rpLoggedOut}
	}
	a, secret, err := g.App.Apps.Create(g.Admin, orgID, in)
	if err != nil {
		g.t.Fatalf("register %s: %v", in.Name, err)
	}
	a.SecretHash = secret // the test keeps the secret where the hash was
	return a
}

// member adds an account with the shared password to orgID.
func (g *gatehouse) member(orgID, addr, name string) storage.Account {
	g.t.Helper()
	a, err := g.App.Accounts.AddMember(g.Admin, orgID, account.MemberInput{Email: addr, DisplayName: name,
		Role: storage.RoleMember, Password: password})
	if err != nil {
		g.t.Fatalf("add %s: %v", addr, err)
	}
	return a
}

func (g *gatehouse) account(addr string) storage.Account {
	g.t.Helper()
	a, err := g.App.Store.GetAccountByEmail(g.t.Context(), addr)
	if err != nil {
		g.t.Fatal(err)
	}
	return a
}

// authQuery is a code-flow authorization request for clientID with PKCE
// S256, a state and a nonce; it returns the query and the PKCE verifier.
func authQuery(clientID, scope string) (url.Values, string) {
	v := oauth2.GenerateVerifier()
	return url.Values{"client_id": {clientID}, "redirect_uri": {rpCallback}, "response_type": {"code"},
		"scope": {scope}, "state": {"st4te"}, "nonce": {"n-0S6"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(v)}, "code_challenge_method": {"S256"}}, v
}

// walked is where a browser walk ended and what it was shown on the way.
type walked struct {
	final  string   // the URL that left Gatehouse, or the last one requested
	status int      // the status of the last Gatehouse answer
	body   string   // its body
	logins []string // every login page shown, as requested
}

// code is the code the app received; "" when none.
func (w walked) code() string { return w.query().Get("code") }

// query is the parameters the app received, in the query or (for the
// response types that use it) the fragment.
func (w walked) query() url.Values {
	u, err := url.Parse(w.final)
	if err != nil || !strings.HasPrefix(w.final, rpCallback) {
		return url.Values{}
	}
	q := u.Query()
	if f, err := url.ParseQuery(u.Fragment); err == nil {
		for k, v := range f {
			q[k] = append(q[k], v...)
		}
	}
	return q
}

// walk follows redirects on Gatehouse from target until one leaves it or
// a page answers without a redirect, signing in as b.email whenever the
// login page comes up (signIn: false stops there instead).
func (b *browser) walk(target string, signIn bool) walked {
	b.t.Helper()
	var w walked
	for range 20 {
		if !strings.HasPrefix(target, "/") && !strings.HasPrefix(target, b.g.URL) {
			w.final = target
			return w
		}
		u, _ := url.Parse(target)
		if u.Path == "/login" {
			w.logins = append(w.logins, target)
			if !signIn {
				w.status, _, w.body = b.do(http.MethodGet, target, nil)
				w.final = target
				return w
			}
			target = b.signIn(u.Query().Get("return_to"))
			continue
		}
		status, loc, body := b.do(http.MethodGet, target, nil)
		w.status, w.body = status, body
		if loc == "" {
			w.final = target
			return w
		}
		target = loc
	}
	b.t.Fatal("too many redirects")
	return w
}

// authorize walks an authorization request with query q.
func (b *browser) authorize(q url.Values) walked {
	b.t.Helper()
	return b.walk("/oidc/authorize?"+q.Encode(), true)
}

// form posts to a protocol endpoint as an app would (no cookies), with
// HTTP Basic client authentication when id is set; it returns the status
// and the decoded JSON answer.
func (g *gatehouse) form(path, id, secret string, f url.Values, header ...string) (int, map[string]any) {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return g.send(req)
}

func (g *gatehouse) send(req *http.Request) (int, map[string]any) {
	g.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// redeem exchanges code at the token endpoint for app.
func (g *gatehouse) redeem(a storage.App, code, verifier string) (int, map[string]any) {
	g.t.Helper()
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	if a.Public {
		f.Set("client_id", a.ClientID)
		return g.form("/oidc/token", "", "", f)
	}
	return g.form("/oidc/token", a.ClientID, a.SecretHash, f)
}

// refresh presents a refresh token for app.
func (g *gatehouse) refresh(a storage.App, token string, scope ...string) (int, map[string]any) {
	g.t.Helper()
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	if len(scope) > 0 {
		f.Set("scope", strings.Join(scope, " "))
	}
	return g.form("/oidc/token", a.ClientID, a.SecretHash, f)
}

// userinfo asks with the bearer token in the Authorization header (GET).
func (g *gatehouse) userinfo(token string) (int, map[string]any) {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return g.send(req)
}

// introspect asks, as app, whether token is active.
func (g *gatehouse) introspect(a storage.App, token string) bool {
	g.t.Helper()
	status, out := g.form("/oidc/introspect", a.ClientID, a.SecretHash, url.Values{"token": {token}})
	if status != http.StatusOK {
		g.t.Fatalf("introspection: %d %v", status, out)
	}
	active, _ := out["active"].(bool)
	return active
}

// signedIn runs a full sign-in for app in b and returns the token
// response (access_token, id_token, refresh_token …).
func (g *gatehouse) signedIn(b *browser, a storage.App, scope string) map[string]any {
	g.t.Helper()
	q, v := authQuery(a.ClientID, scope)
	w := b.authorize(q)
	if w.code() == "" {
		g.t.Fatalf("authorization ended at %s (%d)\n%s", w.final, w.status, w.body)
	}
	status, tok := g.redeem(a, w.code(), v)
	if status != http.StatusOK {
		g.t.Fatalf("code exchange: %d %v", status, tok)
	}
	return tok
}

// verifier checks ID tokens for app as go-oidc does, at the test's clock.
func (g *clocked) verifier(clientID string, algs ...string) *gooidc.IDTokenVerifier {
	g.t.Helper()
	ctx := gooidc.InsecureIssuerURLContext(g.t.Context(), g.URL)
	p, err := gooidc.NewProvider(ctx, g.URL)
	if err != nil {
		g.t.Fatalf("discovery: %v", err)
	}
	return p.Verifier(&gooidc.Config{ClientID: clientID, Now: g.clock.Now, SupportedSigningAlgs: algs})
}

// idClaims verifies the ID token in tok and returns its claims.
func (g *clocked) idClaims(a storage.App, tok map[string]any) map[string]any {
	g.t.Helper()
	raw, _ := tok["id_token"].(string)
	idt, err := g.verifier(a.ClientID, "RS256", "ES256").Verify(g.t.Context(), raw)
	if err != nil {
		g.t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		g.t.Fatal(err)
	}
	return c
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func num(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }

func decode(t *testing.T, res *http.Response) map[string]any {
	t.Helper()
	defer res.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %d, not JSON: %v", res.Request.URL, res.StatusCode, err)
	}
	return out
}

func oauth2Verifier() string {
	var b [32]byte
	for i := range b {
		b[i] = byte(i * 7)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// forgeries are tokens with claims an attacker chose: unsigned (alg
// none) and HS256 with the provider's RSA public key as the HMAC secret
// (the key-confusion attack), in the encodings of that key a careless
// verifier might use.
func forgeries(t *testing.T, g *clocked, claims map[string]any) map[string]string {
	t.Helper()
	res, err := http.Get(g.URL + "/oidc/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var rsaKey *jose.JSONWebKey
	for i, k := range set.Keys {
		if k.Algorithm == "RS256" {
			rsaKey = &set.Keys[i]
		}
	}
	if rsaKey == nil {
		t.Fatal("no RS256 key published")
	}
	der, err := x509.MarshalPKIXPublicKey(rsaKey.Key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkJSON, _ := rsaKey.MarshalJSON()
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	out := map[string]string{}
	for _, h := range []string{`{"alg":"none"}`, `{"alg":"none","typ":"JWT","kid":"` + rsaKey.KeyID + `"}`, `{"alg":"None"}`} {
		out["alg none "+h] = enc([]byte(h)) + "." + enc(body) + "."
	}
	for name, secret := range map[string][]byte{"PEM": pemKey, "DER": der, "JWK": jwkJSON} {
		h := enc([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + rsaKey.KeyID + `"}`))
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(h + "." + enc(body)))
		out["HS256 with the "+name+" public key"] = h + "." + enc(body) + "." + enc(m.Sum(nil))
	}
	return out
}
