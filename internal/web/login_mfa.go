package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/signin"
)

// The second-factor, enrolment and emergency pages. The engine decides
// everything; these handlers only show its steps and pass answers on.

// mfaView is what the MFA, enrolment and emergency pages show beside the
// common view.
type mfaView struct {
	Recovery bool         // the recovery-code form instead of the app code
	Passkey  bool         // offer "Use your passkey"
	QR       template.URL // data: URI of the enrolment QR code
	Secret   string       // the enrolment secret, to type by hand
	Codes    []string     // recovery codes, shown once after enrolment
	Next     string       // where "Continue" goes after the codes

	// The emergency page.
	Until     string // "14:30 UTC on 8 December", "" if not known
	ResetHref string
}

func mfaPath(flow string) string { return "/login/mfa?flow=" + url.QueryEscape(flow) }

// pending moves a browser whose first factor succeeded on to its second
// factor step.
func (h *Handler) pending(w http.ResponseWriter, r *http.Request, out signin.Outcome) bool {
	if out.Pending == "" {
		return false
	}
	http.Redirect(w, r, mfaPath(out.FlowID), http.StatusSeeOther)
	return true
}

// loginMFAGet shows the second-factor step of ?flow (or TOTP enrolment).
func (h *Handler) loginMFAGet(w http.ResponseWriter, r *http.Request) {
	flow := r.URL.Query().Get("flow")
	h.showMFA(w, r, flow, r.URL.Query().Get("kind") == signin.FactorRecovery, http.StatusOK, "", "")
}

func (h *Handler) showMFA(w http.ResponseWriter, r *http.Request, flow string, recovery bool, status int, errMsg, wait string) {
	c := h.client(r)
	st, err := h.SignIn.ShowMFA(r.Context(), c, flow)
	var fe *signin.FlowError
	if errors.As(err, &fe) {
		h.startAgain(w, r, "", "")
		return
	} else if err != nil {
		h.serverError(w, r, "show the second-factor step", err)
		return
	}
	org, managed := h.orgByID(r.Context(), st.OrgID)
	v := &view{
		Title: "Confirm it's you", Org: h.emailOrgName(r.Context(), org, managed), Email: st.Email,
		App:  h.appName(r.Context(), h.returnTo(r, st.ReturnTo)),
		Flow: flow, Error: errMsg, WaitText: wait, Focus: "code",
	}
	if st.Step == signin.StepMFAEnrol {
		en, err := h.SignIn.BeginEnrol(r.Context(), c, flow)
		if errors.As(err, &fe) || errors.Is(err, account.ErrBadCredentials) {
			h.startAgain(w, r, st.Email, "")
			return
		} else if err != nil {
			h.serverError(w, r, "begin TOTP enrolment", err)
			return
		}
		v.Title = "Set up two-step sign-in"
		v.SignIn = &mfaView{Secret: en.Secret,
			QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG))}
		h.render(w, r, status, "login_enrol", v)
		return
	}
	v.SignIn = &mfaView{Recovery: recovery, Passkey: st.Passkey}
	h.render(w, r, status, "login_mfa", v)
}

// loginMFA checks a code from the app or a recovery code.
func (h *Handler) loginMFA(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	flow, kind := r.PostForm.Get("flow"), r.PostForm.Get("kind")
	if kind != signin.FactorRecovery {
		kind = signin.FactorTOTP
	}
	out, err := h.SignIn.SecondFactor(r.Context(), h.client(r), flow, kind, r.PostForm.Get("code"))
	if h.signInFactorRefused(w, r, flow, kind == signin.FactorRecovery, err) {
		return
	}
	h.signedIn(w, r, out)
}

// signInFactorRefused answers a refused second factor at sign-in (true when it answered).
func (h *Handler) signInFactorRefused(w http.ResponseWriter, r *http.Request, flow string, recovery bool, err error) bool {
	var fe *signin.FlowError
	var throttled *account.ThrottledError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		h.startAgain(w, r, "", "")
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		wait := waitText(throttled.RetryAfter)
		h.showMFA(w, r, flow, recovery, http.StatusTooManyRequests, "Too many wrong codes. Wait "+wait+", then try again.", wait)
	case errors.Is(err, account.ErrBadCredentials):
		msg := "That code didn't work. Check your authenticator app and enter the code it shows now."
		if recovery {
			msg = "That recovery code didn't work. Each code works once; try another."
		}
		h.showMFA(w, r, flow, recovery, http.StatusUnauthorized, msg, "")
	default:
		h.serverError(w, r, "second factor", err)
	}
	return true
}

// loginEnrol confirms TOTP enrolment at sign-in, then shows the recovery
// codes once; the session is already set.
func (h *Handler) loginEnrol(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	flow := r.PostForm.Get("flow")
	out, codes, err := h.SignIn.ConfirmEnrol(r.Context(), h.client(r), flow, r.PostForm.Get("code"))
	if h.signInFactorRefused(w, r, flow, false, err) {
		return
	}
	h.Sessions.SetCookie(w, out.Token, out.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	next := h.returnTo(r, out.ReturnTo)
	h.render(w, r, http.StatusOK, "login_codes", &view{
		Title: "Save your recovery codes", Org: h.orgName(r.Context(), &out.Account), App: h.appName(r.Context(), next),
		SignIn: &mfaView{Codes: codes, Next: next},
	})
}

// passkeyOptions answers the WebAuthn request options for the flow posted
// (JSON: {"options": …, "challenge": "…"}), for login-passkey.js.
func (h *Handler) passkeyOptions(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	opts, challenge, err := h.SignIn.BeginPasskey(r.Context(), h.client(r), r.PostForm.Get("flow"))
	var fe *signin.FlowError
	switch {
	case errors.As(err, &fe), errors.Is(err, signin.ErrNoPasskeys):
		http.Error(w, "This sign-in cannot use a passkey now. Start again.", http.StatusConflict)
		return
	case err != nil:
		h.serverError(w, r, "begin passkey sign-in", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"options": json.RawMessage(opts), "challenge": challenge})
}

// loginPasskey checks the assertion login-passkey.js posted.
func (h *Handler) loginPasskey(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	flow, returnTo := r.PostForm.Get("flow"), h.returnTo(r, r.PostForm.Get("return_to"))
	c := h.client(r)
	out, err := h.SignIn.PasskeyFactor(r.Context(), c, flow, r.PostForm.Get("challenge"), []byte(r.PostForm.Get("assertion")))
	var fe *signin.FlowError
	switch {
	case err == nil:
	case errors.As(err, &fe), errors.Is(err, signin.ErrNoPasskeys):
		h.startAgain(w, r, r.PostForm.Get("email"), returnTo)
		return
	case r.PostForm.Get("step") == "mfa":
		h.signInFactorRefused(w, r, flow, false, err)
		return
	case errors.Is(err, account.ErrBadCredentials):
		h.passwordAgain(w, r, c, flow, returnTo, http.StatusUnauthorized,
			"That passkey didn't sign you in. Use the passkey you saved for this account, or another way below.", "")
		return
	default:
		h.serverError(w, r, "passkey sign-in", err)
		return
	}
	if h.pending(w, r, out) {
		return
	}
	h.signedIn(w, r, out)
}

// untilText is an emergency's end in plain words, in UTC.
func untilText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04 UTC on 2 January")
}
