package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/signin"
)

// --- organization recovery codes (/recover without a link) ---

// recoverCodeForm is /recover when no `gatehouse recover` link is being
// followed: an owner signs in with an organization recovery code.
func (h *Handler) recoverCodeForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "recover_code", &view{
		Title: "Sign in with a recovery code",
		Org:   h.orgName(r.Context(), nil),
	})
}

// recoverCodeSubmit redeems the code (orgrecovery.Service: throttled,
// audited, mailed to the admins) and signs the owner in through the
// sign-in engine. A wrong email, code or role all get the same page.
func (h *Handler) recoverCodeSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	acct, err := h.OrgRecovery.Redeem(r.Context(), email, r.PostForm.Get("code"))
	var throttled *account.ThrottledError
	switch {
	case err == nil:
	case errors.Is(err, orgrecovery.ErrInvalid):
		h.SignIn.LinkRefused(signin.LinkOrgRecovery)
		h.render(w, r, http.StatusUnauthorized, "recover_code", &view{
			Title: "Sign in with a recovery code", Org: h.orgName(r.Context(), nil), Email: email,
			Error: "That email and recovery code don't work together. Check both and try again; each code works once, and only for an owner.",
		})
		return
	case errors.As(err, &throttled):
		h.SignIn.LinkRefused(signin.LinkOrgRecovery)
		retryAfter(w, throttled.RetryAfter)
		h.render(w, r, http.StatusTooManyRequests, "recover_code", &view{
			Title: "Sign in with a recovery code", Org: h.orgName(r.Context(), nil), Email: email,
			Error: "Too many tries. Wait " + waitText(throttled.RetryAfter) + ", then try again.",
		})
		return
	default:
		h.serverError(w, r, "redeem organization recovery code", err)
		return
	}
	out, err := h.SignIn.Link(r.Context(), h.client(r), acct, signin.LinkOrgRecovery, "/admin")
	if err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	h.signedIn(w, r, out)
}
