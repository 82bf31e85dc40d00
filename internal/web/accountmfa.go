package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// totpView is the "Authenticator app" section of /account.
type totpView struct {
	Enrolled   bool
	EnrolledAt string // "2 Jan 2026"
	CodesLeft  int
	// Enrolling: a set-up is in progress and shown (QR code, secret, code
	// field). QR is a data: URL (the CSP allows img data:).
	Enrolling bool
	QR        template.URL
	Secret    string // in groups of four, for typing in
	// RecoveryCodes are shown once: right after they were made.
	RecoveryCodes []string
	// Error belongs to the form named by ErrorFor ("confirm", "remove").
	Error    string
	ErrorFor string
}

// totpShownKey carries what a POST handler wants the section to show
// (a set-up in progress, new recovery codes, an error) to renderAccount.
type totpShownKey struct{}

func withTOTPShown(r *http.Request, v *totpView) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), totpShownKey{}, v))
}

func init() {
	notices["totp-removed"] = "The authenticator app was removed. You can still use your recovery codes."
	notices["totp-enrolled"] = "Your authenticator app is set up. Your existing recovery codes still work."
}

// registerMFA mounts the authenticator-app forms of /account when the MFA
// service is wired.
func (h *Handler) registerMFA(mux *http.ServeMux) {
	if h.MFA == nil {
		return
	}
	mux.Handle("POST /account/totp/begin", h.RequireSession(http.HandlerFunc(h.totpBegin)))
	mux.Handle("POST /account/totp/confirm", h.RequireSession(http.HandlerFunc(h.totpConfirm)))
	mux.Handle("POST /account/totp/remove", h.RequireSession(http.HandlerFunc(h.totpRemove)))
	mux.Handle("POST /account/recovery-codes", h.RequireSession(http.HandlerFunc(h.recoveryCodesNew)))
}

// totpSection builds the section for acct from the service's state and
// what the current request asked to show; nil without an MFA service.
func (h *Handler) totpSection(r *http.Request, acct storage.Account) (*totpView, error) {
	if h.MFA == nil {
		return nil, nil
	}
	st, err := h.MFA.Status(r.Context(), acct.ID)
	if err != nil {
		return nil, err
	}
	v := &totpView{}
	if shown, ok := r.Context().Value(totpShownKey{}).(*totpView); ok && shown != nil {
		*v = *shown
	}
	v.Enrolled, v.CodesLeft = st.TOTP, st.RecoveryCodesLeft
	if st.TOTP {
		v.EnrolledAt = st.EnrolledAt.UTC().Format("2 Jan 2006")
	}
	return v, nil
}

// enrolmentView shows a set-up in progress.
func enrolmentView(enr mfa.TOTPEnrolment) *totpView {
	return &totpView{
		Enrolling: true,
		QR:        template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(enr.QRPNG)),
		Secret:    groupsOf4(enr.Secret),
	}
}

// groupsOf4 splits a base32 secret into groups of four for typing in.
func groupsOf4(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

func (h *Handler) totpBegin(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) || h.requireRecentSignIn(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	enr, err := h.MFA.BeginTOTP(authz.AsAccount(r.Context(), v.Account), v.Account)
	if h.mfaRefused(w, r, err, "start authenticator set-up") {
		return
	}
	h.renderAccount(w, withTOTPShown(r, enrolmentView(enr)), http.StatusOK, "", nil, "")
}

func (h *Handler) totpConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	ctx := authz.AsAccount(r.Context(), v.Account)
	codes, err := h.MFA.ConfirmTOTP(ctx, v.Account, r.PostForm.Get("code"))
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		enr, perr := h.MFA.PendingTOTP(ctx, v.Account)
		if h.mfaRefused(w, r, perr, "show authenticator set-up") {
			return
		}
		shown := enrolmentView(enr)
		shown.Error, shown.ErrorFor = "That code isn't right. Enter the 6-digit code your app shows now.", "confirm"
		h.renderAccount(w, withTOTPShown(r, shown), http.StatusBadRequest, "", nil, "")
		return
	case errors.Is(err, mfa.ErrNoTOTPEnrolment):
		h.renderAccount(w, withTOTPShown(r, &totpView{Error: "That set-up was already finished or replaced. Start again if you still need to.", ErrorFor: "begin"}),
			http.StatusConflict, "", nil, "")
		return
	case h.mfaRefused(w, r, err, "confirm authenticator app"):
		return
	}
	if codes == nil {
		http.Redirect(w, r, "/account?notice=totp-enrolled", http.StatusSeeOther)
		return
	}
	h.renderAccount(w, withTOTPShown(r, &totpView{RecoveryCodes: codes}), http.StatusOK,
		"Your authenticator app is set up. Save your recovery codes below now.", nil, "")
}

func (h *Handler) totpRemove(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
	// Six digits are the app's code; anything else is tried as a recovery
	// code, for a person whose phone is gone.
	var err error
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		err = h.MFA.VerifyTOTP(r.Context(), v.Account.ID, code)
	} else {
		err = h.MFA.UseRecoveryCode(r.Context(), v.Account.ID, code)
	}
	var throttled *account.ThrottledError
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		h.renderAccount(w, withTOTPShown(r, &totpView{Error: "That code isn't right. Enter the code your app shows now, or one of your recovery codes.", ErrorFor: "remove"}),
			http.StatusBadRequest, "", nil, "")
		return
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		h.renderAccount(w, withTOTPShown(r, &totpView{Error: "Too many wrong codes. Wait " + waitText(throttled.RetryAfter) + ", then try again.", ErrorFor: "remove"}),
			http.StatusTooManyRequests, "", nil, "")
		return
	case h.mfaRefused(w, r, err, "check code before removal"):
		return
	}
	err = h.MFA.RemoveTOTP(authz.AsAccount(r.Context(), v.Account), v.Account)
	if errors.Is(err, lockout.ErrLastBreakGlassFactor) {
		// The organization's way in when the IdP fails: say, by the
		// form, what to do first.
		h.renderAccount(w, withTOTPShown(r, &totpView{Error: err.Error(), ErrorFor: "remove"}), http.StatusConflict, "", nil, "")
		return
	}
	if h.mfaRefused(w, r, err, "remove authenticator app") {
		return
	}
	http.Redirect(w, r, "/account?notice=totp-removed", http.StatusSeeOther)
}

func (h *Handler) recoveryCodesNew(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) || h.requireRecentSignIn(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	codes, err := h.MFA.RegenerateRecoveryCodes(authz.AsAccount(r.Context(), v.Account), v.Account)
	if h.mfaRefused(w, r, err, "make new recovery codes") {
		return
	}
	h.renderAccount(w, withTOTPShown(r, &totpView{RecoveryCodes: codes}), http.StatusOK,
		"You have new recovery codes. Your old ones no longer work.", nil, "")
}

// mfaRefused answers err (if any) and reports whether it did.
func (h *Handler) mfaRefused(w http.ResponseWriter, r *http.Request, err error, what string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, authz.ErrForbidden):
		h.ErrorPage(w, r, http.StatusForbidden, "You can only change your own sign-in methods.")
	case errors.Is(err, lockout.ErrLastBreakGlassFactor):
		// The organization's way in when the IdP fails: say what to do first.
		h.ErrorPage(w, r, http.StatusConflict, err.Error())
	default:
		h.serverError(w, r, what, err)
	}
	return true
}
