package adminapi

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func (h *Handler) getOrganization(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	o, err := h.Accounts.GetOrganization(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.OrganizationFrom(o))
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if r.URL.RawQuery != "" && h.Members != nil {
		h.searchMembers(w, r, tok)
		return
	}
	accts, err := h.Accounts.ListMembers(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.Member, 0, len(accts))
	for _, a := range accts {
		out = append(out, apiview.MemberFrom(a))
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
		if role, err = apiview.ParseRole("role", req.Role); err != nil {
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
	httpserver.WriteJSON(w, http.StatusCreated, apiview.MemberFrom(a))
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
		httpserver.WriteJSON(w, http.StatusOK, apiview.MemberFrom(a))
	}
}

// updateMemberRequest is the body of PATCH /members/{id}; absent fields
// stay as they are.
type updateMemberRequest struct {
	Role        *string `json:"role"`
	Status      *string `json:"status"`
	DisplayName *string `json:"display_name"`
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
	if req.Role == nil && req.Status == nil && req.DisplayName == nil {
		badRequest(w, `Nothing to change: give "role", "status" and/or "display_name".`, "")
		return
	}
	// Every value is checked before anything is changed, so a bad status
	// cannot leave a role change half-applied.
	var role storage.Role
	var status storage.AccountStatus
	var err error
	if req.Role != nil {
		if role, err = apiview.ParseRole("role", *req.Role); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if req.Status != nil {
		if status, err = apiview.ParseStatus("status", *req.Status); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	if req.DisplayName != nil && *req.DisplayName != a.DisplayName {
		if a, err = h.Accounts.SetDisplayName(r.Context(), tok.OrgID, a.ID, *req.DisplayName); err != nil {
			h.fail(w, r, err)
			return
		}
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
	httpserver.WriteJSON(w, http.StatusOK, apiview.MemberFrom(a))
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
	out := make([]apiview.Session, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, apiview.SessionFrom(s))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// searchMembers answers GET /members with a query: one page of a search
// (members.Service.Search), paged by the cursors it returns.
func (h *Handler) searchMembers(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	v := r.URL.Query()
	q := members.Query{
		Q: v.Get("q"), Role: v.Get("role"), Status: v.Get("status"), Policy: v.Get("policy"), Method: v.Get("method"),
		NoMFA: v.Get("no_mfa") == "true", NoEmergencyPasskey: v.Get("no_emergency_passkey") == "true",
		Sort: v.Get("sort"), After: v.Get("after"), Before: v.Get("before"),
	}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		h.fail(w, r, errs.NewInvalid("order", "The order must be asc or desc."))
		return
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > members.MaxBulk {
			h.fail(w, r, errs.NewInvalid("limit", "The limit must be a number from 1 to 500."))
			return
		}
		q.Limit = n
	}
	p, err := h.Members.Search(r.Context(), tok.OrgID, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := apiview.MemberPage{Members: make([]apiview.MemberListing, 0, len(p.Members)), NextCursor: p.Next, PrevCursor: p.Prev}
	for _, m := range p.Members {
		out.Members = append(out.Members, apiview.MemberListingFrom(m, members.StatusOf(m)))
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}
