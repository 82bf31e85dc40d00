package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
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

// loginMethod decides how email signs in. Today every account uses a
// password; the policy engine (SSO enforced or optional, emergency
// failback) plugs in here and may answer "sso" with a redirect target.
// Unknown emails must get the same answer as a password account.
func (h *Handler) loginMethod(acct storage.Account, known bool) string {
	_, _ = acct, known
	return "password"
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
	acct, known := h.accountByEmail(r.Context(), email)
	switch h.loginMethod(acct, known) {
	default: // "password"
		h.renderPasswordStep(w, r, http.StatusOK, email, returnTo, "", "")
	}
}

// renderPasswordStep shows step 2 for email. The organization is the
// account's when email names one; otherwise the same fallback every
// sign-in page uses.
func (h *Handler) renderPasswordStep(w http.ResponseWriter, r *http.Request, status int, email, returnTo, errMsg, wait string) {
	var org string
	if acct, ok := h.accountByEmail(r.Context(), email); ok {
		org = h.orgName(r.Context(), &acct)
	} else {
		org = h.orgName(r.Context(), nil)
	}
	v := &view{
		Title:    "Sign in",
		Org:      org,
		Email:    email,
		ReturnTo: returnTo,
		Error:    errMsg,
		WaitText: wait,
		Focus:    "password",
	}
	h.render(w, r, status, "password", v)
}

// --- step 2: the password ---

func (h *Handler) loginPasswordGet(w http.ResponseWriter, r *http.Request) {
	// A refreshed or bookmarked step 2 starts over at step 1.
	target := "/login"
	if rt := SafeReturnTo(r.URL.Query().Get("return_to")); rt != defaultReturnTo {
		target += "?return_to=" + url.QueryEscape(rt)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
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
	acct, err := h.Accounts.Authenticate(r.Context(), email, r.PostForm.Get("password"), httpserver.ClientIP(r))
	var throttled *account.ThrottledError
	var invalid *account.InvalidInputError
	switch {
	case err == nil:
	case errors.As(err, &throttled):
		h.Metrics.SignIn("password", "throttled")
		retryAfter(w, throttled.RetryAfter)
		wait := waitText(throttled.RetryAfter)
		h.renderPasswordStep(w, r, http.StatusTooManyRequests, email, returnTo,
			"Too many sign-in attempts. Wait "+wait+", then try again.", wait)
		return
	case errors.Is(err, account.ErrBadCredentials), errors.As(err, &invalid):
		// Unknown email, wrong password, no password set, suspended: one
		// answer, so the page says nothing about which.
		h.Metrics.SignIn("password", "failure")
		h.renderPasswordStep(w, r, http.StatusUnauthorized, email, returnTo, account.ErrBadCredentials.Error(), "")
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
