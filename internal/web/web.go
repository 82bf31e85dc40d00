// Package web serves the sign-in pages people see: first-admin set-up,
// identifier-first sign-in, SAML SSO (login, ACS, metadata, test
// sign-ins), sign-out, password reset and invitations, admin recovery
// links and the signed-in account page. Its templates are embedded; the
// base layout, static files and renderer are internal/web/page's, shared
// with the admin console (internal/web/console), which this package does
// not import.
//
// Handlers hold no business rules: they parse forms, call the account and
// session services, and turn their errors into plain-language pages.
package web

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// Handler serves the sign-in and account pages.
type Handler struct {
	Accounts *account.Service
	Sessions *session.Service
	// SignIn is the sign-in engine every sign-in goes through (required).
	SignIn  *signin.Engine
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Now     func() time.Time

	// The SSO services the pages read. Without SSO the /saml/ routes are
	// not mounted. Who signs in how is the engine's to decide, never a nil
	// here.
	Domains *domain.Service
	SSO     *sso.Service
	IdPs    *idp.Service
	// Health serves the public SSO status page /status/{org}; nil leaves
	// it unmounted.
	Health *health.Service
	// Limiter bounds SSO sign-ins started and rejected SAML responses per
	// client address; nil disables the limits.
	Limiter *ratelimit.Limiter
	// OrgRecovery redeems organization recovery codes at /recover (nil:
	// /recover only follows `gatehouse recover` links).
	OrgRecovery *orgrecovery.Service
	// Passkeys manages the passkeys on /account; nil when passkeys cannot
	// work here (the public URL is an IP address), which the page explains.
	Passkeys *mfa.Passkeys
	// Secure is set when Gatehouse is served over HTTPS (config
	// public_url): the SAML browser-binding cookie is then __Host-,
	// Secure and SameSite=None.
	Secure bool

	// ProductName is shown where no organization name applies (config
	// product_name; empty: config.Default's).
	ProductName string
	// ResetLinkTTL is how long a reset link works, as told on the "check
	// your email" page: config tokens.reset_ttl, as account.Config.ResetTTL.
	ResetLinkTTL time.Duration

	// MFA enrols and removes authenticator apps and recovery codes on
	// /account; nil leaves that section out.
	MFA *mfa.Service

	// Returns decides which absolute return URLs (return_to, SAML
	// RelayState) are accepted: Gatehouse's own origin and the hosts of
	// registered apps (apps.Service). nil: relative paths only.
	Returns page.ReturnChecker
	// Apps names the app a sign-in is for (internal/oidc's Provider), so
	// the sign-in pages say "to continue to" it; nil: they name the
	// organization only.
	Apps AppSignIns

	renderer *page.Renderer // made by Register
}

// Register mounts the sign-in pages, /static/ and the friendly 404 catch-all on
// mux. Missing wiring is an error: a server without its sign-in engine
// must not start.
func (h *Handler) Register(mux *http.ServeMux) error {
	var missing []string
	if h.Accounts == nil {
		missing = append(missing, "Accounts")
	}
	if h.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if h.SignIn == nil {
		missing = append(missing, "SignIn")
	}
	if h.Metrics == nil {
		missing = append(missing, "Metrics")
	}
	if len(missing) > 0 {
		return fmt.Errorf("web: missing wiring: %s", strings.Join(missing, ", "))
	}
	h.renderer = h.newRenderer()
	mux.Handle("GET /static/", h.pg().StaticHandler())
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("/", h.notFound)

	mux.HandleFunc("GET /setup", h.setupForm)
	mux.HandleFunc("POST /setup", h.setupSubmit)

	mux.HandleFunc("GET /login", h.loginForm)
	mux.HandleFunc("POST /login", h.loginEmail)
	mux.HandleFunc("GET /login/password", h.loginPasswordGet)
	mux.HandleFunc("POST /login/password", h.loginPassword)
	mux.HandleFunc("GET /login/sso", h.loginSSO)
	mux.HandleFunc("GET /login/mfa", h.loginMFAGet)
	mux.HandleFunc("POST /login/mfa", h.loginMFA)
	mux.HandleFunc("POST /login/mfa/enrol", h.loginEnrol)
	mux.HandleFunc("POST /login/passkey/options", h.passkeyOptions)
	mux.HandleFunc("POST /login/passkey", h.loginPasskey)
	mux.HandleFunc("GET /logout", h.logoutConfirm)
	mux.HandleFunc("POST /logout", h.logout)

	mux.HandleFunc("GET /forgot", h.forgotForm)
	mux.HandleFunc("POST /forgot", h.forgotSubmit)
	mux.HandleFunc("GET /reset", h.resetForm)
	mux.HandleFunc("POST /reset", h.resetSubmit)

	mux.HandleFunc("GET /recover", h.recoverConfirm)
	mux.HandleFunc("POST /recover", h.recoverSubmit)
	if h.OrgRecovery != nil {
		mux.HandleFunc("POST /recover/code", h.recoverCodeSubmit)
	}

	mux.Handle("GET /account", h.RequireSession(http.HandlerFunc(h.accountPage)))
	mux.Handle("POST /account/sessions/{id}/revoke", h.RequireSession(http.HandlerFunc(h.revokeSession)))
	mux.Handle("POST /account/sessions/revoke-others", h.RequireSession(http.HandlerFunc(h.revokeOthers)))
	mux.Handle("POST /account/password", h.RequireSession(http.HandlerFunc(h.changePassword)))
	h.registerPasskeys(mux)

	if h.Health != nil {
		mux.HandleFunc("GET /status/{org}", h.statusPage)
	}
	h.registerSAML(mux)
	h.registerMFA(mux)
	return nil
}

// AppSignIns names the app a sign-in is for. The pages pass it the
// return_to the sign-in will go back to; the answer comes from what the
// server stored when the app sent the browser (the authorization request
// that return_to names), so nothing the browser wrote becomes the name.
type AppSignIns interface {
	// SignInApp returns the name and organization of the app whose
	// sign-in returnTo continues; ok is false for any other return_to,
	// and for an unknown or expired request.
	SignInApp(ctx context.Context, returnTo string) (name, orgID string, ok bool)
}

// Renderer is the page renderer over h's services (valid after
// Register), for the other edges that show pages in the same look
// (internal/oidc's error and sign-out pages).
func (h *Handler) Renderer() *page.Renderer { return h.pg() }

// pg is the shared renderer over h's services, made once by Register
// (the pages ask for it several times per request).
func (h *Handler) pg() *page.Renderer {
	if h.renderer != nil {
		return h.renderer
	}
	return h.newRenderer()
}

func (h *Handler) newRenderer() *page.Renderer {
	return &page.Renderer{Accounts: h.Accounts, Sessions: h.Sessions, Log: h.Log, Now: h.Now, ProductName: h.ProductName}
}

func (h *Handler) now() time.Time    { return h.pg().Time() }
func (h *Handler) log() *slog.Logger { return h.pg().Logger() }
func (h *Handler) product() string   { return h.pg().Product() }

func (h *Handler) resetTTL() time.Duration {
	if h.ResetLinkTTL > 0 {
		return h.ResetLinkTTL
	}
	return config.Default().Tokens.ResetTTL
}

// returnTo is the return URL s made safe (page.ReturnTo with h.Returns).
func (h *Handler) returnTo(r *http.Request, s string) string {
	return page.ReturnTo(r.Context(), h.Returns, s)
}

// goTo sends the browser to rt, a return URL returnTo accepted. An app's
// absolute URL is reached by a page that moves on by itself rather than a
// redirect: after a form post Chrome holds every redirect to the form's
// CSP form-action 'self', which would stop the browser at Gatehouse.
//
// The OpenID Provider's sign-in glue (/oidc/…) counts as leaving too: it
// answers with redirects that end at the app's redirect URI. When rt
// continues an app's sign-in (appFor), the page names the app.
func (h *Handler) goTo(w http.ResponseWriter, r *http.Request, rt, heading string) {
	app, isApp := h.appFor(r.Context(), rt)
	toApp := strings.HasPrefix(rt, "/oidc/")
	if !isApp && !page.IsAbsolute(rt) && !(toApp && r.Method == http.MethodPost) {
		http.Redirect(w, r, rt, http.StatusSeeOther)
		return
	}
	// The page carries the way back into a sign-in: never kept.
	w.Header().Set("Cache-Control", "no-store")
	if isApp {
		h.render(w, r, http.StatusOK, "app_continue", &view{
			Title: heading, Heading: heading,
			Org: h.pg().OrgNameOf(r.Context(), app.OrgID), App: app.Name,
			Refresh: rt, LinkHref: rt,
		})
		return
	}
	host := "the app"
	if u, err := url.Parse(rt); err == nil && u.Host != "" {
		host = u.Host
	}
	h.render(w, r, http.StatusOK, "message", &view{
		Title:    heading,
		Org:      h.orgName(r.Context(), nil),
		Heading:  heading,
		Message:  "Taking you back to " + host + "…",
		LinkHref: rt,
		LinkText: "Continue",
		Refresh:  rt,
	})
}

// --- sessions ---

// CurrentSession returns the signed-in session RequireSession put on r.
func CurrentSession(r *http.Request) (session.Validated, bool) { return page.CurrentSession(r) }

func (h *Handler) current(w http.ResponseWriter, r *http.Request) (session.Validated, bool, error) {
	return h.pg().Current(w, r)
}

// RequireSession lets only signed-in requests through to next
// (page.Renderer.RequireSession).
func (h *Handler) RequireSession(next http.Handler) http.Handler { return h.pg().RequireSession(next) }

// --- organization shown on pages ---

func (h *Handler) orgName(ctx context.Context, acct *storage.Account) string {
	return h.pg().OrgName(ctx, acct)
}

// emailOrg returns the organization that verified email's domain, if any.
// It is public information (anyone can look up the TXT record), and the
// same for every address of the domain, known or not, so pages that use it
// cannot tell whether an account exists.
func (h *Handler) emailOrg(ctx context.Context, email string) (storage.Organization, bool) {
	if h.Domains == nil {
		return storage.Organization{}, false
	}
	orgID, ok, err := h.Domains.ManagedBy(ctx, email)
	if err != nil {
		h.log().WarnContext(ctx, "cannot tell which organization manages an email domain", "err", err)
		return storage.Organization{}, false
	}
	if !ok {
		return storage.Organization{}, false
	}
	o, err := h.Accounts.GetOrganization(ctx, orgID)
	if err != nil {
		return storage.Organization{}, false
	}
	return o, true
}

// emailOrgName names the organization on the pages after the email step:
// org, the one that verified the email's domain (emailOrg; managed is
// false when none did), otherwise the fallback every sign-in page uses.
// Never the account's own organization, which would tell a known address
// from an unknown one. A page looks emailOrg up once and passes it here and
// to ssoLabel.
func (h *Handler) emailOrgName(ctx context.Context, org storage.Organization, managed bool) string {
	if managed && org.Name != "" {
		return org.Name
	}
	return h.orgName(ctx, nil)
}

// --- small helpers ---

// retryAfter sets Retry-After in whole seconds, rounded up, at least 1.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(s, 10))
}

// waitText says how long to wait in words: "30 seconds", "2 minutes".
func waitText(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d <= time.Second:
		return "1 second"
	case d < time.Minute:
		return plural(int64((d+time.Second-1)/time.Second), "second")
	case d < time.Hour:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}

func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return h.pg().ParseForm(w, r)
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.pg().ServerError(w, r, what, err)
}

// ErrorPage renders the friendly error page (page.Renderer.ErrorPage); it
// plugs into httpserver.Options.ErrorPage.
func (h *Handler) ErrorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	h.pg().ErrorPage(w, r, status, message)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	h.pg().Render(w, r, pages, status, name, v)
}

// view is what a page template shows.
type view = page.View

//go:embed templates/*.html
var templateFS embed.FS

// pages are the sign-in pages' templates.
var pages = page.MustParsePages(templateFS, nil)

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	_, ok, err := h.current(w, r)
	if err != nil {
		h.serverError(w, r, "validate session", err)
		return
	}
	if ok {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.ErrorPage(w, r, http.StatusNotFound, "")
}
