// Package devapp is a small OpenID Connect relying party for trying
// Gatehouse's provider on one machine: it signs a person in with the
// authorization code flow and PKCE (S256), verifies the ID token against
// the provider's published keys, shows the claims and the userinfo
// answer, refreshes tokens and signs out through the provider.
//
// It is a development tool: sessions live in memory and every page is
// plain. `gatehouse serve` never mounts it; it runs as `gatehouse devapp`.
package devapp

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

//go:embed templates/page.html
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "templates/page.html"))

// Config configures the development app.
type Config struct {
	// Issuer is Gatehouse's public URL, e.g. http://localhost:8080.
	Issuer string
	// BaseURL is where browsers reach this app; the redirect URI is
	// BaseURL + "/callback" and the post-logout URI BaseURL + "/".
	BaseURL      string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE alone)
	// Scopes beyond openid; default profile, email, groups, offline_access.
	Scopes []string
	Logger *slog.Logger
}

// App is a running development relying party.
type App struct {
	cfg      Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	endURL   string
	log      *slog.Logger

	mu      sync.Mutex
	pending map[string]pending // state → the request in progress
	signed  map[string]*signedIn
}

type pending struct {
	verifier, nonce string
	created         time.Time
}

type signedIn struct {
	idToken  string
	claims   map[string]any
	token    *oauth2.Token
	userinfo map[string]any
	note     string
}

// New discovers the provider at cfg.Issuer and returns the app.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Issuer == "" || cfg.BaseURL == "" || cfg.ClientID == "" {
		return nil, errors.New("devapp: issuer, base URL and client ID are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email", "groups", "offline_access"}
	}
	p, err := oidc.NewProvider(ctx, strings.TrimSuffix(cfg.Issuer, "/"))
	if err != nil {
		return nil, fmt.Errorf("devapp: discover %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&meta)
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	a := &App{
		cfg:      cfg,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: base + "/callback", Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...)},
		endURL:  meta.EndSession,
		log:     cfg.Logger,
		pending: map[string]pending{},
		signed:  map[string]*signedIn{},
	}
	return a, nil
}

// RedirectURI is the redirect URI to register for this app.
func (a *App) RedirectURI() string { return a.oauth.RedirectURL }

// Handler serves the app's pages.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /forget", a.forget)
	return mux
}

const (
	cookieName  = "devapp_session"
	stateCookie = "devapp_state"
)

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *App) current(r *http.Request) (string, *signedIn) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return c.Value, a.signed[c.Value]
}

type view struct {
	Issuer, ClientID, Error, Note string
	SignedIn                      bool
	Claims, Userinfo              []kv
	Refresh                       bool
	Expiry                        string
}

type kv struct{ Key, Value string }

func pairs(m map[string]any) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, kv{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (a *App) render(w http.ResponseWriter, status int, v view) {
	v.Issuer, v.ClientID = a.cfg.Issuer, a.cfg.ClientID
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		a.log.Error("devapp: render", "err", err)
	}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, s := a.current(r)
	if s == nil {
		a.render(w, http.StatusOK, view{})
		return
	}
	a.render(w, http.StatusOK, a.viewOf(s))
}

func (a *App) viewOf(s *signedIn) view {
	v := view{SignedIn: true, Claims: pairs(s.claims), Userinfo: pairs(s.userinfo), Note: s.note,
		Refresh: s.token.RefreshToken != ""}
	if !s.token.Expiry.IsZero() {
		v.Expiry = s.token.Expiry.Format(time.RFC3339)
	}
	return v
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	a.mu.Lock()
	for k, p := range a.pending { // forget abandoned attempts
		if time.Since(p.created) > 10*time.Minute {
			delete(a.pending, k)
		}
	}
	a.pending[state] = pending{verifier: verifier, nonce: nonce, created: time.Now()}
	a.mu.Unlock()
	// The state is also bound to this browser, so a code fetched in
	// someone else's browser cannot sign this one in.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/callback", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 600})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p := r.URL.Query().Get("prompt"); p == "login" || p == "none" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if c, err := r.Cookie(stateCookie); err != nil || c.Value != q.Get("state") {
		a.render(w, http.StatusBadRequest, view{Error: "This sign-in was started in another browser or tab. Start again."})
		return
	}
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		a.render(w, http.StatusBadRequest, view{Error: "This sign-in is unknown or was already used. Start again."})
		return
	}
	if e := q.Get("error"); e != "" {
		a.render(w, http.StatusOK, view{Error: "Gatehouse answered " + e + ": " + q.Get("error_description")})
		return
	}
	tok, err := a.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.render(w, http.StatusBadGateway, view{Error: "Exchanging the code failed: " + err.Error()})
		return
	}
	s, err := a.verify(r.Context(), tok, p.nonce)
	if err != nil {
		a.render(w, http.StatusBadGateway, view{Error: err.Error()})
		return
	}
	id := random()
	a.mu.Lock()
	a.signed[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// verify checks the ID token in tok (signature, issuer, audience, expiry
// and, when nonce is set, the nonce) and reads userinfo with the access
// token.
func (a *App) verify(ctx context.Context, tok *oauth2.Token, nonce string) (*signedIn, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("Gatehouse sent no ID token")
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("the ID token does not verify: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return nil, errors.New("the ID token's nonce is not this sign-in's")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	s := &signedIn{idToken: raw, claims: claims, token: tok}
	if ui, err := a.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		s.userinfo = map[string]any{}
		_ = ui.Claims(&s.userinfo)
	} else {
		s.note = "userinfo: " + err.Error()
	}
	return s, nil
}

func (a *App) refresh(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	if s == nil || s.token.RefreshToken == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	old := *s.token
	old.Expiry = time.Now().Add(-time.Minute) // force the refresh grant
	tok, err := a.oauth.TokenSource(r.Context(), &old).Token()
	if err != nil {
		a.mu.Lock()
		delete(a.signed, id)
		a.mu.Unlock()
		a.render(w, http.StatusOK, view{Error: "Refreshing failed, so this app signed you out: " + err.Error()})
		return
	}
	if _, ok := tok.Extra("id_token").(string); !ok {
		tok = tok.WithExtra(map[string]any{"id_token": s.idToken})
	}
	ns, err := a.verify(r.Context(), tok, "")
	if err != nil {
		a.render(w, http.StatusBadGateway, view{Error: err.Error()})
		return
	}
	ns.note = "Tokens refreshed at " + time.Now().Format(time.RFC3339) + "."
	a.mu.Lock()
	a.signed[id] = ns
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// forget ends the app's own session only: the next sign-in shows whether
// Gatehouse still knows the browser (it then asks nothing).
func (a *App) forget(w http.ResponseWriter, r *http.Request) {
	id, _ := a.current(r)
	a.mu.Lock()
	delete(a.signed, id)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout forgets the local session and, when the provider publishes an
// end_session_endpoint, ends the Gatehouse session there too.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	a.mu.Lock()
	delete(a.signed, id)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1})
	if s == nil || a.endURL == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"id_token_hint": {s.idToken}, "post_logout_redirect_uri": {strings.TrimSuffix(a.cfg.BaseURL, "/") + "/"},
		"client_id": {a.cfg.ClientID}, "state": {random()}}
	http.Redirect(w, r, a.endURL+"?"+q.Encode(), http.StatusSeeOther)
}
