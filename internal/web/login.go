package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/web/page"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
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
	"session-ended":    "Your session ended, so that wasn't saved. Sign in again to go back to where you were.",
	"start-again":      "Your sign-in took too long or was finished in another tab. Start again below.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("notice")] }

// --- step 1: the email ---

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	returnTo := h.returnTo(r, r.URL.Query().Get("return_to"))
	email, msg := strings.TrimSpace(r.URL.Query().Get("email")), notice(r)
	app, isApp := h.appFor(ctx, returnTo)
	if v, ok, err := h.current(w, r); err != nil {
		h.serverError(w, r, "validate session", err)
		return
	} else if ok {
		switch r.URL.Query().Get("reauth") {
		case "1":
			// Signing in again to change how one signs in: the new sign-in
			// replaces this session.
			email, msg = v.Account.Email, reauthMessage
		case "app":
			// An app needs a fresh sign-in (prompt=login, max_age), or one
			// with another account (of the app's organization, the one
			// it named); the new sign-in replaces this session.
			msg, email = h.appReauth(ctx, app, isApp, v.Account, email)
		default:
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
			return
		}
	}
	org := h.orgName(ctx, nil)
	if isApp {
		org = h.pg().OrgNameOf(ctx, app.OrgID)
	}
	h.render(w, r, http.StatusOK, "login", &view{
		Title:    "Sign in",
		Org:      org,
		App:      app.Name,
		Notice:   msg,
		Email:    email,
		ReturnTo: returnTo,
	})
}

func (h *Handler) loginEmail(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	returnTo := h.returnTo(r, r.PostForm.Get("return_to"))
	choosePassword := r.PostForm.Get("method") == "password"
	step, err := h.SignIn.Identify(r.Context(), h.client(r), r.PostForm.Get("email"), returnTo, choosePassword)
	var inv *account.InvalidInputError
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		h.render(w, r, http.StatusTooManyRequests, "login", &view{
			Title:    "Sign in",
			Org:      h.orgName(r.Context(), nil),
			App:      h.appName(r.Context(), returnTo),
			Email:    r.PostForm.Get("email"),
			ReturnTo: returnTo,
			Error:    "Too many sign-ins from your network. Wait " + waitText(throttled.RetryAfter) + ", then try again.",
		})
		return
	case errors.As(err, &inv):
		h.render(w, r, http.StatusBadRequest, "login", &view{
			Title:    "Sign in",
			Org:      h.orgName(r.Context(), nil),
			App:      h.appName(r.Context(), returnTo),
			Email:    r.PostForm.Get("email"),
			ReturnTo: returnTo,
			Errors:   map[string]string{"email": inv.Message},
		})
		return
	case err != nil:
		h.serverError(w, r, "start sign-in", err)
		return
	}
	h.setFlowCookie(w, step.Browser)
	if step.Step == signin.StepSSO {
		h.renderSSORedirect(w, r, step)
		return
	}
	h.renderPasswordStep(w, r, http.StatusOK, step, returnTo, "", "")
}

// client is who asks the sign-in engine: this browser's flow secret, its
// address and User-Agent, and the session it already holds.
func (h *Handler) client(r *http.Request) signin.Client {
	c := signin.Client{IP: httpserver.ClientIP(r), UserAgent: reqctx.From(r.Context()).UserAgent}
	if ck, err := r.Cookie(h.flowCookieName()); err == nil && len(ck.Value) <= 128 {
		c.Browser = ck.Value
	}
	c.Session = h.Sessions.TokenFromRequest(r)
	return c
}

// renderPasswordStep shows step 2: the password form, and on a choice page
// the button to sign in through SSO above it. Everything on it comes from
// the email's domain (step.Page and step.OrgID), the same for known and
// unknown addresses.
func (h *Handler) renderPasswordStep(w http.ResponseWriter, r *http.Request, status int, step signin.Step, returnTo, errMsg, wait string) {
	org, managed := h.orgByID(r.Context(), step.OrgID)
	v := &view{
		Title:    "Sign in",
		Org:      h.emailOrgName(r.Context(), org, managed),
		App:      h.appName(r.Context(), returnTo),
		Email:    step.Email,
		ReturnTo: returnTo,
		Flow:     step.FlowID,
		Error:    errMsg,
		WaitText: wait,
		Focus:    "password",
	}
	if step.Page.Method == policy.MethodEmergency {
		if step.Page.ConnectionSlug != "" {
			v.SSOHref = flowSSOPath(step.FlowID)
			v.SSOName = h.ssoLabel(r.Context(), org, managed, step.Page.ConnectionSlug)
		}
		v.Title = "Emergency sign-in"
		v.SignIn = &mfaView{Until: untilText(step.EmergencyUntil), Passkey: step.Passkeys,
			ResetHref: "/forgot?email=" + url.QueryEscape(step.Email)}
		if step.Passkeys && errMsg == "" {
			v.Focus = "" // "Use your passkey" comes first; nothing is in error
		}
		h.render(w, r, status, "login_emergency", v)
		return
	}
	if step.Page.Method == policy.MethodChoice || step.Page.Method == policy.MethodSSO {
		v.SSOHref = flowSSOPath(step.FlowID)
		v.SSOName = h.ssoLabel(r.Context(), org, managed, step.Page.ConnectionSlug)
		if errMsg == "" {
			v.Focus = "" // the SSO button comes first; nothing is in error
		}
	}
	h.render(w, r, status, "password", v)
}

// renderSSORedirect sends the browser on to the IdP through /login/sso.
// It is a page that refreshes itself rather than a 303: Chrome applies the
// sign-in form's CSP form-action 'self' to every redirect that follows a
// form submission, so a redirect chain from this POST to the IdP's origin
// would be blocked. The refresh is a new navigation (replacing this page in
// the history), and the page keeps a link for browsers that do not
// refresh, and the way to a password for break-glass accounts.
func (h *Handler) renderSSORedirect(w http.ResponseWriter, r *http.Request, step signin.Step) {
	target := flowSSOPath(step.FlowID)
	org, managed := h.orgByID(r.Context(), step.OrgID)
	returnTo := h.returnTo(r, r.PostForm.Get("return_to"))
	h.render(w, r, http.StatusOK, "sso_redirect", &view{
		Title:    "Continue to single sign-on",
		Org:      h.emailOrgName(r.Context(), org, managed),
		App:      h.appName(r.Context(), returnTo),
		Email:    step.Email,
		ReturnTo: returnTo,
		Refresh:  target,
		SSOHref:  target,
		SSOName:  h.ssoLabel(r.Context(), org, managed, step.Page.ConnectionSlug),
	})
}

// flowSSOPath continues flow through its SSO connection.
func flowSSOPath(flow string) string { return "/login/sso?flow=" + url.QueryEscape(flow) }

// ssoLoginPath is /saml/{slug}/login, with return_to when it is not the
// default: a sign-in through one connection started outside a flow (a
// bookmark, an app's link).
func ssoLoginPath(slug, returnTo string) string {
	p := "/saml/" + url.PathEscape(slug) + "/login"
	if returnTo != "" && returnTo != page.DefaultReturnTo {
		p += "?return_to=" + url.QueryEscape(returnTo)
	}
	return p
}

// ssoLabel names the SSO button: "Corp Entra SSO", or "your
// organization's SSO" when the connection cannot be named. The connection
// is looked up in org, the organization that verified the email's domain
// (managed is false when none did), which is the only one whose policy can
// send the address there.
func (h *Handler) ssoLabel(ctx context.Context, org storage.Organization, managed bool, slug string) string {
	const fallback = "your organization's SSO"
	if h.IdPs == nil || !managed || slug == "" {
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

// --- step 2: the password, or on to the IdP ---

func (h *Handler) loginPasswordGet(w http.ResponseWriter, r *http.Request) {
	// A refreshed or bookmarked step 2 starts over at step 1.
	http.Redirect(w, r, page.LoginPathTo(h.returnTo(r, r.URL.Query().Get("return_to"))), http.StatusSeeOther)
}

func (h *Handler) loginPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	returnTo := h.returnTo(r, r.PostForm.Get("return_to"))
	flow := r.PostForm.Get("flow")
	c := h.client(r)
	out, err := h.SignIn.Password(r.Context(), c, flow, r.PostForm.Get("password"), h.deviceCookie(r))
	var throttled *account.ThrottledError
	var busy *account.BusyError
	var fe *signin.FlowError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		h.startAgain(w, r, r.PostForm.Get("email"), returnTo)
		return
	case errors.As(err, &busy):
		// Every password-hashing slot is taken: nothing was checked or
		// counted, so the person may simply try again.
		retryAfter(w, busy.RetryAfter)
		h.passwordAgain(w, r, c, flow, returnTo, http.StatusServiceUnavailable,
			"Gatehouse is busy. Wait a moment, then try again.", "")
		return
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		wait := waitText(throttled.RetryAfter)
		h.passwordAgain(w, r, c, flow, returnTo, http.StatusTooManyRequests,
			"Too many sign-in attempts. Wait "+wait+", then try again.", wait)
		return
	case errors.Is(err, account.ErrBadCredentials):
		// Unknown email, wrong password, no password set, suspended, or a
		// policy that keeps the account on SSO: one answer.
		h.passwordAgain(w, r, c, flow, returnTo, http.StatusUnauthorized, account.ErrBadCredentials.Error(), "")
		return
	default:
		h.serverError(w, r, "password sign-in", err)
		return
	}
	if h.pending(w, r, out) {
		return
	}
	h.signedIn(w, r, out)
}

// passwordAgain shows the password step of flow once more, with errMsg.
func (h *Handler) passwordAgain(w http.ResponseWriter, r *http.Request, c signin.Client, flow, returnTo string, status int, errMsg, wait string) {
	step, err := h.SignIn.Show(r.Context(), c, flow)
	var fe *signin.FlowError
	if errors.As(err, &fe) {
		h.startAgain(w, r, r.PostForm.Get("email"), returnTo)
		return
	}
	if err != nil {
		h.serverError(w, r, "show sign-in step", err)
		return
	}
	h.renderPasswordStep(w, r, status, step, returnTo, errMsg, wait)
}

// startAgain sends a browser whose sign-in cannot continue (expired, used,
// another browser's) back to the email step, saying why in plain words.
func (h *Handler) startAgain(w http.ResponseWriter, r *http.Request, email, returnTo string) {
	q := url.Values{"notice": {"start-again"}}
	if norm, err := account.NormalizeEmail(email); err == nil {
		q.Set("email", norm)
	}
	if returnTo != "" && returnTo != page.DefaultReturnTo {
		q.Set("return_to", returnTo)
	}
	http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
}

// loginSSO sends the browser of a flow on to its IdP.
func (h *Handler) loginSSO(w http.ResponseWriter, r *http.Request) {
	flow := r.URL.Query().Get("flow")
	ctx := r.Context()
	if !h.mayBeginSSO(w, r) {
		return
	}
	redirect, binding, err := h.SignIn.BeginSSO(ctx, h.client(r), flow, h.bindingSecret(r))
	var fe *signin.FlowError
	switch {
	case errors.As(err, &fe), errors.Is(err, signin.ErrNoSSO):
		h.startAgain(w, r, "", "")
		return
	case errors.Is(err, sso.ErrUnknownConnection):
		h.noConnection(w, r)
		return
	case err != nil:
		h.serverError(w, r, "begin SAML sign-in", err)
		return
	}
	h.setBindingCookie(w, binding)
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// signedIn puts the session the engine issued on this browser and goes
// where the person was going (validated again: the flow stored it, but an
// IdP-initiated RelayState is anyone's words).
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, out signin.Outcome) {
	h.Sessions.SetCookie(w, out.Token, out.ExpiresAt)
	if out.Device != "" {
		h.setDeviceCookie(w, out.Device)
	}
	dest := h.returnTo(r, out.ReturnTo)
	h.goTo(w, r, dest, "You're signed in")
}

// --- sign-out ---

func (h *Handler) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok, err := h.current(w, r)
	if err != nil {
		h.serverError(w, r, "validate session", err)
		return
	}
	// An app's "sign out" link may say where to go afterwards
	// (?return_to=, Gatehouse itself or a registered app only).
	returnTo := logoutReturnTo(h.returnTo(r, r.URL.Query().Get("return_to")))
	if !ok {
		if returnTo != "" {
			// Already signed out: nothing to confirm.
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "logout", &view{
		Title:    "Sign out",
		Org:      h.orgName(r.Context(), &v.Account),
		User:     &v.Account,
		ReturnTo: returnTo,
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
	if rt := logoutReturnTo(h.returnTo(r, r.PostFormValue("return_to"))); rt != "" {
		h.goTo(w, r, rt, "You're signed out")
		return
	}
	http.Redirect(w, r, "/login?notice=signed-out", http.StatusSeeOther)
}

// logoutReturnTo is where to go after signing out: rt unless it is the
// default (/account, which would only ask to sign in again), "" then.
func logoutReturnTo(rt string) string {
	if rt == page.DefaultReturnTo {
		return ""
	}
	return rt
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
		SSOPassword: h.signsInWithSSO(r.Context(), acct),
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
			SSOPassword: h.signsInWithSSO(r.Context(), acct),
		})
	}
	password := r.PostForm.Get("password")
	if msg := confirmMismatch(password, r.PostForm.Get("confirm")); msg != "" {
		again(http.StatusBadRequest, map[string]string{"confirm": msg})
		return
	}
	// Not into acct: on a refused password CompleteReset returns no
	// account, and the form shown again must still say whose it is.
	done, err := h.Accounts.CompleteReset(r.Context(), token, password)
	var invalid *account.InvalidInputError
	switch {
	case err == nil:
		acct = done
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
	if h.signsInWithSSO(r.Context(), acct) {
		// Never "sign in with your new password" where the policy sends the
		// person to their IdP: say what the password is for.
		heading = "Password set"
		msg = "You sign in through your organization's single sign-on, as before: enter your email on the sign-in page. " +
			"This password is for when single sign-on is unavailable and your admin lets people sign in without it."
		if !invite {
			msg += " For your safety, you've been signed out everywhere you were signed in."
		}
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

// signsInWithSSO reports whether acct's policy sends it through the IdP;
// a failure to tell only costs the wording, never the page.
func (h *Handler) signsInWithSSO(ctx context.Context, acct storage.Account) bool {
	ok, err := h.Accounts.SignsInWithSSO(ctx, acct)
	if err != nil {
		h.log().WarnContext(ctx, "cannot tell whether an account signs in with SSO", "err", err)
	}
	return ok
}
