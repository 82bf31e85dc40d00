// Package oidc makes Gatehouse an OpenID Provider for the apps an
// organization registers (internal/apps): discovery, authorization (code
// flow with PKCE), token, userinfo, introspection, revocation, RP-initiated
// logout and the key set. The protocol is github.com/zitadel/oidc's op
// package; this package is its storage adapter and the login glue, which
// never authenticates anyone itself: it reads the browser's Gatehouse
// session made by the sign-in engine, or sends the browser to /login.
//
// Every token stands on a Gatehouse session: userinfo, introspection and
// refresh check that the token is live, its session is live (not signed
// out, revoked or expired, its account active) and its app still exists,
// so revocation anywhere ends an app's access at once.
package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// Endpoint paths, all under the issuer (Gatehouse's public URL).
const (
	PathDiscovery   = "/.well-known/openid-configuration"
	PathAuthorize   = "/oidc/authorize"
	PathCallback    = "/oidc/authorize/callback"
	PathToken       = "/oidc/token"
	PathUserinfo    = "/oidc/userinfo"
	PathIntrospect  = "/oidc/introspect"
	PathRevoke      = "/oidc/revoke"
	PathEndSession  = "/oidc/end_session"
	PathKeys        = "/oidc/keys"
	PathLogin       = "/oidc/login"
	PathLogoutAsk   = "/oidc/logout"
	loginRequestTTL = 30 * time.Minute // an SSO round trip and a second factor fit
)

// CSRFExempt are the paths apps (not Gatehouse's own pages) POST to: they
// authenticate with client credentials or bearer tokens, never with the
// browser's cookies, or (authorize, end_session) carry only protocol
// parameters that the provider validates itself. Everything else under
// /oidc/, the logout confirmation included, keeps the CSRF check.
var CSRFExempt = []string{PathAuthorize, PathToken, PathUserinfo, PathIntrospect, PathRevoke, PathEndSession}

// Apps is what the provider asks of the apps registry (apps.Service).
type Apps interface {
	// ByClientID returns the app with clientID; storage.ErrNotFound when
	// there is none.
	ByClientID(ctx context.Context, clientID string) (storage.App, error)
}

// Config is the provider's settings; zero lifetimes take config.Default's.
type Config struct {
	// PublicURL is Gatehouse's public URL; the issuer is exactly it
	// (without a trailing slash).
	PublicURL       string
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	CodeTTL         time.Duration
	KeyRotation     time.Duration
	KeyAlgorithms   []string
	// SecretKey is the deployment's secret_key: it seals the private keys
	// and, through derived keys, encrypts codes and access tokens and
	// signs logout confirmations.
	SecretKey []byte
}

// Provider is Gatehouse's OpenID Provider.
type Provider struct {
	store    storage.Store
	apps     Apps
	sessions *session.Service
	box      *secretbox.Box
	cfg      Config
	issuer   string
	log      *slog.Logger
	now      func() time.Time

	op      *op.Provider
	keys    *keyRing
	signKey []byte // HMAC key for logout confirmation links

	pages *page.Renderer // SetPages; nil: plain-text pages
}

// New builds the provider. It creates no keys: Run (or EnsureKeys) does.
func New(store storage.Store, apps Apps, sessions *session.Service, cfg Config, log *slog.Logger, now func() time.Time) (*Provider, error) {
	def := config.Default().OIDC
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = def.AccessTokenTTL
	}
	if cfg.IDTokenTTL <= 0 {
		cfg.IDTokenTTL = def.IDTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = def.RefreshTokenTTL
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = def.CodeTTL
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = def.KeyRotation
	}
	if len(cfg.KeyAlgorithms) == 0 {
		cfg.KeyAlgorithms = def.KeyAlgorithms
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	box, err := secretbox.New(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	if cfg.PublicURL == "" {
		// A configuration that never went through config.Load (tests
		// building an App from config.Default()) has no public URL.
		cfg.PublicURL = "http://localhost"
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("oidc: public URL %q is not an absolute URL", cfg.PublicURL)
	}
	p := &Provider{
		store: store, apps: apps, sessions: sessions, box: box, cfg: cfg, log: log, now: now,
		issuer:  strings.TrimRight(cfg.PublicURL, "/"),
		signKey: derive(cfg.SecretKey, "gatehouse oidc logout confirmation"),
	}
	p.keys = newKeyRing(p)
	tokenKey := ([32]byte)(derive(cfg.SecretKey, "gatehouse oidc codes and access tokens"))
	opCfg := &op.Config{
		CryptoKey:                tokenKey,
		DefaultLogoutRedirectURI: p.issuer + "/login?notice=signed-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "c_hash", "at_hash",
			"azp", "name", "email", "email_verified", "groups", "org", "emergency"},
		SupportedScopes: []string{"openid", "profile", "email", "groups", "offline_access"},
	}
	opts := []op.Option{
		// Access tokens are AES-256-GCM JWEs, authenticated; op's default
		// also accepts its older unauthenticated AES-CFB format on the way
		// in, which Gatehouse never issues.
		op.WithCrypto(op.NewAES256GCMCrypto(tokenKey, "gatehouse-1")),
		op.WithCustomEndpoints(op.NewEndpoint(PathAuthorize), op.NewEndpoint(PathToken), op.NewEndpoint(PathUserinfo),
			op.NewEndpoint(PathRevoke), op.NewEndpoint(PathEndSession), op.NewEndpoint(PathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		// Tokens travel in headers and bodies, never in cookies: any
		// origin may call, and no response is readable with credentials.
		op.WithCORSOptions(&cors.Options{
			AllowOriginFunc:  func(string) bool { return true },
			AllowedMethods:   []string{http.MethodGet, http.MethodPost},
			AllowedHeaders:   []string{"Authorization", "Content-Type"},
			AllowCredentials: false,
		}),
	}
	// Plain http only for local development, as the session cookie.
	if u.Scheme == "http" && config.IsLoopbackHost(u.Hostname()) {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(opCfg, &adapter{p: p}, op.StaticIssuer(p.issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return p, nil
}

// Issuer is the provider's issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// Register mounts every OIDC route on mux.
func (p *Provider) Register(mux *http.ServeMux) {
	h := p.withRequest(p.op)
	mux.Handle(PathDiscovery, p.withRequest(http.HandlerFunc(p.discovery)))
	mux.Handle(PathKeys, h)
	for _, path := range []string{PathToken, PathIntrospect, PathRevoke} {
		mux.Handle(path, p.withRequest(p.publicClientNoSecret(p.op)))
	}
	mux.Handle(PathUserinfo, p.withRequest(bearerErrors(p.op)))
	// The endpoints a browser is sent to show their refusals as pages.
	mux.Handle(PathAuthorize, p.withPages(h, p.authorizeProblem))
	mux.Handle(PathEndSession, p.withPages(h, p.endSessionProblem))
	mux.Handle(PathCallback, p.withRequest(p.withPages(http.HandlerFunc(p.callback), p.callbackProblem)))
	mux.HandleFunc("GET "+PathLogin, p.login)
	mux.HandleFunc("GET "+PathLogoutAsk, p.logoutAsk)
	mux.HandleFunc("POST "+PathLogoutAsk, p.logoutConfirm)
}

// Run keeps a signing key of every configured algorithm active and
// removes what has expired, until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if err := p.EnsureKeys(ctx); err != nil && ctx.Err() == nil {
			p.log.ErrorContext(ctx, "oidc: signing key rotation failed", "err", err)
		}
		if n, err := p.store.DeleteExpiredOIDC(ctx, p.now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "oidc: purge failed", "err", err)
		} else if n > 0 {
			p.log.DebugContext(ctx, "oidc: purged expired rows", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reqState is what one request's handlers share with the storage adapter,
// which the op package calls with the request's context only: the browser
// request (cookies, for logout) and the app the request is about (its
// signing algorithm).
type reqState struct {
	w   http.ResponseWriter
	r   *http.Request
	alg string
	// app and sess are the request's lookups (memo.go); nil until made.
	app  *storage.App
	sess *session.Validated
}

type stateKey struct{}

func (p *Provider) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{w: w, r: r}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// derive is a purpose-bound key from the secret key, so one secret serves
// each use without one use's output helping against another.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
