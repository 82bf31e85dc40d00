package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// resetFactorsMessage says, before anything happens, what resetting a
// member's sign-in methods does.
const resetFactorsMessage = "This removes their authenticator app, recovery codes and passkeys and signs them out everywhere; " +
	"they'll set up new ones at their next sign-in. Their password stays as it is, and they'll get an email saying an admin reset their sign-in methods."

// adminMemberResetConfirm is the confirmation page of "Reset sign-in
// methods": a page of its own, so the action is never one click away.
func (h *Handler) adminMemberResetConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	href := "/admin/members/" + url.PathEscape(a.ID)
	msg := resetFactorsMessage
	if a.ID == adm.ID {
		msg = "This removes your authenticator app, recovery codes and passkeys and signs you out everywhere, including here; " +
			"you'll set up new ones at your next sign-in."
	}
	h.adminPage(w, r, http.StatusOK, "admin_confirm", adm, &view{
		Title: "Reset sign-in methods of " + a.Email,
		Admin: &adminView{Section: "members", Confirm: &confirmView{
			Heading: "Reset their sign-in methods?", Message: msg, Detail: a.Email,
			Action: href + "/reset-factors", Button: "Reset sign-in methods", Cancel: href,
		}},
	})
}

// adminMemberReset resets everything: the person lost the device, and a
// factor left behind may be the one a thief holds. Who may reset whom
// (admins not owners) is the service's rule.
func (h *Handler) adminMemberReset(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	_, err := h.MFA.ResetFactors(r.Context(), adm.OrgID, a.ID, mfa.AllFactors)
	h.memberChanged(w, r, adm, a, err, "reset sign-in methods", "factors-reset")
}
