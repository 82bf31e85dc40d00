// Package console serves the admin console under /admin: the overview,
// email domains, IdP connections, authentication policies, members and
// the audit log of the signed-in admin's own organization. Its pages are
// rendered by internal/web/page, like the sign-in pages of internal/web,
// which it does not import (nor they it); internal/server mounts both.
package console

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// Handler serves the admin console.
type Handler struct {
	Accounts *account.Service
	Sessions *session.Service
	// Members searches, exports, imports and changes members in bulk for
	// the members page.
	Members *members.Service
	Log     *slog.Logger
	Now     func() time.Time
	// ProductName is shown where no organization name applies (config
	// product_name; empty: config.Default's).
	ProductName string

	// The sections' services: a section whose service is nil is neither
	// mounted nor linked.
	Domains  *domain.Service
	Policies *policy.Service
	IdPs     *idp.Service
	Audit    *audit.Service
	// BreakGlass lists the break-glass admins on the overview (nil: the
	// section is not shown).
	BreakGlass *breakglass.Service
	// OrgRecovery serves /admin/recovery-codes (nil: not mounted).
	OrgRecovery *orgrecovery.Service
	// Emergencies serves the emergency page and the banner every page
	// shows during one, and guards turning SSO enforcement off.
	Emergencies *emergency.Service
	// SSO is set when the /saml/ routes are mounted (internal/web): the
	// connection pages then offer a test sign-in.
	SSO *sso.Service
	// Health, when set, adds the health card to each connection's page.
	Health *health.Service
	// Readiness, when set, adds the emergency sign-in readiness page.
	Readiness *readiness.Service
	// MFA, when set, lets admins reset a member's second factors (their
	// authenticator app, recovery codes and passkeys) from the member page.
	MFA *mfa.Service
	// Apps, when set, serves /admin/apps: the applications people sign in
	// to through Gatehouse.
	Apps *apps.Service
	// Limiter bounds the refusals recorded in the audit log per client
	// address; nil disables the limit.
	Limiter *ratelimit.Limiter

	renderer *page.Renderer // made by Register
}

// Register mounts the console on mux. Missing wiring is an error.
func (h *Handler) Register(mux *http.ServeMux) error {
	var missing []string
	if h.Accounts == nil {
		missing = append(missing, "Accounts")
	}
	if h.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if h.Members == nil {
		missing = append(missing, "Members")
	}
	if len(missing) > 0 {
		return fmt.Errorf("console: missing wiring: %s", strings.Join(missing, ", "))
	}
	h.renderer = h.newRenderer()
	h.registerAdmin(mux)
	return nil
}

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

func (h *Handler) orgName(ctx context.Context, acct *storage.Account) string {
	return h.pg().OrgName(ctx, acct)
}

func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return h.pg().ParseForm(w, r)
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.pg().ServerError(w, r, what, err)
}

// ErrorPage renders the friendly error page (page.Renderer.ErrorPage).
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

// pages are the console's templates.
var pages = page.MustParsePages(templateFS, template.FuncMap{
	// nameIDFormats lists the NameID format choices of the connection form.
	"nameIDFormats": func() []struct{ Value, Label string } { return nameIDFormats },
})
