// Package forwardauth answers reverse proxies that ask, before every
// request to an app behind them, whether the browser may go on:
// GET /auth/verify for nginx auth_request, Traefik ForwardAuth and Caddy
// forward_auth. It is an edge like internal/web: it reads the session
// cookie the proxy passes along, asks the session service (served from the
// node's cache, kept honest by the invalidation feed) and the apps
// registry (a node-local snapshot), and answers with a status and the
// X-Gatehouse-* headers. A warm session costs no database read.
package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// Path is where forward-auth is mounted.
const Path = httpserver.ForwardAuthPath

// Response headers sent with 200 to the proxy, which copies them onto the
// request it forwards to the app.
const (
	HeaderUser   = "X-Gatehouse-User"   // the account's ID (stable)
	HeaderEmail  = "X-Gatehouse-Email"  // the account's email address
	HeaderGroups = "X-Gatehouse-Groups" // IdP groups, see EncodeGroups
	HeaderOrg    = "X-Gatehouse-Org"    // the organization's slug
)

// Sessions is what forward-auth needs of the session service.
type Sessions interface {
	TokenFromRequest(r *http.Request) string
	Validate(ctx context.Context, token string) (session.Validated, error)
}

// Apps is what forward-auth needs of the apps registry (apps.Service):
// both answers come from the node's snapshot.
type Apps interface {
	ByHost(ctx context.Context, host string) (storage.App, bool, error)
	ReturnAllowed(ctx context.Context, rawURL string) bool
}

// Orgs names organizations (account.Service). Organizations are never
// renamed or deleted, so each slug is asked for once per process.
type Orgs interface {
	GetOrganization(ctx context.Context, idOrSlug string) (storage.Organization, error)
}

// Handler serves /auth/verify.
type Handler struct {
	Sessions Sessions
	Apps     Apps
	Orgs     Orgs
	// PublicURL is Gatehouse's public URL: the login page browsers are
	// sent to. Empty (a server assembled without one, in tests): no
	// redirect, 401 instead.
	PublicURL string
	Log       *slog.Logger

	// slugs caches organization ID → slug (immutable, few).
	slugs sync.Map
}

// Register mounts GET (and so HEAD) /auth/verify on mux; missing wiring is
// an error, so a server never answers forward-auth without its registry.
func (h *Handler) Register(mux *http.ServeMux) error {
	var missing []string
	if h.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if h.Apps == nil {
		missing = append(missing, "Apps")
	}
	if h.Orgs == nil {
		missing = append(missing, "Orgs")
	}
	if len(missing) > 0 {
		return fmt.Errorf("forwardauth: missing wiring: %s", strings.Join(missing, ", "))
	}
	h.PublicURL = strings.TrimRight(h.PublicURL, "/")
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	mux.HandleFunc("GET "+Path, h.verify)
	return nil
}

// verify decides one request. Every answer is no-store: a proxy or browser
// that cached a 200 would let a signed-out person in.
//
//   - 200 with the X-Gatehouse-* headers: a live session of the app's
//     organization, in one of the app's groups if it restricts any.
//   - no usable session: in nginx mode (?mode=nginx) 401, with Location
//     set to the login page when the original URL may be returned to (the
//     nginx snippet turns it into a 302 with auth_request_set and
//     error_page); otherwise 302 to the login page carrying the original
//     URL as return_to — or 401 when that URL is not one Gatehouse may
//     send a browser back to (never a redirect anywhere else).
//   - 403: the host is not a registered app's, the session belongs to
//     another organization, or the app's group restriction leaves the
//     person out. The body says which, in plain words.
//   - 400: the proxy sent no usable original URL (a misconfiguration).
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	w.Header()["Cache-Control"] = hdrNoStore
	ctx := r.Context()
	orig, ok := originalURL(r)
	if !ok {
		plain(w, http.StatusBadRequest, "Gatehouse cannot tell which page was asked for: the proxy must send X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri, or X-Original-URL.")
		return
	}
	app, found, err := h.Apps.ByHost(ctx, orig.Host)
	if err != nil {
		h.Log.ErrorContext(ctx, "forwardauth: looking up the app failed", "host", orig.Host, "err", err)
		plain(w, http.StatusInternalServerError, "Gatehouse could not check this request. Try again.")
		return
	}
	if !found {
		plain(w, http.StatusForbidden, "This site ("+orig.Host+") is not registered with Gatehouse, so Gatehouse signs no one into it. An admin can add its host to an app in the Gatehouse console.")
		return
	}
	v, signedIn, err := h.session(r)
	if err != nil {
		h.Log.ErrorContext(ctx, "forwardauth: validating the session failed", "err", err)
		plain(w, http.StatusServiceUnavailable, "Gatehouse could not check your session. Try again.")
		return
	}
	if !signedIn {
		h.unauthenticated(w, r, orig.String())
		return
	}
	if v.Session.OrgID != app.OrgID {
		plain(w, http.StatusForbidden, "This app belongs to another organization than the one you're signed in to.")
		return
	}
	if !apps.Admits(app, v.Groups) {
		plain(w, http.StatusForbidden, "You're signed in, but this app is only for members of certain groups, and you're not in any of them. Ask your admin if you need it.")
		return
	}
	slug, err := h.orgSlug(ctx, v.Session.OrgID)
	if err != nil {
		h.Log.ErrorContext(ctx, "forwardauth: looking up the organization failed", "err", err)
		plain(w, http.StatusInternalServerError, "Gatehouse could not check this request. Try again.")
		return
	}
	// The header names are canonical: assigned directly, the four values
	// share one allocation instead of one each.
	vals := [...]string{v.Account.ID, headerSafe(v.Account.Email), EncodeGroups(v.Groups), slug}
	s := vals[:]
	hd := w.Header()
	hd[HeaderUser] = s[0:1:1]
	hd[HeaderEmail] = s[1:2:2]
	hd[HeaderGroups] = s[2:3:3]
	hd[HeaderOrg] = s[3:4:4]
	w.WriteHeader(http.StatusOK)
}

// session validates the request's session cookie; ok is false when there
// is none or it names no live session.
func (h *Handler) session(r *http.Request) (session.Validated, bool, error) {
	token := h.Sessions.TokenFromRequest(r)
	if token == "" {
		return session.Validated{}, false, nil
	}
	v, err := h.Sessions.Validate(r.Context(), token)
	if errors.Is(err, session.ErrInvalid) {
		return session.Validated{}, false, nil
	}
	if err != nil {
		return session.Validated{}, false, err
	}
	return v, true, nil
}

// unauthenticated sends the browser to sign in, coming back to orig, when
// orig is a URL Gatehouse may return to; 401 otherwise.
func (h *Handler) unauthenticated(w http.ResponseWriter, r *http.Request, orig string) {
	login := ""
	if h.PublicURL != "" && page.ReturnTo(r.Context(), h.Apps, orig) == orig {
		login = h.PublicURL + page.LoginPathTo(orig)
	}
	if nginxMode(r) || login == "" {
		if login != "" {
			w.Header().Set("Location", login)
		}
		plain(w, http.StatusUnauthorized, "Sign in to continue.")
		return
	}
	browserHeaders(w.Header())
	w.Header().Set("Location", login)
	w.WriteHeader(http.StatusFound)
}

// nginxMode reports whether the proxy wants 401 instead of a redirect:
// nginx's auth_request passes only 2xx, 401 and 403 on.
func nginxMode(r *http.Request) bool { return r.URL.Query().Get("mode") == "nginx" }

// hdrOriginalURL is X-Original-URL in canonical form, so that reading it
// does not canonicalise (and allocate) the key on every request.
const hdrOriginalURL = "X-Original-Url"

// maxOriginal bounds the original URL read from the proxy's headers.
const maxOriginal = 2048

// originalURL reads the URL the browser asked the proxy for: X-Original-URL
// (the nginx snippet sets it), or X-Forwarded-Proto, -Host and -Uri
// (Traefik, Caddy). The proxy sets these, overwriting what the browser
// sent; a browser calling /auth/verify directly can name any URL, but then
// it only learns about its own session, and where it may be sent is
// checked like any return URL.
func originalURL(r *http.Request) (*url.URL, bool) {
	raw := r.Header.Get(hdrOriginalURL)
	if raw == "" {
		proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
		uri := r.Header.Get("X-Forwarded-Uri")
		if uri == "" {
			uri = "/"
		}
		if proto == "" || host == "" || !strings.HasPrefix(uri, "/") {
			return nil, false
		}
		raw = strings.ToLower(proto) + "://" + host + uri
	}
	if len(raw) > maxOriginal {
		return nil, false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return nil, false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" ||
		strings.ContainsAny(u.Host, ", ") {
		return nil, false
	}
	u.Host = strings.ToLower(u.Host)
	return u, true
}

// orgSlug returns the slug of orgID, asking Orgs once per organization.
func (h *Handler) orgSlug(ctx context.Context, orgID string) (string, error) {
	if s, ok := h.slugs.Load(orgID); ok {
		return s.(string), nil
	}
	o, err := h.Orgs.GetOrganization(ctx, orgID)
	if err != nil {
		return "", err
	}
	h.slugs.Store(orgID, o.Slug)
	return o.Slug, nil
}

// Header values shared by every response (see httpserver's): assigned,
// never written into.
var (
	hdrNoStore  = []string{"no-store"}
	hdrPlain    = []string{"text/plain; charset=utf-8"}
	hdrNosniff  = []string{"nosniff"}
	hdrCSP      = []string{"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"}
	hdrDeny     = []string{"DENY"}
	hdrReferrer = []string{"no-referrer"}
)

// browserHeaders are set on every answer a proxy may hand to the browser
// (Traefik and Caddy pass refusals and redirects on): the 200s, which only
// the proxy reads, go without them (httpserver leaves this path's headers
// to it).
func browserHeaders(h http.Header) {
	h["Content-Security-Policy"] = hdrCSP
	h["X-Frame-Options"] = hdrDeny
	h["X-Content-Type-Options"] = hdrNosniff
	h["Referrer-Policy"] = hdrReferrer
}

func plain(w http.ResponseWriter, status int, msg string) {
	browserHeaders(w.Header())
	w.Header()["Content-Type"] = hdrPlain
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
