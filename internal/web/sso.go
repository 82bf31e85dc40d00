package web

import (
	"context"
	"errors"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The SAML pages:
//
//	GET  /saml/{slug}/login       start a sign-in through the connection (?return_to=…; ?test=1 for an admin's test)
//	POST /saml/{slug}/acs         the IdP posts its Response here (HTTP-POST binding)
//	GET  /saml/{slug}/acs         a page explaining that the address only receives responses
//	GET  /saml/{slug}/metadata    Gatehouse's SP metadata for the connection
//
// The browser-binding cookie. Begin returns a secret that only this
// browser may present with the Response, so a Response obtained in another
// browser (login CSRF, a leaked response) is refused. The cookie is:
//
//   - "__Host-gatehouse_saml", Secure, SameSite=None when Gatehouse runs on
//     https: the IdP's POST back is cross-site, and browsers do not send
//     SameSite=Lax cookies on cross-site POSTs.
//   - "gatehouse_saml", SameSite=Lax on plain-http development set-ups:
//     browsers refuse SameSite=None without Secure, and the development IdP
//     runs on the same host (another port is the same site), so Lax
//     cookies come along. An IdP on another site cannot be used over
//     plain http.
//   - HttpOnly, Path=/, Max-Age 10 minutes (the life of an AuthnRequest).
//
// Parallel tabs: the cookie holds one secret for the browser, not one per
// request. A sign-in started while the cookie is present reuses its secret
// (sso.BeginInBrowser), so sign-ins started in several tabs all complete.
// For the same reason a successful sign-in leaves the cookie to expire
// instead of deleting it: deleting it would strand the other tabs'
// pending sign-ins. The secret alone grants nothing; it only matches
// requests this browser started, and each is usable once.
const (
	bindingCookieSecure = "__Host-gatehouse_saml"
	bindingCookieDev    = "gatehouse_saml"
	bindingCookieMaxAge = 10 * time.Minute

	// maxACSBody bounds the ACS form post. The service limits the
	// SAMLResponse value itself (saml.DefaultMaxBodyBytes).
	maxACSBody = 256 << 10
)

// testResult is what the admin's test sign-in page shows.
type testResult struct {
	Connection string
	Slug       string // the connection's console page is /admin/sso/{Slug}
	Email      string
	Name       string
	Subject    string
	Groups     []string
	HasGroups  bool
	Exists     bool // Gatehouse has an account with the email
	JIT        bool // a real sign-in would create one
	AuthnAt    time.Time
	AuthnAtStr string
	Warnings   []string
}

// Per-address limits. Starting a sign-in stores an AuthnRequest, and every
// rejected response writes an audit event, so an anonymous client must not
// be able to do either without bound. The budgets are generous because a
// whole office may share one address at nine in the morning.
var (
	ssoBeginLimit  = ratelimit.Rule{Name: "sso_begin", Max: 600, Window: 5 * time.Minute}
	acsRejectLimit = ratelimit.Rule{Name: "sso_rejected", Max: 50, Window: 15 * time.Minute}
)

// mayBeginSSO counts a sign-in started through an IdP against the client
// address's budget, and answers the request itself (429) when it is spent.
func (h *Handler) mayBeginSSO(w http.ResponseWriter, r *http.Request) bool {
	ok, wait, err := h.Limiter.Allow(r.Context(), ssoBeginLimit, httpserver.ClientIP(r))
	switch {
	case err != nil:
		h.serverError(w, r, "rate limit", err)
	case !ok:
		h.tooMany(w, r, wait)
	}
	return err == nil && ok
}

// tooMany answers a rate-limited request with 429 and Retry-After.
func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	h.Metrics.SignIn("sso", "throttled")
	retryAfter(w, wait)
	h.ErrorPage(w, r, http.StatusTooManyRequests, "Too many single sign-on attempts from your network. Wait a few minutes and try again.")
}

func (h *Handler) registerSAML(mux *http.ServeMux) {
	if h.SSO == nil {
		return
	}
	mux.HandleFunc("GET /saml/{slug}/login", h.samlLogin)
	mux.HandleFunc("POST /saml/{slug}/test", h.samlTest)
	mux.HandleFunc("POST /saml/{slug}/acs", h.samlACS)
	mux.HandleFunc("GET /saml/{slug}/acs", h.samlACSGet)
	if h.IdPs != nil {
		mux.HandleFunc("GET /saml/{slug}/metadata", h.samlMetadata)
	}
}

// --- the binding cookie ---

func (h *Handler) bindingCookieName() string {
	if h.Secure {
		return bindingCookieSecure
	}
	return bindingCookieDev
}

// bindingSecret is the secret this browser was given by an earlier Begin,
// or "".
func (h *Handler) bindingSecret(r *http.Request) string {
	c, err := r.Cookie(h.bindingCookieName())
	if err != nil || len(c.Value) > 128 {
		return ""
	}
	return c.Value
}

func (h *Handler) setBindingCookie(w http.ResponseWriter, secret string) {
	c := &http.Cookie{
		Name:     h.bindingCookieName(),
		Value:    secret,
		Path:     "/",
		MaxAge:   int(bindingCookieMaxAge / time.Second),
		HttpOnly: true,
		Secure:   h.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	if h.Secure {
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// --- starting a sign-in ---

func (h *Handler) samlLogin(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if r.URL.Query().Get("test") == "1" {
		// Test sign-ins start from the console's form (a POST that carries
		// the CSRF token), never from a link another site could plant.
		http.Redirect(w, r, "/admin/sso/"+url.PathEscape(slug), http.StatusSeeOther)
		return
	}
	returnTo := h.returnTo(r, r.URL.Query().Get("return_to"))
	ctx := r.Context()
	if !h.mayBeginSSO(w, r) {
		return
	}
	redirect, secret, err := h.SSO.BeginInBrowser(ctx, slug, returnTo, false, h.bindingSecret(r))
	switch {
	case errors.Is(err, sso.ErrUnknownConnection):
		h.noConnection(w, r)
		return
	case err != nil:
		h.serverError(w, r, "begin SAML sign-in", err)
		return
	}
	h.setBindingCookie(w, secret)
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// samlTest starts an admin's test sign-in through the connection: a POST
// from the console (so the CSRF check covers it). The browser goes on to
// the IdP by a page that refreshes itself, because Chrome applies the
// console form's CSP form-action 'self' to every redirect after a form
// submission.
func (h *Handler) samlTest(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	admin, ok := h.mayTest(w, r, slug)
	if !ok {
		return
	}
	// The service checks the tester again, by the actor, and records who
	// ran the test.
	ctx := reqctx.WithActor(r.Context(), "account", admin.ID, admin.Email)
	if !h.mayBeginSSO(w, r) {
		return
	}
	redirect, secret, err := h.SSO.BeginInBrowser(ctx, slug, "", true, h.bindingSecret(r))
	switch {
	case errors.Is(err, sso.ErrUnknownConnection):
		h.noConnection(w, r)
		return
	case errors.Is(err, sso.ErrTestNotAllowed):
		h.ErrorPage(w, r, http.StatusForbidden, err.Error())
		return
	case err != nil:
		h.serverError(w, r, "begin SAML test sign-in", err)
		return
	}
	h.setBindingCookie(w, secret)
	h.render(w, r, http.StatusOK, "sso_redirect", &view{
		Title:   "Continue to single sign-on",
		Org:     h.orgName(ctx, &admin),
		Heading: "Test sign-in",
		Refresh: redirect,
		SSOHref: redirect,
		SSOName: "your identity provider",
	})
}

// mayTest lets a test sign-in start only for a signed-in admin of the
// organization that owns the connection, and returns that admin; it
// answers the request itself otherwise. A connection of another
// organization is not found, as for anyone else.
func (h *Handler) mayTest(w http.ResponseWriter, r *http.Request, slug string) (storage.Account, bool) {
	v, ok, err := h.current(w, r)
	if err != nil {
		h.serverError(w, r, "validate session", err)
		return storage.Account{}, false
	}
	if !ok {
		// Back to the connection's console page, where the test starts.
		http.Redirect(w, r, page.LoginPath("/admin/sso/"+url.PathEscape(slug)), http.StatusSeeOther)
		return storage.Account{}, false
	}
	if h.IdPs == nil {
		h.ErrorPage(w, r, http.StatusForbidden, "Test sign-ins are not available on this server.")
		return storage.Account{}, false
	}
	if _, err := h.IdPs.GetBySlug(r.Context(), v.Account.OrgID, slug); errors.Is(err, account.ErrNotFound) {
		h.noConnection(w, r)
		return storage.Account{}, false
	} else if err != nil {
		h.serverError(w, r, "look up IdP connection", err)
		return storage.Account{}, false
	}
	if !v.Account.Role.IsAdmin() {
		h.ErrorPage(w, r, http.StatusForbidden, "Only admins of the organization can run a test sign-in through its SSO connection.")
		return storage.Account{}, false
	}
	return v.Account, true
}

func (h *Handler) noConnection(w http.ResponseWriter, r *http.Request) {
	h.ErrorPage(w, r, http.StatusNotFound, "There is no single sign-on at this address. Check the link, or start again from the sign-in page.")
}

// --- the Assertion Consumer Service ---

func (h *Handler) samlACS(w http.ResponseWriter, r *http.Request) {
	// The middleware leaves this route's body unlimited (and exempt from
	// the CSRF check: the IdP's post is cross-site by design, and the
	// signed response bound to this browser is what protects it).
	httpserver.LimitBody(w, r, maxACSBody)
	if err := httpserver.ParseForm(r); err != nil {
		h.Metrics.SignIn("sso", "failure")
		if errors.Is(err, httpserver.ErrBodyTooLarge) {
			h.ErrorPage(w, r, http.StatusRequestEntityTooLarge,
				"The response from your organization's sign-in service was larger than "+h.product()+" accepts. Try again; if it keeps happening, tell your admin.")
			return
		}
		h.ErrorPage(w, r, http.StatusBadRequest, "The response from your organization's sign-in service could not be read. Start again from the sign-in page.")
		return
	}
	slug := r.PathValue("slug")
	ip := httpserver.ClientIP(r)
	if over, wait, err := h.Limiter.Exceeded(r.Context(), acsRejectLimit, ip); err != nil {
		h.serverError(w, r, "rate limit", err)
		return
	} else if over {
		// Refused before validation: no audit event per attempt.
		h.tooMany(w, r, wait)
		return
	}
	out, err := h.SignIn.CompleteSSO(r.Context(), h.client(r), signin.SSOResponse{
		Slug: slug, SAMLResponse: r.PostForm.Get("SAMLResponse"), RelayState: r.PostForm.Get("RelayState"),
		Binding: h.bindingSecret(r),
	})
	var rej *sso.Rejection
	var fe *signin.FlowError
	switch {
	case errors.As(err, &rej):
		if err := h.Limiter.Count(r.Context(), acsRejectLimit, ip); err != nil {
			h.log().WarnContext(r.Context(), "count rejected SAML response", "err", err)
		}
		h.ssoRejected(w, r, slug, rej, h.bindingSecret(r) == "")
		return
	case errors.As(err, &fe):
		h.startAgain(w, r, "", "")
		return
	case err != nil:
		h.serverError(w, r, "complete SAML sign-in", err)
		return
	}
	if out.Test != nil {
		// An admin's test: show what came through and start no session,
		// so testing with another IdP user does not sign the admin out.
		h.renderTestResult(w, r, *out.Test)
		return
	}
	h.signedIn(w, r, out)
}

// samlACSGet answers a browser that opens the ACS address itself (a
// bookmark, a reload after the post).
func (h *Handler) samlACSGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "POST")
	h.render(w, r, http.StatusMethodNotAllowed, "message", &view{
		Title:    "Start again",
		Org:      h.slugOrgName(r.Context(), r.PathValue("slug")),
		Heading:  "Start again from the sign-in page",
		Message:  "This address only receives answers from your organization's sign-in service. Opening it yourself does not sign you in.",
		LinkHref: "/login", LinkText: "Go to sign in",
	})
}

// shownReasons are the rejection reasons the page may name. The rest are
// shown as "response_not_verified": they can be decided on the decrypted
// content of an encrypted assertion before its signature is checked, and
// telling them apart would hand an attacker a decryption oracle (Jager and
// Somorovsky's attack on XML Encryption with AES-CBC, which Entra ID uses).
// Logs and the audit log keep the real reason under the same code.
var shownReasons = map[string]bool{
	saml.ReasonTooLarge: true, saml.ReasonStatusNotSuccess: true, saml.ReasonCertificateExpired: true,
	saml.ReasonIssuerMismatch: true, saml.ReasonAudienceMismatch: true, saml.ReasonDestinationMismatch: true,
	saml.ReasonRecipientMismatch: true, saml.ReasonNotYetValid: true, saml.ReasonExpired: true,
	saml.ReasonInResponseToMismatch: true, saml.ReasonUnsolicitedNotAllowed: true, saml.ReasonMissingSubject: true,
	sso.ReasonUnknownConnection: true, sso.ReasonRequestReused: true, sso.ReasonRequestExpired: true,
	sso.ReasonReplayed: true, sso.ReasonIdentityUnusable: true, sso.ReasonEmailDomainNotVerified: true,
	sso.ReasonCrossOrganization: true, sso.ReasonEmailConflict: true, sso.ReasonAccountNotProvisioned: true,
	sso.ReasonAccountSuspended: true, sso.ReasonConnectionMisconfigured: true, sso.ReasonSSONotAllowed: true,
	sso.ReasonEmailConfusable: true,
}

// reasonNotVerified stands for every reason not in shownReasons.
const reasonNotVerified = "response_not_verified"

// publicReason is the reason the rejection page shows for reason.
func publicReason(reason string) string {
	if shownReasons[reason] {
		return reason
	}
	return reasonNotVerified
}

// ssoRejected shows the page for a response Complete refused: the reason
// (see publicReason) and the code the person can send their admin, who
// finds the details under it in the log and the audit log. Never the
// Detail: it quotes what the sender wrote.
//
// noBinding: the browser sent no binding cookie with the response. A
// request Gatehouse cannot match then most likely started in this very
// browser, which dropped the cookie (an IdP on another site over plain
// http): the page says so, since "in_response_to_mismatch" alone left a
// newcomer guessing. Only the browser's own cookie decides it.
func (h *Handler) ssoRejected(w http.ResponseWriter, r *http.Request, slug string, rej *sso.Rejection, noBinding bool) {
	status := http.StatusBadRequest
	switch rej.Reason {
	case sso.ReasonUnknownConnection:
		status = http.StatusNotFound
	case sso.ReasonEmailDomainNotVerified, sso.ReasonCrossOrganization, sso.ReasonEmailConflict,
		sso.ReasonAccountNotProvisioned, sso.ReasonAccountSuspended, sso.ReasonSSONotAllowed, sso.ReasonEmailConfusable:
		status = http.StatusForbidden
	}
	v := &view{
		Title:  "Sign-in failed",
		Org:    h.slugOrgName(r.Context(), slug),
		Status: status,
		Reason: publicReason(rej.Reason),
		Code:   rej.Code,
	}
	if noBinding && rej.Reason == saml.ReasonInResponseToMismatch {
		v.Message = "Your browser did not send back the cookie set when this sign-in started. Start again from the sign-in page in the same browser. If it keeps happening on a plain http:// address, Gatehouse and the sign-in service must be on the same site (for example both on localhost)."
	}
	h.render(w, r, status, "sso_rejected", v)
}

// slugOrgName names the organization owning the connection slug (public,
// like its metadata), or the fallback every sign-in page uses.
func (h *Handler) slugOrgName(ctx context.Context, slug string) string {
	if h.IdPs != nil {
		if c, err := h.IdPs.GetBySlugAnyOrg(ctx, slug); err == nil {
			if o, err := h.Accounts.GetOrganization(ctx, c.OrgID); err == nil && o.Name != "" {
				return o.Name
			}
		}
	}
	return h.orgName(ctx, nil)
}

func (h *Handler) renderTestResult(w http.ResponseWriter, r *http.Request, res sso.Result) {
	ctx := r.Context()
	acct := res.Account
	tr := &testResult{
		Email: acct.Email, Name: acct.DisplayName, Subject: res.Subject, Groups: res.Groups, HasGroups: true,
		Exists: acct.ID != "", JIT: res.JIT, Warnings: res.Warnings,
		AuthnAt: res.AuthnInstant.UTC(), AuthnAtStr: res.AuthnInstant.UTC().Format("2 Jan 2006, 15:04:05 UTC"),
		Connection: "your SSO connection",
	}
	if h.IdPs != nil {
		if c, err := h.IdPs.Get(ctx, acct.OrgID, res.ConnectionID); err == nil {
			tr.Connection, tr.Slug = c.Name, c.Slug
		}
	}
	// No User: the page is the answer to the IdP's cross-site post, whose
	// request carries no CSRF token for a sign-out form.
	h.render(w, r, http.StatusOK, "sso_test", &view{
		Title: "Test sign-in succeeded",
		Org:   h.orgName(ctx, &res.Tester),
		Test:  tr,
		Wide:  true,
	})
}

// --- SP metadata ---

func (h *Handler) samlMetadata(w http.ResponseWriter, r *http.Request) {
	doc, err := h.IdPs.SPMetadataBySlug(r.Context(), r.PathValue("slug"))
	if errors.Is(err, account.ErrNotFound) {
		h.noConnection(w, r)
		return
	}
	if err != nil {
		h.serverError(w, r, "SP metadata", err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(doc)
	}
}
