package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// notices are the fixed success messages a redirect can ask for with
// ?notice=…; only these keys exist, so the query cannot inject text.
var notices = map[string]string{
	"signed-out":       "You're signed out.",
	"welcome":          "Welcome! Your organization is ready, and you're signed in as its owner.",
	"password-changed": "Your password was changed. Your other sessions were signed out.",
	"session-revoked":  "That session was signed out.",
	"others-revoked":   "All your other sessions were signed out.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("notice")] }

// --- step 1: the email ---

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	returnTo := SafeReturnTo(r.URL.Query().Get("return_to"))
	if _, ok, err := h.current(w, r); err != nil {
		h.serverError(w, r, "validate session", err)
		return
	} else if ok {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", &view{
		Title:    "Sign in",
		Org:      h.orgName(r.Context(), nil),
		Notice:   notice(r),
		Email:    strings.TrimSpace(r.URL.Query().Get("email")),
		ReturnTo: returnTo,
	})
}

func (h *Handler) loginEmail(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	returnTo := SafeReturnTo(r.PostForm.Get("return_to"))
	email, err := account.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		var inv *account.InvalidInputError
		msg := "Enter an email address like name@example.com."
		if errors.As(err, &inv) {
			msg = inv.Message
		}
		h.render(w, r, http.StatusBadRequest, "login", &view{
			Title:    "Sign in",
			Org:      h.orgName(r.Context(), nil),
			Email:    r.PostForm.Get("email"),
			ReturnTo: returnTo,
			Errors:   map[string]string{"email": msg},
		})
		return
	}
	d, err := h.route(r.Context(), email)
	if err != nil {
		h.serverError(w, r, "route sign-in", err)
		return
	}
	if d.Method == policy.MethodSSO {
		h.renderSSORedirect(w, r, email, d.ConnectionSlug, returnTo)
		return
	}
	h.renderPasswordStep(w, r, http.StatusOK, email, returnTo, "", "", d)
}

// route asks the policy engine how email signs in. Without the policy and
// SSO services every address gets the password step. The engine gives an
// unknown email the same answer as a password account, so whatever the
// pages do with the decision cannot enumerate accounts; an address it
// cannot read gets the password step, whose answer is as uninformative.
func (h *Handler) route(ctx context.Context, email string) (policy.Decision, error) {
	password := policy.Decision{Method: policy.MethodPassword}
	if h.Policies == nil || h.SSO == nil {
		return password, nil
	}
	d, err := h.Policies.Route(ctx, email)
	var invalid *account.InvalidInputError
	switch {
	case errors.As(err, &invalid):
		return password, nil
	case err != nil:
		return policy.Decision{}, err
	}
	if d.ConnectionSlug == "" && d.Method != policy.MethodPassword {
		return password, nil // never a dead end
	}
	return d, nil
}

// renderPasswordStep shows step 2 for email: the password form, and with
// a "choice" decision the button to sign in through SSO above it. The
// organization named is the one that verified email's domain, which is
// the same for known and unknown addresses.
func (h *Handler) renderPasswordStep(w http.ResponseWriter, r *http.Request, status int, email, returnTo, errMsg, wait string, d policy.Decision) {
	org, managed := h.emailOrg(r.Context(), email)
	v := &view{
		Title:    "Sign in",
		Org:      h.emailOrgName(r.Context(), org, managed),
		Email:    email,
		ReturnTo: returnTo,
		Error:    errMsg,
		WaitText: wait,
		Focus:    "password",
	}
	if d.Method == policy.MethodChoice {
		v.SSOHref = ssoLoginPath(d.ConnectionSlug, returnTo)
		v.SSOName = h.ssoLabel(r.Context(), org, managed, d.ConnectionSlug)
		if errMsg == "" {
			v.Focus = "" // the SSO button comes first; nothing is in error
		}
	}
	h.render(w, r, status, "password", v)
}

// renderSSORedirect sends the browser on to /saml/{slug}/login. It is a
// page that refreshes itself rather than a 303: Chrome applies the sign-in
// form's CSP form-action 'self' to every redirect that follows a form
// submission, so a redirect chain from this POST to the IdP's origin would
// be blocked. The refresh is a new navigation (replacing this page in the
// history), and the page keeps a link for browsers that do not refresh.
func (h *Handler) renderSSORedirect(w http.ResponseWriter, r *http.Request, email, slug, returnTo string) {
	target := ssoLoginPath(slug, returnTo)
	org, managed := h.emailOrg(r.Context(), email)
	h.render(w, r, http.StatusOK, "sso_redirect", &view{
		Title:   "Continue to single sign-on",
		Org:     h.emailOrgName(r.Context(), org, managed),
		Email:   email,
		Refresh: target,
		SSOHref: target,
		SSOName: h.ssoLabel(r.Context(), org, managed, slug),
	})
}

// ssoLoginPath is /saml/{slug}/login, with return_to when it is not the
// default.
func ssoLoginPath(slug, returnTo string) string {
	p := "/saml/" + url.PathEscape(slug) + "/login"
	if returnTo != "" && returnTo != defaultReturnTo {
		p += "?return_to=" + url.QueryEscape(returnTo)
	}
	return p
}

// ssoLabel names the SSO button: "Corp Entra SSO", or "your
// organization's SSO" when the connection cannot be named. The connection
// is looked up in org, the organization that verified the email's domain
// (emailOrg; managed is false when none did), which is the only one whose
// policy can send the address there.
func (h *Handler) ssoLabel(ctx context.Context, org storage.Organization, managed bool, slug string) string {
	const fallback = "your organization's SSO"
	if h.IdPs == nil || !managed {
		return fallback
	}
	c, err := h.IdPs.GetBySlug(ctx, org.ID, slug)
	if err != nil || strings.TrimSpace(c.Name) == "" {
		return fallback
	}
	name := strings.TrimSpace(c.Name)
	if !strings.Contains(strings.ToLower(name), "sso") {
		name += " SSO"
	}
	return name
}

// --- step 2: the password ---

func (h *Handler) loginPasswordGet(w http.ResponseWriter, r *http.Request) {
	// A refreshed or bookmarked step 2 starts over at step 1.
	http.Redirect(w, r, loginPath(r.URL.Query().Get("return_to")), http.StatusSeeOther)
}

func (h *Handler) loginPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	returnTo := SafeReturnTo(r.PostForm.Get("return_to"))
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if norm, err := account.NormalizeEmail(email); err == nil {
		email = norm
	}
	if email == "" {
		h.loginPasswordGet(w, r)
		return
	}
	// Where SSO is enforced the password is not an alternative, even for
	// someone who posts it directly: send them to the IdP instead, without
	// looking at what they typed.
	d, err := h.route(r.Context(), email)
	if err != nil {
		h.serverError(w, r, "route sign-in", err)
		return
	}
	if d.Method == policy.MethodSSO {
		h.renderSSORedirect(w, r, email, d.ConnectionSlug, returnTo)
		return
	}
	var device string
	if c, err := r.Cookie(account.DeviceCookieNameFor(h.Secure)); err == nil {
		device = c.Value
	}
	res, err := h.Accounts.Authenticate(r.Context(), account.PasswordAttempt{
		Email: email, Password: r.PostForm.Get("password"), IP: httpserver.ClientIP(r), Device: device,
	})
	acct := res.Account
	var throttled *account.ThrottledError
	var busy *account.BusyError
	var invalid *account.InvalidInputError
	switch {
	case err == nil:
		setDeviceCookie(w, h.Secure, res.Device)
	case errors.As(err, &busy):
		// Every password-hashing slot is taken: nothing was checked or
		// counted, so the person may simply try again.
		h.Metrics.SignIn("password", "busy")
		retryAfter(w, busy.RetryAfter)
		h.renderPasswordStep(w, r, http.StatusServiceUnavailable, email, returnTo,
			"Gatehouse is busy. Wait a moment, then try again.", "", d)
		return
	case errors.As(err, &throttled):
		h.Metrics.SignIn("password", "throttled")
		retryAfter(w, throttled.RetryAfter)
		wait := waitText(throttled.RetryAfter)
		h.renderPasswordStep(w, r, http.StatusTooManyRequests, email, returnTo,
			"Too many sign-in attempts. Wait "+wait+", then try again.", wait, d)
		return
	case errors.Is(err, account.ErrBadCredentials), errors.As(err, &invalid):
		// Unknown email, wrong password, no password set, suspended: one
		// answer, so the page says nothing about which.
		h.Metrics.SignIn("password", "failure")
		h.renderPasswordStep(w, r, http.StatusUnauthorized, email, returnTo, account.ErrBadCredentials.Error(), "", d)
		return
	default:
		h.serverError(w, r, "authenticate", err)
		return
	}
	if err := h.startSession(w, r, acct, "password"); err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	h.Metrics.SignIn("password", "success")
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// setDeviceCookie gives the browser the device cookie of its successful
// sign-in, which later exempts it from the account-wide sign-in delay (see
// account.PasswordAttempt). Not readable by scripts; sent on top-level
// navigations, so a sign-in reached from a link still carries it.
func setDeviceCookie(w http.ResponseWriter, secure bool, value string) {
	if value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: account.DeviceCookieNameFor(secure), Value: value, Path: "/",
		MaxAge: int(account.DeviceCookieLifetime / time.Second), HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// --- sign-out ---

func (h *Handler) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok, err := h.current(w, r)
	if err != nil {
		h.serverError(w, r, "validate session", err)
		return
	}
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "logout", &view{
		Title: "Sign out",
		Org:   h.orgName(r.Context(), &v.Account),
		User:  &v.Account,
	})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if token := h.Sessions.TokenFromRequest(r); token != "" {
		if err := h.Sessions.Logout(r.Context(), token); err != nil && !errors.Is(err, session.ErrInvalid) {
			h.serverError(w, r, "logout", err)
			return
		}
	}
	h.Sessions.ClearCookie(w)
	http.Redirect(w, r, "/login?notice=signed-out", http.StatusSeeOther)
}

// --- forgotten password ---

func (h *Handler) forgotForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "forgot", &view{
		Title: "Reset your password",
		Org:   h.orgName(r.Context(), nil),
		Email: strings.TrimSpace(r.URL.Query().Get("email")),
	})
}

func (h *Handler) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	raw := r.PostForm.Get("email")
	org := h.orgName(r.Context(), nil)
	email, err := account.NormalizeEmail(raw)
	if err == nil {
		err = h.Accounts.RequestReset(r.Context(), email, httpserver.ClientIP(r))
	}
	var invalid *account.InvalidInputError
	var throttled *account.ThrottledError
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		h.render(w, r, http.StatusBadRequest, "forgot", &view{
			Title: "Reset your password", Org: org, Email: raw,
			Errors: map[string]string{"email": invalid.Message},
		})
		return
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		h.render(w, r, http.StatusTooManyRequests, "forgot", &view{
			Title: "Reset your password", Org: org, Email: raw,
			Error: "Too many reset requests. Wait " + waitText(throttled.RetryAfter) + ", then try again.",
		})
		return
	default:
		h.serverError(w, r, "request reset", err)
		return
	}
	// The same page whether or not the address has an account.
	h.render(w, r, http.StatusOK, "forgot_sent", &view{
		Title:    "Check your email",
		Org:      org,
		Email:    email,
		WaitText: waitText(h.resetTTL()),
	})
}

// --- reset and invitation links ---

func (h *Handler) invalidLink(w http.ResponseWriter, r *http.Request, invite bool) {
	v := &view{
		Title:    "Link expired",
		Org:      h.orgName(r.Context(), nil),
		Heading:  "This link doesn't work any more",
		Message:  "It may have expired, been used already, or been replaced by a newer one. Ask for a new link and use it within " + waitText(h.resetTTL()) + ".",
		LinkHref: "/forgot",
		LinkText: "Send me a new link",
	}
	if invite {
		v.Message = "It may have expired or been used already. Ask for a new link and use the newest one you get."
	}
	h.render(w, r, http.StatusBadRequest, "message", v)
}

func resetTitle(invite bool) string {
	if invite {
		return "Set your password"
	}
	return "Choose a new password"
}

func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	invite := r.URL.Query().Get("invite") == "1"
	acct, err := h.Accounts.CheckResetToken(r.Context(), token)
	if errors.Is(err, account.ErrInvalidLink) || errors.Is(err, account.ErrNotFound) {
		h.invalidLink(w, r, invite)
		return
	}
	if err != nil {
		h.serverError(w, r, "check reset token", err)
		return
	}
	h.render(w, r, http.StatusOK, "reset", &view{
		Title: resetTitle(invite), Org: h.orgName(r.Context(), &acct),
		Email: acct.Email, Token: token, Invite: invite, Focus: "password",
	})
}

func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	invite := r.PostForm.Get("invite") == "1"
	acct, err := h.Accounts.CheckResetToken(r.Context(), token)
	if errors.Is(err, account.ErrInvalidLink) || errors.Is(err, account.ErrNotFound) {
		h.invalidLink(w, r, invite)
		return
	}
	if err != nil {
		h.serverError(w, r, "check reset token", err)
		return
	}
	again := func(status int, errs map[string]string) {
		h.render(w, r, status, "reset", &view{
			Title: resetTitle(invite), Org: h.orgName(r.Context(), &acct),
			Email: acct.Email, Token: token, Invite: invite, Errors: errs,
		})
	}
	password := r.PostForm.Get("password")
	if msg := confirmMismatch(password, r.PostForm.Get("confirm")); msg != "" {
		again(http.StatusBadRequest, map[string]string{"confirm": msg})
		return
	}
	acct, err = h.Accounts.CompleteReset(r.Context(), token, password)
	var invalid *account.InvalidInputError
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		again(http.StatusBadRequest, map[string]string{"password": invalid.Message})
		return
	case errors.Is(err, account.ErrInvalidLink) || errors.Is(err, account.ErrNotFound):
		h.invalidLink(w, r, invite)
		return
	default:
		h.serverError(w, r, "complete reset", err)
		return
	}
	// Every session of the account was revoked; this browser's cookie, if
	// any, is dead too.
	h.Sessions.ClearCookie(w)
	heading, msg := "Password changed", "Sign in with your new password. For your safety, you've been signed out everywhere you were signed in."
	if invite {
		heading, msg = "Password set", "Your password is ready. Sign in with it now."
	}
	h.render(w, r, http.StatusOK, "message", &view{
		Title: heading, Org: h.orgName(r.Context(), &acct),
		Heading: heading, Message: msg,
		LinkHref: "/login?email=" + url.QueryEscape(acct.Email), LinkText: "Sign in",
	})
}

// confirmMismatch returns an error message when a password and its
// confirmation differ (checked before anything is sent to the service).
func confirmMismatch(password, confirm string) string {
	if password != confirm {
		return "The two passwords don't match. Type the same password in both boxes."
	}
	return ""
}
