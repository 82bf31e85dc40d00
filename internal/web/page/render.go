// Package page is the renderer both halves of the web interface share: the
// base layout, partials, error page and static files (embedded), the View
// every page template shows, the session middleware, and the security
// helpers for return_to and form pages. It knows no routes of its own
// besides /static/; the sign-in pages (internal/web) and the admin console
// (internal/web/console) each bring their page templates and use it.
package page

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// View is everything a page template may show. One flat struct keeps the
// templates simple; each page uses the fields it needs.
type View struct {
	Title   string // "Sign in"; the <title> is "Title · Org"
	Org     string
	Product string
	CSRF    string
	User    *storage.Account // signed in: shows the sign-out button
	Notice  string           // a success message (role=status)
	Error   string           // a form-level error (role=alert)
	Errors  map[string]string
	Focus   string // the field to focus first (the first one in error)

	Email    string
	ReturnTo string
	// App names the app a sign-in is for when the browser came from an
	// app (internal/oidc): the sign-in pages then say "to continue to"
	// it. It is looked up from the stored request, never read from the
	// browser.
	App  string
	Flow string // the sign-in flow a step's form continues
	// SSOPassword: the password being set is for an account that signs in
	// through SSO, so the page says what it is for.
	SSOPassword bool
	Token       string
	Invite      bool
	OrgName     string
	DisplayName string
	WaitText    string

	// Generic message pages (invalid link, errors, done pages).
	Heading   string
	Message   string
	LinkHref  string
	LinkText  string
	RequestID string
	Status    int

	// Account and Sessions are the account page's own (internal/web).
	Account  any
	Sessions any

	// SSO: the "Continue with … SSO" button (SSOHref, SSOName), the page
	// that moves on to it by itself (Refresh: a same-origin path, or an
	// address the server checked, an IdP's or an app's registered one), the
	// rejection page's reason and code, and the test sign-in's result.
	SSOHref string
	SSOName string
	Refresh string
	Reason  string
	Code    string
	Test    any

	// SignIn is a sign-in step's own data (the MFA, enrolment and
	// emergency pages of internal/web).
	SignIn any

	Wide bool // the wider page layout (/account has it by its Account)

	// Admin is set on the admin console's pages (internal/web/console):
	// the section navigation and the widest layout.
	Admin any

	// Health is the SSO status page's content (internal/web/status.go)
	// or a connection's health on its console page.
	Health any

	// OIDC is the OpenID Provider's pages' own data (internal/oidc).
	OIDC any
}

// FieldError returns field's error message, or "".
func (v *View) FieldError(field string) string { return v.Errors[field] }

var templateFuncs = template.FuncMap{
	"asset":     assetURL,
	"csrfField": func() string { return httpserver.CSRFField },
	"breakable": breakable,
	"wrapHex":   wrapHex,
}

// wrapHex escapes s (a fingerprint or token) and lets it wrap every 16
// characters; copying it copies no spaces.
func wrapHex(s string) template.HTML {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%16 == 0 {
			b.WriteString("<wbr>")
		}
		b.WriteString(template.HTMLEscapeString(string(r)))
	}
	return template.HTML(b.String())
}

// breakable escapes s and lets a long email address wrap after its "@"
// and dots rather than mid-word on narrow screens.
func breakable(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if r == '@' || r == '.' {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

// Pages maps a page file to its template set (base layout + that page).
// Each set is parsed on the page's first render, not at start: a set is
// ~25 KB of parse trees (the layout and partials are parsed into every
// one), a deployment renders only some of its ~100 pages, and a node that
// mostly answers forward-auth and tokens renders almost none. Check parses
// them all, for the tests that keep a broken template from shipping.
type Pages map[string]*lazyPage

type lazyPage struct {
	once  sync.Once
	parse func() (*template.Template, error)
	t     *template.Template
	err   error
}

// get parses the page's set on first use.
func (p *lazyPage) get() (*template.Template, error) {
	p.once.Do(func() { p.t, p.err = p.parse() })
	return p.t, p.err
}

// MustParsePages lists every templates/*.html of fsys, each to be parsed
// with the layout and partials of this package and funcs on first use.
func MustParsePages(fsys fs.FS, funcs template.FuncMap) Pages {
	files, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := Pages{}
	for _, f := range files {
		name := path.Base(f)
		if name == "base.html" || strings.HasPrefix(name, "_") {
			continue // the layout and partials, parsed into every page
		}
		out[strings.TrimSuffix(name, ".html")] = &lazyPage{parse: func() (*template.Template, error) {
			t, err := template.New("base.html").Funcs(templateFuncs).Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/_*.html")
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", f, err)
			}
			if t, err = t.ParseFS(fsys, f); err != nil {
				return nil, fmt.Errorf("page %s: %w", f, err)
			}
			return t, nil
		}}
	}
	return out
}

// Check parses every page, returning the first error.
func (p Pages) Check() error {
	for _, lp := range p {
		if _, err := lp.get(); err != nil {
			return err
		}
	}
	return nil
}

// ownPages are the pages of this package: the error page.
var ownPages = MustParsePages(templateFS, nil)

// Renderer renders pages and answers the errors every page shares. Its
// services are the ones a page needs whatever its half: the organization's
// name and the signed-in session.
type Renderer struct {
	Accounts *account.Service
	Sessions *session.Service
	Log      *slog.Logger
	Now      func() time.Time
	// ProductName is shown where no organization name applies (config
	// product_name; empty: config.Default's).
	ProductName string
}

// Time is the injected clock's now, or the wall clock.
func (h *Renderer) Time() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Logger is the injected logger, or one that discards.
func (h *Renderer) Logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Product is the product's name as pages show it.
func (h *Renderer) Product() string {
	if h.ProductName != "" {
		return h.ProductName
	}
	return config.Default().ProductName
}

// OrgName names the organization a page belongs to: acct's when known,
// otherwise the only organization if there is exactly one, otherwise the
// product. Failures fall back quietly: a name is never worth an error page.
func (h *Renderer) OrgName(ctx context.Context, acct *storage.Account) string {
	if acct != nil {
		return h.OrgNameOf(ctx, acct.OrgID)
	}
	return h.OrgNameOf(ctx, "")
}

// OrgNameOf names organization orgID, falling back as OrgName does when
// it is "" or cannot be read.
func (h *Renderer) OrgNameOf(ctx context.Context, orgID string) string {
	if h.Accounts == nil {
		return h.Product() // a renderer for pages that name no organization
	}
	if orgID != "" {
		if o, err := h.Accounts.GetOrganization(ctx, orgID); err == nil && o.Name != "" {
			return o.Name
		}
	}
	if o, err := h.Accounts.SoleOrganization(ctx); err == nil && o.Name != "" {
		return o.Name
	}
	return h.Product()
}

// Render writes page of pages with status. The page is rendered into a
// buffer first, so a template failure becomes a clean 500 instead of half
// a page.
func (h *Renderer) Render(w http.ResponseWriter, r *http.Request, pages Pages, status int, page string, v *View) {
	lp, ok := pages[page]
	if !ok {
		panic("web: no template " + page)
	}
	t, err := lp.get()
	if err != nil {
		panic("web: " + err.Error()) // a broken template: Pages.Check fails the tests
	}
	v.Product = h.Product()
	if v.Org == "" {
		v.Org = v.Product
	}
	v.CSRF = httpserver.CSRFToken(r)
	if v.Focus == "" {
		v.Focus = FirstError(v.Errors, focusOrder...)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		h.Logger().ErrorContext(r.Context(), "web: render page", "page", page, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Something went wrong on our side. Request ID: " + reqctx.From(r.Context()).RequestID + "\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// focusOrder is the order fields appear in on every form, so the first one
// in error gets the focus.
var focusOrder = []string{"org_name", "display_name", "email", "current_password", "password", "new_password", "confirm"}

// ErrorPage renders a friendly error page: the status in words and message,
// or a default sentence for the status; a 500 also shows the request ID to
// give the admin. It never shows internals. It plugs into
// httpserver.Options.ErrorPage.
func (h *Renderer) ErrorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	heading, def := statusWords(status)
	if message == "" {
		message = def
	}
	v := &View{Title: heading, Heading: heading, Message: message, Status: status, LinkHref: "/", LinkText: "Go to the start page"}
	if status == http.StatusForbidden && r.Method == http.MethodPost {
		// A refused form (its token went stale in a long-open tab): lead
		// back to the page it was on, not to a dead end.
		if p := FormPage(r); p != "" {
			v.LinkHref, v.LinkText = p, "Reload the page"
		}
	}
	if status >= 500 {
		// The database may be what failed: do not ask it for a name.
		v.RequestID = reqctx.From(r.Context()).RequestID
	} else {
		v.Org = h.OrgName(r.Context(), nil)
	}
	h.Render(w, r, ownPages, status, "error", v)
}

// Problem is an error page in an edge's own words: why a person's
// request cannot go on and what to do, in plain sentences, never internals.
type Problem struct {
	Status           int
	Heading, Message string
	// OrgID is the organization the request was about (an app's), whose
	// name heads the page; "" for the deployment's.
	OrgID string
	// LinkHref and LinkText are the way on; default the start page.
	LinkHref, LinkText string
}

// ShowProblem renders p on the error page. A 5xx is ErrorPage's, with
// the request ID and its own words: what failed on our side is nothing
// the page can explain.
func (h *Renderer) ShowProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status < 400 {
		p.Status = http.StatusInternalServerError // a caller's slip still fails closed
	}
	if p.Status >= 500 {
		h.ErrorPage(w, r, p.Status, "")
		return
	}
	heading, def := statusWords(p.Status)
	if p.Heading != "" {
		heading = p.Heading
	}
	if p.Message != "" {
		def = p.Message
	}
	v := &View{Title: heading, Heading: heading, Message: def, Status: p.Status,
		LinkHref: "/", LinkText: "Go to the start page", Org: h.OrgNameOf(r.Context(), p.OrgID)}
	if p.LinkHref != "" {
		v.LinkHref, v.LinkText = p.LinkHref, p.LinkText
	}
	w.Header().Set("Cache-Control", "no-store")
	h.Render(w, r, ownPages, p.Status, "error", v)
}

func statusWords(status int) (heading, message string) {
	switch status {
	case http.StatusBadRequest:
		return "We couldn't read that request", "Something in the form wasn't right. Go back, check it and try again."
	case http.StatusUnauthorized:
		return "Please sign in", "Sign in to continue."
	case http.StatusForbidden:
		return "That isn't allowed", "You don't have access to this. Go back, reload the page and try again."
	case http.StatusNotFound:
		return "We couldn't find that page", "The address may be mistyped, or the page may have moved."
	case http.StatusMethodNotAllowed:
		return "That isn't possible here", "This page can't do that. Go back and use the buttons on the page."
	case http.StatusRequestEntityTooLarge:
		return "That was more than we accept", "The form you sent was too large. Shorten what you typed and try again."
	case http.StatusTooManyRequests:
		return "Too many attempts", "Wait a little and try again."
	case http.StatusServiceUnavailable:
		return "We're not available right now", "Try again in a minute."
	}
	if status >= 500 {
		return "Something went wrong on our side", "Try again. If it keeps happening, give your admin the request ID below."
	}
	return http.StatusText(status), "Go back and try again."
}

// --- static files ---

// assetVersions holds a short content hash per static file, so pages link
// to /static/style.css?v=<hash> and browsers can cache files for a year
// while still getting a new one after an upgrade.
var assetVersions = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

func assetURL(name string) string {
	v, ok := assetVersions[name]
	if !ok {
		panic("web: unknown static asset " + name)
	}
	return "/static/" + name + "?v=" + v
}

// StaticHandler serves the embedded files under /static/; directories are
// not listed.
func (h *Renderer) StaticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if _, ok := assetVersions[name]; !ok {
			// Unknown names and directories get the 404 page, not a listing.
			w.Header().Set("Cache-Control", "no-store")
			h.ErrorPage(w, r, http.StatusNotFound, "")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}

// FirstError is the first field of order that has an error in errs, or "".
func FirstError(errs map[string]string, order ...string) string {
	for _, f := range order {
		if errs[f] != "" {
			return f
		}
	}
	return ""
}

// RoleWords names each role as pages show it.
var RoleWords = map[storage.Role]string{
	storage.RoleOwner:  "Owner",
	storage.RoleAdmin:  "Admin",
	storage.RoleMember: "Member",
}
