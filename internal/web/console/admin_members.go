package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/web/page"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// memberRow is one person as the console shows them.
type memberRow struct {
	ID          string
	Email       string
	Name        string
	Role        string // owner, admin, member
	RoleWords   string
	Active      bool
	HasPassword bool
	SSOKnown    bool // SSO is configured, so the link is worth showing
	SSOLinked   bool
	Self        bool // the signed-in admin
	Href        string
	Sessions    int // live sessions, on the member's own page
	CreatedAt   string
	// CanResetFactors: the console offers "Reset sign-in methods"
	// (admin_mfareset.go).
	CanResetFactors bool
}

// inviteForm holds the invite form's values after a refusal.
type inviteForm struct {
	Email, Name, Role string
	Send              bool
}

func (h *Handler) memberRowOf(l account.Listing, adm storage.Account) memberRow {
	a := l.Account
	return memberRow{
		ID: a.ID, Email: a.Email, Name: a.DisplayName, Role: string(a.Role), RoleWords: page.RoleWords[a.Role],
		Active: a.Status == storage.StatusActive, HasPassword: a.PasswordHash != "", Self: a.ID == adm.ID,
		Href: "/admin/members/" + url.PathEscape(a.ID), CreatedAt: formatTime(a.CreatedAt),
		SSOKnown: h.IdPs != nil, SSOLinked: l.SSOLinked, CanResetFactors: h.MFA != nil,
	}
}

func (h *Handler) adminMembers(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderMembers(w, r, adm, http.StatusOK, &inviteForm{Role: string(storage.RoleMember), Send: true}, nil)
}

// renderMembers renders the members page (admin_members_list.go), with
// the add form's values and errors after a refusal.
func (h *Handler) renderMembers(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, form *inviteForm, errs map[string]string) {
	h.renderMemberList(w, r, adm, status, form, errs)
}

func (h *Handler) adminInvite(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	form := &inviteForm{Email: f.Get("email"), Name: f.Get("display_name"), Role: f.Get("role"), Send: f.Get("invite") == "on"}
	role := storage.Role(form.Role)
	if role == "" {
		role = storage.RoleMember
	}
	// AddMember refuses an owner invited by a non-owner (account.ErrOwnerOnly).
	_, err := h.Accounts.AddMember(r.Context(), adm.OrgID, account.MemberInput{
		Email: form.Email, DisplayName: form.Name, Role: role, Invite: form.Send,
	})
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "add member", err)
			return
		}
		field := map[string]string{"email": "invite_email", "display_name": "invite_name", "role": "invite_role"}[fl.Field]
		if errors.Is(err, account.ErrOwnerOnly) {
			field = "invite_role"
		}
		if errors.Is(err, account.ErrExists) {
			field, fl.Message = "invite_email", "Someone with this email address already has an account."
		}
		if field == "" {
			field = "invite_email"
		}
		if fl.Status == http.StatusNotFound {
			fl.Status = http.StatusBadRequest
		}
		h.renderMembers(w, r, adm, fl.Status, form, map[string]string{field: fl.Message})
		return
	}
	notice := "added"
	if form.Send {
		notice = "invited"
	}
	seeOther(w, r, "/admin/members", notice)
}

// memberFor reads the {id} path value as one of the organization's
// accounts, answering 404 itself when it is not.
func (h *Handler) memberFor(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.Account, bool) {
	a, err := h.Accounts.GetMember(r.Context(), adm.OrgID, r.PathValue("id"))
	if err != nil {
		if _, ok := classify(err); ok {
			// Not found, or not an ID at all: the same page either way.
			h.adminNotFound(w, r, "member")
		} else {
			h.serverError(w, r, "read member", err)
		}
		return a, false
	}
	return a, true
}

func (h *Handler) adminMember(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	h.renderMember(w, r, adm, http.StatusOK, a, "")
}

func (h *Handler) renderMember(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, a storage.Account, errMsg string) {
	h.renderMemberPage(w, r, adm, status, a, errMsg, nil) // admin_member.go
}

// memberChanged redirects back to the member's page after a change, or
// shows the refusal there.
func (h *Handler) memberChanged(w http.ResponseWriter, r *http.Request, adm, a storage.Account, err error, what, notice string) {
	if err == nil {
		seeOther(w, r, "/admin/members/"+url.PathEscape(a.ID), notice)
		return
	}
	fl, ok := classify(err)
	switch {
	case !ok:
		h.serverError(w, r, what, err)
	case fl.Status == http.StatusNotFound:
		h.adminNotFound(w, r, "member")
	default:
		h.renderMember(w, r, adm, fl.Status, a, fl.Message)
	}
}

func (h *Handler) adminMemberRole(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	_, err := h.Accounts.SetRole(r.Context(), adm.OrgID, a.ID, storage.Role(r.PostForm.Get("role")), forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "members", "/admin/members/"+url.PathEscape(a.ID)) {
		return
	}
	h.memberChanged(w, r, adm, a, err, "change role", "role-changed")
}

func (h *Handler) adminMemberStatus(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	status := storage.AccountStatus(r.PostForm.Get("status"))
	_, err := h.Accounts.SetStatus(r.Context(), adm.OrgID, a.ID, status, forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "members", "/admin/members/"+url.PathEscape(a.ID)) {
		return
	}
	notice := "reactivated"
	if status == storage.StatusSuspended {
		notice = "suspended"
	}
	h.memberChanged(w, r, adm, a, err, "change status", notice)
}

func (h *Handler) adminMemberRevoke(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.memberFor(w, r, adm)
	if !ok {
		return
	}
	_, err := h.Accounts.RevokeSessions(r.Context(), adm.OrgID, a.ID)
	h.memberChanged(w, r, adm, a, err, "revoke sessions", "sessions-revoked")
}
