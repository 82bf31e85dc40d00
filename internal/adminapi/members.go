package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Organization is the JSON of an organization.
type Organization struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// OrganizationFrom converts a storage record.
func OrganizationFrom(o storage.Organization) Organization {
	return Organization{ID: o.ID, Slug: o.Slug, Name: o.Name, CreatedAt: o.CreatedAt.UTC()}
}

// Member is the JSON of an account. It deliberately has no password hash:
// has_password says all a client needs to know.
type Member struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Status      string    `json:"status"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MemberFrom converts a storage record.
func MemberFrom(a storage.Account) Member {
	return Member{
		ID: a.ID, Email: a.Email, DisplayName: a.DisplayName,
		Role: string(a.Role), Status: string(a.Status), HasPassword: a.PasswordHash != "",
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// Session is the JSON of a live session; the token and its hash never
// leave the server.
type Session struct {
	ID                 string    `json:"id"`
	Method             string    `json:"method"`
	CreatedAt          time.Time `json:"created_at"`
	LastSeenAt         time.Time `json:"last_seen_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutSeconds int64     `json:"idle_timeout_seconds"`
	IP                 string    `json:"ip"`
	UserAgent          string    `json:"user_agent"`
}

// SessionFrom converts a storage record.
func SessionFrom(s storage.Session) Session {
	return Session{
		ID: s.ID, Method: s.Method, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), IdleTimeoutSeconds: int64(s.IdleTimeout / time.Second),
		IP: s.IP, UserAgent: s.UserAgent,
	}
}

// ParseRole accepts "owner", "admin" or "member".
func ParseRole(field, s string) (storage.Role, error) {
	switch r := storage.Role(s); r {
	case storage.RoleOwner, storage.RoleAdmin, storage.RoleMember:
		return r, nil
	}
	return "", &account.InvalidInputError{Field: field, Message: `The role must be "owner", "admin" or "member".`}
}

// ParseStatus accepts "active" or "suspended".
func ParseStatus(field, s string) (storage.AccountStatus, error) {
	switch st := storage.AccountStatus(s); st {
	case storage.StatusActive, storage.StatusSuspended:
		return st, nil
	}
	return "", &account.InvalidInputError{Field: field, Message: `The status must be "active" or "suspended".`}
}

func (h *Handler) getOrganization(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	o, err := h.Accounts.GetOrganization(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, OrganizationFrom(o))
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	accts, err := h.Accounts.ListMembers(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Member, 0, len(accts))
	for _, a := range accts {
		out = append(out, MemberFrom(a))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"members": out})
}

// addMemberRequest is the body of POST /members.
type addMemberRequest struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Invite      bool   `json:"invite"`
}

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req addMemberRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	role := storage.RoleMember
	if req.Role != "" {
		var err error
		if role, err = ParseRole("role", req.Role); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	a, err := h.Accounts.AddMember(r.Context(), tok.OrgID, account.MemberInput{
		Email: req.Email, DisplayName: req.DisplayName, Role: role, Invite: req.Invite,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/members/"+a.ID)
	httpserver.WriteJSON(w, http.StatusCreated, MemberFrom(a))
}

// member resolves the {id} path value (an account ID or an email) within
// the token's organization. Another organization's member is "not found",
// exactly like a member that does not exist, so IDs cannot be probed.
func (h *Handler) member(w http.ResponseWriter, r *http.Request, tok storage.APIToken) (storage.Account, bool) {
	a, err := h.Accounts.GetMember(r.Context(), tok.OrgID, r.PathValue("id"))
	if err == nil && a.OrgID != tok.OrgID {
		err = account.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return storage.Account{}, false
	}
	return a, true
}

func (h *Handler) getMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if a, ok := h.member(w, r, tok); ok {
		httpserver.WriteJSON(w, http.StatusOK, MemberFrom(a))
	}
}

// updateMemberRequest is the body of PATCH /members/{id}; absent fields
// stay as they are.
type updateMemberRequest struct {
	Role   *string `json:"role"`
	Status *string `json:"status"`
	// ForceReason makes a change that leaves no owner able to sign in
	// without the IdP; it is recorded in the audit log.
	ForceReason string `json:"force_reason"`
}

func (r updateMemberRequest) force() lockout.Force { return lockout.Force{Reason: r.ForceReason} }

func (h *Handler) updateMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req updateMemberRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	if req.Role == nil && req.Status == nil {
		badRequest(w, `Nothing to change: give "role" and/or "status".`, "")
		return
	}
	// Every value is checked before anything is changed, so a bad status
	// cannot leave a role change half-applied.
	var role storage.Role
	var status storage.AccountStatus
	var err error
	if req.Role != nil {
		if role, err = ParseRole("role", *req.Role); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if req.Status != nil {
		if status, err = ParseStatus("status", *req.Status); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if req.Role != nil && role != a.Role {
		if a, err = h.Accounts.SetRole(r.Context(), tok.OrgID, a.ID, role, req.force()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if req.Status != nil && status != a.Status {
		if a, err = h.Accounts.SetStatus(r.Context(), tok.OrgID, a.ID, status, req.force()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, MemberFrom(a))
}

func (h *Handler) revokeSessions(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req struct{}
	if !h.decode(w, r, &req, true) {
		return
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	n, err := h.Accounts.RevokeSessions(r.Context(), tok.OrgID, a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	sessions, err := h.Sessions.List(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Session, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, SessionFrom(s))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
}
