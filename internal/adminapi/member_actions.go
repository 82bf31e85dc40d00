package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// What an admin does to one member beside role and status: delete them,
// resend their invitation, mail them a reset link, list and remove their
// SSO links. The account service holds every rule.

// deleteMember removes the member (204). force_reason (query) lets a
// deletion through the lockout check, recorded in the audit log.
func (h *Handler) deleteMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if err := h.Accounts.DeleteMember(r.Context(), tok.OrgID, a.ID, forceQuery(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resendInvite mails a new invitation to a member who never signed in (204).
func (h *Handler) resendInvite(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req struct{}
	if !h.decode(w, r, &req, true) {
		return
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if err := h.Accounts.ResendInvitation(r.Context(), tok.OrgID, a.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sendReset mails the member a password-reset link (204).
func (h *Handler) sendReset(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req struct{}
	if !h.decode(w, r, &req, true) {
		return
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if err := h.Accounts.SendPasswordReset(r.Context(), tok.OrgID, a.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listSSOLinks(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	d, err := h.Accounts.MemberDetail(r.Context(), tok.OrgID, a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.SSOLink, 0, len(d.Links))
	for _, l := range d.Links {
		out = append(out, apiview.SSOLinkFrom(l))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"sso_links": out})
}

func (h *Handler) unlinkSSO(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if err := h.Accounts.UnlinkSSO(r.Context(), tok.OrgID, a.ID, r.PathValue("link")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
