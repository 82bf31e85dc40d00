// Package tokenload drives Gatehouse's token endpoint as relying parties
// do, for the token benchmarks (internal/oidc's BenchmarkToken* and
// go run ./bench/token): it seeds a person with a live session and two
// confidential apps (one signing ID tokens with RS256, one with ES256),
// fetches authorization codes through /oidc/authorize with the session's
// cookie, and redeems codes and refresh tokens at /oidc/token.
package tokenload

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// RedirectURI is the benchmark apps' callback; nothing listens there.
const RedirectURI = "https://rp.bench.example/callback"

// Scope is what the benchmark apps ask for: every claim Gatehouse puts
// in an ID token, and a refresh token.
const Scope = "openid email profile groups offline_access"

// App is a registered confidential app.
type App struct {
	Alg, ClientID, Secret string
}

// Fixture is what Seed made.
type Fixture struct {
	// Cookie is the person's Gatehouse session cookie.
	Cookie *http.Cookie
	Apps   []App // RS256 first, then ES256
}

// Seed creates an organization, a person in two groups with a live
// session (as an SSO sign-in would have made it) and the two apps.
func Seed(ctx context.Context, a *app.App) (Fixture, error) {
	admin := authz.AsCLI(ctx, "bench")
	now := storage.Truncate(time.Now())
	org := storage.Organization{ID: uuid.NewString(), Slug: "bench-" + uuid.NewString()[:8], Name: "Token Benchmark", CreatedAt: now}
	if err := a.Store.CreateOrganization(ctx, org); err != nil {
		return Fixture{}, fmt.Errorf("create organization: %w", err)
	}
	acct := storage.Account{ID: uuid.NewString(), OrgID: org.ID, Email: "ada@bench.example", DisplayName: "Ada Lovelace",
		Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateAccount(ctx, acct); err != nil {
		return Fixture{}, fmt.Errorf("create account: %w", err)
	}
	if err := a.Store.SetAccountGroups(ctx, acct.ID, []string{"engineering", "oncall"}); err != nil {
		return Fixture{}, fmt.Errorf("set groups: %w", err)
	}
	tok, _, err := a.Sessions.Start(ctx, session.StartParams{Account: acct, Methods: []string{session.MethodSSO},
		IP: "127.0.0.1", UserAgent: "bench/token"})
	if err != nil {
		return Fixture{}, fmt.Errorf("start session: %w", err)
	}
	f := Fixture{Cookie: &http.Cookie{Name: a.Sessions.CookieName(), Value: tok}}
	for _, alg := range []string{"RS256", "ES256"} {
		rec, secret, err := a.Apps.Create(admin, org.ID, apps.Input{Name: "bench " + alg, RedirectURIs: []string{RedirectURI},
			Scopes: strings.Fields(Scope), SigningAlg: alg})
		if err != nil {
			return Fixture{}, fmt.Errorf("register %s app: %w", alg, err)
		}
		f.Apps = append(f.Apps, App{Alg: alg, ClientID: rec.ClientID, Secret: secret})
	}
	return f, nil
}

// Client talks to one Gatehouse at Base.
type Client struct {
	Base   string
	Cookie *http.Cookie
	HC     *http.Client
}

// NewClient returns a client that keeps connections alive (up to conns
// to the server) and never follows redirects, so it sees every hop.
func NewClient(base string, cookie *http.Cookie, conns int) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &Client{Base: strings.TrimRight(base, "/"), Cookie: cookie, HC: &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Code is an authorization code with its PKCE verifier.
type Code struct {
	App      App
	Code     string
	Verifier string
}

// Authorize runs the front channel for app with the session cookie and
// returns the code Gatehouse sends to the redirect URI.
func (c *Client) Authorize(ctx context.Context, a App) (Code, error) {
	verifier := random()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {RedirectURI},
		"scope": {Scope}, "state": {random()}, "nonce": {random()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	target := c.Base + "/oidc/authorize?" + q.Encode()
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return Code{}, err
		}
		req.AddCookie(c.Cookie)
		res, err := c.HC.Do(req)
		if err != nil {
			return Code{}, err
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		loc := res.Header.Get("Location")
		if loc == "" {
			return Code{}, fmt.Errorf("authorize: GET %s: %d without a redirect: %s", target, res.StatusCode, body)
		}
		if strings.HasPrefix(loc, RedirectURI) {
			u, err := url.Parse(loc)
			if err != nil {
				return Code{}, err
			}
			code := u.Query().Get("code")
			if code == "" {
				return Code{}, fmt.Errorf("authorize: no code in %s", loc)
			}
			return Code{App: a, Code: code, Verifier: verifier}, nil
		}
		if strings.HasPrefix(loc, "/") {
			loc = c.Base + loc
		}
		target = loc
	}
	return Code{}, errors.New("authorize: too many redirects")
}

// Tokens is a token response.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// Exchange redeems code at the token endpoint.
func (c *Client) Exchange(ctx context.Context, code Code) (Tokens, error) {
	return c.token(ctx, code.App, url.Values{"grant_type": {"authorization_code"}, "code": {code.Code},
		"redirect_uri": {RedirectURI}, "code_verifier": {code.Verifier}})
}

// Refresh redeems a refresh token of a; the answer carries its successor.
func (c *Client) Refresh(ctx context.Context, a App, refreshToken string) (Tokens, error) {
	return c.token(ctx, a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (c *Client) token(ctx context.Context, a App, form url.Values) (Tokens, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Tokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.ClientID), url.QueryEscape(a.Secret))
	res, err := c.HC.Do(req)
	if err != nil {
		return Tokens{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return Tokens{}, err
	}
	if res.StatusCode != http.StatusOK {
		return Tokens{}, fmt.Errorf("token (%s): %d %s", form.Get("grant_type"), res.StatusCode, body)
	}
	var t Tokens
	if err := json.Unmarshal(body, &t); err != nil {
		return Tokens{}, fmt.Errorf("token: %w", err)
	}
	if t.AccessToken == "" || t.RefreshToken == "" || t.IDToken == "" {
		return Tokens{}, fmt.Errorf("token (%s): incomplete answer: %s", form.Get("grant_type"), body)
	}
	return t, nil
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
