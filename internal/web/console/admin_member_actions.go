package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The member page's actions. Suspending, deleting and unlinking an SSO
// link each have a confirmation page (GET) that says what will happen;
// its form POSTs the change. The services hold every rule (who may act,
// the last owner, the lockout check); a refusal comes back here as words.

// memberConfirmView is a member action's confirmation page.
type memberConfirmView struct {
	Heading string
	Member  string   // the email, shown prominently
	Lead    string   // one sentence
	Points  []string // what will happen, one thing each
	Action  string   // where the form posts
	Fields  map[string]string
	Button  string
	Cancel  string
}

func memberHref(a storage.Account) string { return "/admin/members/" + url.PathEscape(a.ID) }

func (h *Handler) confirmMember(w http.ResponseWriter, r *http.Request, adm storage.Account, title string, c *memberConfirmView) {
	h.adminPage(w, r, http.StatusOK, "admin_member_confirm", adm, &view{
		Title: title,
		Admin: &adminView{Section: "members", MemberConfirm: c},
	})
}

// adminMemberSuspendConfirm: "Suspend" leads here; the form posts to
// /status, which the lockout page guards as before.
func (h *Handler) adminMemberSuspendConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	if a.Status != storage.StatusActive {
		seeOther(w, r, memberHref(a), "")
		return
	}
	h.confirmMember(w, r, adm, "Suspend "+a.Email, &memberConfirmView{
		Heading: "Suspend this member?", Member: a.Email,
		Lead: "Suspending is undone by reactivating; nothing about them is removed.",
		Points: []string{
			"They are signed out everywhere at once, and apps they signed in to through Gatehouse lose access.",
			"They cannot sign in by any method (password, single sign-on, passkey or emergency access) until an admin reactivates them.",
			"Invitation and password-reset links already mailed to them stop working, and stay void after a reactivation.",
			"The suspension is recorded in the audit log with your name.",
		},
		Action: memberHref(a) + "/status", Fields: map[string]string{"status": string(storage.StatusSuspended)},
		Button: "Suspend", Cancel: memberHref(a),
	})
}

func (h *Handler) adminMemberDeleteConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	h.confirmMember(w, r, adm, "Delete "+a.Email, &memberConfirmView{
		Heading: "Delete this member?", Member: a.Email,
		Lead: "Deleting cannot be undone. To stop someone signing in for a while, suspend them instead.",
		Points: []string{
			"Their sessions end at once, and apps they signed in to through Gatehouse lose access.",
			"Their account is removed with its password, SSO links, second factors, passkeys and policy membership; links mailed to them stop working.",
			"The audit log keeps its past events about them as they were written, and records the deletion with your name.",
			"Adding the same email address again later creates a new, separate account.",
		},
		Action: memberHref(a) + "/delete", Button: "Delete member", Cancel: memberHref(a),
	})
}

func (h *Handler) adminMemberDelete(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberForm(w, r, adm)
	if !ok {
		return
	}
	err := h.Accounts.DeleteMember(r.Context(), adm.OrgID, a.ID, forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "members", memberHref(a)) {
		return
	}
	if err == nil {
		seeOther(w, r, "/admin/members", "member-deleted")
		return
	}
	h.memberChanged(w, r, adm, a, err, "delete member", "")
}

func (h *Handler) adminMemberName(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberForm(w, r, adm)
	if !ok {
		return
	}
	_, err := h.Accounts.SetDisplayName(r.Context(), adm.OrgID, a.ID, r.PostForm.Get("display_name"))
	if fl, ok := classify(err); err != nil && ok && fl.Field == "display_name" {
		h.renderMemberPage(w, r, adm, fl.Status, a, "", map[string]string{"display_name": fl.Message})
		return
	}
	h.memberChanged(w, r, adm, a, err, "change name", "name-changed")
}

// memberForm parses a member action's form and loads the member it is
// about (both answer the request themselves when they fail).
func (h *Handler) memberForm(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.Account, bool) {
	if !h.parseForm(w, r) {
		return storage.Account{}, false
	}
	return h.memberFor(w, r, adm)
}

// memberAction is a member action with nothing to say but done or why
// not: call, then back to their page with the notice.
func (h *Handler) memberAction(call func(s *account.Service, ctx context.Context, orgID, accountID string) error, what, notice string) adminHandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, adm storage.Account) {
		a, ok := h.memberForm(w, r, adm)
		if !ok {
			return
		}
		h.memberChanged(w, r, adm, a, call(h.Accounts, r.Context(), adm.OrgID, a.ID), what, notice)
	}
}

func (h *Handler) adminMemberSessionRevoke(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberForm(w, r, adm)
	if !ok {
		return
	}
	err := h.Accounts.RevokeMemberSession(r.Context(), adm.OrgID, a.ID, r.PathValue("sid"))
	if fl, ok := classify(err); err != nil && ok && fl.Status == http.StatusNotFound {
		// The session ended meanwhile (or never was theirs): say so on
		// their page rather than as a missing member.
		h.renderMemberPage(w, r, adm, http.StatusNotFound, a, "That session has already ended.", nil)
		return
	}
	h.memberChanged(w, r, adm, a, err, "revoke session", "session-revoked")
}

// adminMemberUnlinkConfirm shows the link being removed.
func (h *Handler) adminMemberUnlinkConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	d, err := h.Accounts.MemberDetail(r.Context(), adm.OrgID, a.ID)
	if err != nil {
		h.serverError(w, r, "read member", err)
		return
	}
	for _, l := range d.Links {
		if l.ID != r.PathValue("link") {
			continue
		}
		h.confirmMember(w, r, adm, "Remove SSO link of "+a.Email, &memberConfirmView{
			Heading: "Remove this SSO link?", Member: a.Email,
			Lead: "The link ties their account to the IdP account “" + l.Subject + "” at " + l.ConnectionName + ".",
			Points: []string{
				"Their next sign-in through " + l.ConnectionName + " links the IdP account again by email address: to this account if the IdP still sends " + a.Email + ", otherwise to the account with the address it sends.",
				"They stay signed in where they are; sign them out separately if the link was made to the wrong person.",
				"The removal is recorded in the audit log with your name.",
			},
			Action: memberHref(a) + "/sso-links/" + url.PathEscape(l.ID) + "/unlink", Button: "Remove link", Cancel: memberHref(a),
		})
		return
	}
	h.adminNotFound(w, r, "SSO link")
}

func (h *Handler) adminMemberUnlink(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberForm(w, r, adm)
	if !ok {
		return
	}
	err := h.Accounts.UnlinkSSO(r.Context(), adm.OrgID, a.ID, r.PathValue("link"))
	if fl, ok := classify(err); err != nil && ok && fl.Status == http.StatusNotFound {
		h.adminNotFound(w, r, "SSO link")
		return
	}
	h.memberChanged(w, r, adm, a, err, "remove SSO link", "sso-unlinked")
}

// registerMember mounts the member page's actions.
func (h *Handler) registerMember(handle func(string, adminHandlerFunc)) {
	handle("POST /admin/members/{id}/name", h.adminMemberName)
	handle("POST /admin/members/{id}/resend-invite", h.memberAction((*account.Service).ResendInvitation, "resend invitation", "invite-resent"))
	handle("POST /admin/members/{id}/send-reset", h.memberAction((*account.Service).SendPasswordReset, "send password reset", "reset-sent"))
	handle("GET /admin/members/{id}/suspend", h.adminMemberSuspendConfirm)
	handle("GET /admin/members/{id}/delete", h.adminMemberDeleteConfirm)
	handle("POST /admin/members/{id}/delete", h.adminMemberDelete)
	handle("POST /admin/members/{id}/sessions/{sid}/revoke", h.adminMemberSessionRevoke)
	handle("GET /admin/members/{id}/sso-links/{link}/unlink", h.adminMemberUnlinkConfirm)
	handle("POST /admin/members/{id}/sso-links/{link}/unlink", h.adminMemberUnlink)
}
