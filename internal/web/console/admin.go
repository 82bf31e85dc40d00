package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// The admin console, under /admin, for the owners and admins of an
// organization, acting on their own organization only:
//
//	GET  /admin                                   overview
//	GET  /admin/domains, POST /admin/domains      email domains (admin_domains.go)
//	GET  /admin/sso, /admin/sso/new, POST …       IdP connections (admin_sso.go)
//	GET  /admin/policies, POST …                  authentication policies (admin_policies.go)
//	GET  /admin/members, POST …                   people (admin_members.go)
//	GET  /admin/audit, /admin/audit/export        the audit log (admin_audit.go)
//	GET  /admin/audit/{seq}                       one audit event (admin_audit_event.go)
//	GET  /admin/apps, POST …                      registered apps (admin_apps.go)
//
// Like the rest of the package the handlers hold no rules: they read
// forms, call the same services the JSON API and the CLI use, and turn
// their errors into sentences on the page. Every change is a POST behind
// the CSRF check, answered with a redirect (post/redirect/get) on success
// or the same page with the problem on failure. The signed-in admin is
// the actor of every audit event the services write.
//
// Records of another organization are not found (404), exactly like
// records that do not exist: the services look up by (organization, ID).

// adminHandlerFunc is a console handler; adm is the signed-in admin, read
// fresh from storage for this request.
type adminHandlerFunc func(w http.ResponseWriter, r *http.Request, adm storage.Account)

// registerAdmin mounts the console. Sections whose service is missing are
// not mounted (their paths answer 404) and not linked.
func (h *Handler) registerAdmin(mux *http.ServeMux) {
	handle := func(pattern string, fn adminHandlerFunc) { mux.Handle(pattern, h.requireAdmin(fn)) }
	handle("GET /admin", h.adminOverview)
	handle("GET /admin/{$}", h.adminOverview)

	handle("GET /admin/members", h.adminMembers)
	handle("POST /admin/members", h.adminInvite)
	handle("GET /admin/members/export", h.adminMembersExport) // admin_members_list.go
	handle("POST /admin/members/bulk", h.adminMembersBulk)    // admin_members_bulk.go
	handle("POST /admin/members/bulk/apply", h.adminMembersBulkApply)
	handle("GET /admin/members/import", h.adminMembersImportForm) // admin_members_import.go
	handle("POST /admin/members/import", h.adminMembersImportPreview)
	handle("POST /admin/members/import/confirm", h.adminMembersImportConfirm)
	handle("GET /admin/members/{id}", h.adminMember)
	handle("POST /admin/members/{id}/role", h.adminMemberRole)
	handle("POST /admin/members/{id}/status", h.adminMemberStatus)
	handle("POST /admin/members/{id}/revoke-sessions", h.adminMemberRevoke)
	if h.MFA != nil {
		handle("GET /admin/members/{id}/reset-factors", h.adminMemberResetConfirm) // admin_mfareset.go
		handle("POST /admin/members/{id}/reset-factors", h.adminMemberReset)
	}

	if h.Audit != nil {
		handle("GET /admin/audit", h.adminAudit)
		handle("GET /admin/audit/export", h.adminAuditExport)
		handle("GET /admin/audit/{seq}", h.adminAuditEvent) // admin_audit_event.go
	}
	if h.Domains != nil {
		handle("GET /admin/domains", h.adminDomains)
		handle("POST /admin/domains", h.adminDomainAdd)
		handle("GET /admin/domains/{id}", h.adminDomain)
		handle("POST /admin/domains/{id}/verify", h.adminDomainVerify)
		handle("GET /admin/domains/{id}/remove", h.adminDomainRemoveConfirm)
		handle("POST /admin/domains/{id}/remove", h.adminDomainRemove)
	}
	if h.IdPs != nil {
		handle("GET /admin/sso", h.adminConnections)
		handle("POST /admin/sso", h.adminConnectionCreate)
		handle("GET /admin/sso/new", h.adminConnectionNew)
		handle("GET /admin/sso/{ref}", h.adminConnection)
		handle("POST /admin/sso/{ref}/settings", h.adminConnectionUpdate)
		handle("POST /admin/sso/{ref}/certificates", h.adminCertificateAdd)
		handle("POST /admin/sso/{ref}/certificates/remove", h.adminCertificateRemove)
		handle("POST /admin/sso/{ref}/refresh", h.adminConnectionRefresh)
		handle("GET /admin/sso/{ref}/remove", h.adminConnectionRemoveConfirm)
		handle("POST /admin/sso/{ref}/remove", h.adminConnectionRemove)
	}
	if h.OrgRecovery != nil {
		handle("GET /admin/recovery-codes", h.adminRecovery)
		handle("POST /admin/recovery-codes", h.adminRecoveryGenerate)
	}
	if h.Emergencies != nil {
		handle("GET /admin/emergency", h.adminEmergency)
		handle("POST /admin/emergency", h.adminEmergencyStart)
		handle("POST /admin/emergency/{id}/extend", h.adminEmergencyExtend)
		handle("POST /admin/emergency/{id}/end", h.adminEmergencyEnd)
		handle("POST /admin/emergency/{id}/sign-out", h.adminEmergencySignOut)
	}
	if h.Policies != nil {
		handle("GET /admin/policies", h.adminPolicies)
		handle("POST /admin/policies", h.adminPolicyCreate)
		handle("POST /admin/policies/{ref}", h.adminPolicyUpdate)
		handle("POST /admin/policies/{ref}/settings", h.adminPolicySettings)
		handle("POST /admin/policies/{ref}/members", h.adminPolicyMemberAdd)
		handle("POST /admin/policies/{ref}/members/remove", h.adminPolicyMemberRemove)
		handle("GET /admin/policies/{ref}/delete", h.adminPolicyDeleteConfirm)
		handle("POST /admin/policies/{ref}/delete", h.adminPolicyDelete)
		h.registerPolicyCoverage(handle) // admin_policy_coverage.go
	}
	h.registerReadiness(handle) // admin_readiness.go
	h.registerApps(handle)      // admin_apps.go
	h.registerTokens(handle)    // admin_tokens.go
	h.registerMember(handle)    // admin_member_actions.go
}

// requireAdmin lets through signed-in owners and admins only. The account
// is read again from storage rather than trusted from the session cache,
// so an admin who was just demoted or suspended loses the console at once
// instead of up to the cache's lifetime later. Anonymous requests go to
// the sign-in page (RequireSession); members get 403.
func (h *Handler) requireAdmin(fn adminHandlerFunc) http.Handler {
	return h.pg().RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := page.CurrentSession(r)
		adm, err := h.Accounts.GetMember(r.Context(), v.Account.OrgID, v.Account.ID)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			h.serverError(w, r, "read the signed-in admin", err)
			return
		}
		if err != nil || !adm.Role.IsAdmin() || adm.Status != storage.StatusActive {
			denied := r.WithContext(reqctx.WithActor(r.Context(), "account", v.Account.ID, v.Account.Email))
			h.ErrorPage(w, denied, http.StatusForbidden, adminOnly)
			h.deniedAudit().Record(denied, v.Account.OrgID, "not_admin")
			return
		}
		ctx := reqctx.WithActor(r.Context(), "account", adm.ID, adm.Email)
		// What the console refuses an admin (what only owners may do) is
		// audited here, once, whichever page refused it.
		h.deniedAudit().Watch(w, r.WithContext(ctx), adm.OrgID, "forbidden", func(w http.ResponseWriter, r *http.Request) {
			fn(w, r, adm)
		})
	}))
}

// deniedAudit records the console's refusals (see httpserver.DeniedAudit).
func (h *Handler) deniedAudit() httpserver.DeniedAudit {
	return httpserver.DeniedAudit{Audit: h.Audit, Limiter: h.Limiter, Log: h.log(), Now: h.Now}
}

const adminOnly = "Only your organization's owners and admins can open the admin console."

// adminView is what every console page shows besides its own content: the
// section the navigation marks as current and which sections exist.
type adminView struct {
	Section     string // overview, domains, sso, policies, members, audit
	HasDomains  bool
	HasSSO      bool
	HasPolicies bool
	HasAudit    bool
	// HasEmergency: the emergency page is mounted; ActiveEmergency is the
	// banner every page shows while one is in force.
	HasEmergency    bool
	ActiveEmergency *emergencyBanner
	CanTest         bool // /saml/{slug}/login?test=1 is mounted
	// HasReadiness: the emergency sign-in readiness page is mounted.
	HasReadiness bool
	// HasApps: the apps pages are mounted.
	HasApps bool

	Overview    *overviewView
	Domains     []domainRow
	Domain      *domainRow
	NewDomain   string // the add form's value after an error
	Connections []connRow
	Conn        *connDetail
	ConnForm    *connForm
	Policies    []*policyCard
	NewPolicy   *policyForm
	ConnOptions []connOption
	Members     []memberRow
	MemberList  *memberListView // the members page (admin_members_list.go)
	Bulk        *bulkView       // bulk confirmation and results (admin_members_bulk.go)
	Import      *importView     // CSV import (admin_members_import.go)
	Member      *memberRow
	Invite      *inviteForm
	Audit       *auditView
	Confirm     *confirmView
	Lockout     *lockoutView
	Recovery    *recoveryView
	HasRecovery bool // organization recovery codes are offered
	Emergency   *emergencyView
	Exposure    *exposureView
	Readiness   *readinessView
	Remind      *remindView
	Apps        []appRow
	App         *appDetail
	AppForm     *appForm
	Tokens      *tokensView

	MemberPage    *memberPageView    // a member's page (admin_member.go)
	MemberConfirm *memberConfirmView // its confirmation pages

	// PolicyPeople is the page of whom a policy covers.
	PolicyPeople *policyPeopleView
}

// confirmView is the "are you sure?" page of a removal.
type confirmView struct {
	Heading string
	Message string
	Detail  string // shown as <code>, e.g. the domain name
	Action  string // where the form posts
	Button  string
	Cancel  string // where "Cancel" goes
	Fields  map[string]string
}

// adminPage fills in the parts of v every console page has and renders it.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, status int, page string, adm storage.Account, v *view) {
	a, _ := v.Admin.(*adminView)
	if a == nil {
		a = &adminView{}
		v.Admin = a
	}
	a.HasDomains, a.HasSSO, a.HasPolicies, a.HasAudit = h.Domains != nil, h.IdPs != nil, h.Policies != nil, h.Audit != nil
	a.CanTest = h.SSO != nil
	a.HasRecovery = h.OrgRecovery != nil
	a.HasEmergency = h.Emergencies != nil
	a.ActiveEmergency = h.activeEmergencyBanner(r, adm)
	a.HasReadiness = h.Readiness != nil
	a.HasApps = h.Apps != nil
	v.User = &adm
	v.Org = h.orgName(r.Context(), &adm)
	if v.Notice == "" {
		v.Notice = adminNotices[r.URL.Query().Get("notice")]
	}
	h.render(w, r, status, page, v)
}

// adminNotices are the fixed success messages a console redirect can ask
// for with ?notice=…; only these keys exist, so the query cannot inject
// text.
var adminNotices = map[string]string{
	"welcome":                   "Welcome! Your organization is ready, and you're signed in as its owner. Next: add your email domain, connect your identity provider, then test it before you enforce single sign-on.",
	"app-updated":               "Settings saved.",
	"app-removed":               "The app was removed. Its client ID and tokens no longer work.",
	"domain-added":              "Domain added. Publish the TXT record below, then verify it.",
	"domain-verified":           "The domain is verified. Accounts with this email domain are now managed by your organization.",
	"domain-removed":            "The domain was removed. Its accounts are no longer managed by your organization.",
	"conn-created":              "Connection added. Give your IdP the values below, then run a test sign-in.",
	"conn-updated":              "Settings saved.",
	"conn-unchanged":            "Nothing changed.",
	"conn-voided":               "Settings saved. The change can affect sign-in, so the connection needs a new test sign-in before SSO can be enforced through it.",
	"conn-removed":              "The connection was removed.",
	"cert-added":                "Certificate added. Both the old and the new certificate are trusted until you remove one.",
	"cert-removed":              "Certificate removed.",
	"metadata-refreshed":        "Metadata refreshed from the IdP.",
	"policy-created":            "Policy created.",
	"policy-updated":            "Policy saved.",
	"emergency-started":         "Emergency mode has started. Every owner and admin has been mailed.",
	"emergency-extended":        "Emergency mode has been extended.",
	"emergency-sign-out-at-end": "Saved: when emergency mode ends, everyone who signed in during it will be signed out.",
	"emergency-keep-at-end":     "Saved: when emergency mode ends, sessions made during it run to their own expiry.",
	"emergency-ended":           "Emergency mode has ended. Passwords set during it no longer work; sign-in goes through SSO again.",
	"emergency-signed-out":      "Everyone who signed in during the emergency has been signed out.",
	"policy-forced":             "Policy saved. SSO is enforced through a connection that has not been tested; the override is recorded in the audit log.",
	"policy-deleted":            "Policy deleted. Its members now fall under the default policy.",
	"member-added":              "Member added to the policy.",
	"policy-domain-added":       "The policy covers everyone at the domain now, unless a membership or IdP group places them elsewhere.",
	"policy-domain-removed":     "The policy no longer covers the domain; its people fall under the default policy unless another rule places them.",
	"member-removed":            "Member moved back to the default policy.",
	"invited":                   "Member added. An invitation to set a password is on its way to their email.",
	"added":                     "Member added.",
	"imported":                  "The people in the file were added, and invitations are on their way to them.",
	"role-changed":              "Role changed.",
	"suspended":                 "Account suspended. Its sessions were signed out.",
	"reactivated":               "Account reactivated.",
	"sessions-revoked":          "All of their sessions were signed out.",
	"factors-reset":             "Their sign-in methods were reset and they were signed out everywhere. They'll set up new ones at their next sign-in.",
	"token-revoked":             "Token revoked. Calls with it are refused from now on.",
	"reminders-sent":            "Reminders are on their way. People reminded in the last 7 days were skipped; the audit log lists who was mailed.",
}

// failure is a service error as the console shows it.
type failure struct {
	Status  int
	Message string
	Field   string // the form field at fault, "" for the whole form
	// Untested: a policy change was refused because its connection was
	// never tested; the form offers the override.
	Untested bool
}

// notFound answers a console request for a record that is not the
// organization's (or does not exist) with the 404 page.
func (h *Handler) adminNotFound(w http.ResponseWriter, r *http.Request, what string) {
	h.ErrorPage(w, r, http.StatusNotFound, "There is no such "+what+" in your organization. It may have been removed.")
}

// seeOther redirects to path with a notice key.
func seeOther(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		p, frag, _ := strings.Cut(path, "#")
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		path = p + sep + "notice=" + notice
		if frag != "" {
			path += "#" + frag
		}
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// --- the overview ---

// overviewView is what /admin shows.
type overviewView struct {
	OrgName         string
	OrgSlug         string
	Members         int
	Admins          int
	DomainsVerified int
	DomainsPending  int
	Connections     int
	Policies        []overviewPolicy
	Warnings        []connWarning
	Untested        []connRow // connections nobody has test-signed-in through
	// The set-up steps already done: a verified domain, a tested
	// connection, a policy with SSO on.
	DoneDomain, DoneConn, DoneSSO bool
	// WithoutIdP are the active owners and admins who can sign in when
	// the IdP is down (lockout.Evaluate); members never count. Safe: at
	// least one of them is an owner.
	WithoutIdP []lockout.Person
	Safe       bool
	Evaluated  bool // the policies service is there to ask
	// BreakGlass lists the break-glass admins (nil when the service is
	// not wired).
	BreakGlass *breakGlassView
	// Activity is the sign-in chart and the counts that need attention
	// (admin_activity.go).
	Activity *activityView
}

// breakGlassView is the overview's break-glass section.
type breakGlassView struct {
	Admins   []breakglass.Admin
	Warnings []string // in plain words
}

// FewWithoutIdP: fewer than two people could get in without the IdP.
func (o *overviewView) FewWithoutIdP() bool { return len(o.WithoutIdP) < 2 }

type overviewPolicy struct {
	Name       string
	IsDefault  bool
	SSO        string
	Connection string
	Members    int
}

type connWarning struct {
	Connection string
	Href       string
	Text       string
}

func (h *Handler) adminOverview(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	ctx := r.Context()
	org, err := h.Accounts.GetOrganization(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "read organization", err)
		return
	}
	ov := &overviewView{OrgName: org.Name, OrgSlug: org.Slug}
	members, err := h.Accounts.ListMembers(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list members", err)
		return
	}
	ov.Members = len(members)
	for _, m := range members {
		if m.Role.IsAdmin() {
			ov.Admins++
		}
	}
	if h.Domains != nil {
		ds, err := h.Domains.List(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list domains", err)
			return
		}
		for _, d := range ds {
			if d.VerifiedAt.IsZero() {
				ov.DomainsPending++
			} else {
				ov.DomainsVerified++
			}
		}
	}
	names := map[string]string{}
	if h.IdPs != nil {
		cs, err := h.IdPs.List(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list connections", err)
			return
		}
		ov.Connections = len(cs)
		now := h.now()
		for _, c := range cs {
			names[c.ID] = c.Name
			for _, text := range h.IdPs.Warnings(c, now) {
				ov.Warnings = append(ov.Warnings, connWarning{Connection: c.Name, Href: connHref(c), Text: text})
			}
			if c.TestedAt.IsZero() {
				ov.Untested = append(ov.Untested, h.connRow(c, now))
			} else {
				ov.DoneConn = true
			}
		}
	}
	ov.DoneDomain = ov.DomainsVerified > 0
	if h.Policies != nil {
		ps, err := h.Policies.List(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list policies", err)
			return
		}
		hasDefault := false
		for _, p := range ps {
			op := overviewPolicy{Name: p.Name, IsDefault: p.IsDefault, SSO: p.SSO, Connection: names[p.ConnectionID]}
			hasDefault = hasDefault || p.IsDefault
			ov.DoneSSO = ov.DoneSSO || p.SSO != storage.SSOOff
			if !p.IsDefault {
				ids, err := h.Policies.Members(ctx, adm.OrgID, p.ID)
				if err != nil {
					h.serverError(w, r, "list policy members", err)
					return
				}
				op.Members = len(ids)
			}
			ov.Policies = append(ov.Policies, op)
		}
		if !hasDefault {
			// Created (SSO off) the first time it is changed.
			ov.Policies = append([]overviewPolicy{{Name: policy.DefaultName, IsDefault: true, SSO: storage.SSOOff}}, ov.Policies...)
		}
	}
	if h.Policies != nil {
		rep, err := h.Policies.Lockout(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "evaluate sign-in without the IdP", err)
			return
		}
		ov.WithoutIdP, ov.Safe, ov.Evaluated = rep.WithoutIdP, rep.Safe, true
	}
	if h.BreakGlass != nil {
		rep, err := h.BreakGlass.List(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list break-glass admins", err)
			return
		}
		bg := &breakGlassView{Admins: rep.Admins}
		for _, code := range rep.Warnings {
			bg.Warnings = append(bg.Warnings, breakglass.Words(code))
		}
		ov.BreakGlass = bg
	}
	if ov.Activity, err = h.overviewActivity(ctx, adm); err != nil {
		h.serverError(w, r, "read sign-in activity", err)
		return
	}
	h.adminPage(w, r, http.StatusOK, "admin", adm, &view{
		Title: "Admin console",
		Admin: &adminView{Section: "overview", Overview: ov},
	})
}

// --- small helpers shared by the console pages ---

// formatTime shows t as "2 Jan 2026, 15:04 UTC", or "" when zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// isoTime is t for a <time datetime>.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// orgMembers maps the organization's account IDs to accounts.
func (h *Handler) orgMembers(ctx context.Context, orgID string) (map[string]storage.Account, error) {
	ms, err := h.Accounts.ListMembers(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]storage.Account, len(ms))
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, nil
}
