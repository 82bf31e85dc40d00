package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// DefaultPolicyRef is how the API and the CLI name the organization's
// default policy (any case), whatever its stored name.
const DefaultPolicyRef = "default"

// Policy is the JSON of an authentication policy.
type Policy struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	IsDefault      bool   `json:"is_default"`
	SSO            string `json:"sso"`             // enforced, optional or off
	ConnectionID   string `json:"connection_id"`   // "" when none is chosen
	ConnectionSlug string `json:"connection_slug"` // "" when none is chosen
	// Members are the emails of the accounts explicitly under the policy.
	// The default policy lists none: it catches everyone else.
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IsDefaultRef reports whether ref names the default policy.
func IsDefaultRef(ref string) bool {
	return strings.EqualFold(strings.TrimSpace(ref), DefaultPolicyRef)
}

// FindPolicy resolves ref, a policy ID or name, within the organization;
// "default" names the default policy.
func FindPolicy(ctx context.Context, svc *policy.Service, orgID, ref string) (storage.Policy, error) {
	p, err := svc.Get(ctx, orgID, ref)
	if err == nil || !errors.Is(err, account.ErrNotFound) || !IsDefaultRef(ref) {
		return p, err
	}
	ps, lerr := svc.List(ctx, orgID)
	if lerr != nil {
		return storage.Policy{}, lerr
	}
	for _, p := range ps {
		if p.IsDefault {
			return p, nil
		}
	}
	return storage.Policy{}, fmt.Errorf("%w The organization has no default policy yet; it is created, with SSO off, the first time one is set.", account.ErrNotFound)
}

// CreatePolicy adds a named policy; with force, SSO may be enforced through
// a connection nobody has test-signed-in through (the service audits the
// override on the policy.create event).
func CreatePolicy(ctx context.Context, svc *policy.Service, orgID, name, sso, connection string, force bool) (storage.Policy, error) {
	if force {
		return svc.CreateForced(ctx, orgID, name, sso, connection)
	}
	return svc.Create(ctx, orgID, name, sso, connection)
}

// PoliciesFrom converts policies, naming their connections by slug and
// their members by email. idps may be nil (slugs are then left empty).
func PoliciesFrom(ctx context.Context, accounts *account.Service, idps *idp.Service, policies *policy.Service, orgID string, ps []storage.Policy) ([]Policy, error) {
	slugs := map[string]string{}
	if idps != nil {
		cs, err := idps.List(ctx, orgID)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			slugs[c.ID] = c.Slug
		}
	}
	emails := map[string]string{}
	if len(ps) > 0 {
		ms, err := accounts.ListMembers(ctx, orgID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			emails[m.ID] = m.Email
		}
	}
	out := make([]Policy, 0, len(ps))
	for _, p := range ps {
		ids, err := policies.Members(ctx, orgID, p.ID)
		if err != nil {
			return nil, err
		}
		members := make([]string, 0, len(ids))
		for _, id := range ids {
			if e, ok := emails[id]; ok {
				members = append(members, e)
			}
		}
		slices.Sort(members)
		out = append(out, Policy{
			ID: p.ID, Name: p.Name, IsDefault: p.IsDefault, SSO: p.SSO,
			ConnectionID: p.ConnectionID, ConnectionSlug: slugs[p.ConnectionID], Members: members,
			CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
		})
	}
	return out, nil
}

func (h *Handler) writePolicy(w http.ResponseWriter, r *http.Request, status int, p storage.Policy) {
	out, err := PoliciesFrom(r.Context(), h.Accounts, h.IdPs, h.Policies, p.OrgID, []storage.Policy{p})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, status, out[0])
}

// resolveConnection turns the request's connection (slug or ID) into the
// ID of one of the organization's connections, answering 400 itself when
// there is none: the reference is a field of the request, not the path.
func (h *Handler) resolveConnection(w http.ResponseWriter, r *http.Request, orgID string, ref *string) bool {
	if ref == nil || strings.TrimSpace(*ref) == "" || h.IdPs == nil {
		return true
	}
	c, err := FindConnection(r.Context(), h.IdPs, orgID, strings.TrimSpace(*ref))
	switch {
	case errors.Is(err, account.ErrNotFound):
		badRequest(w, fmt.Sprintf("There is no IdP connection %q in this organization.", *ref), "connection")
		return false
	case err != nil:
		h.fail(w, r, err)
		return false
	}
	*ref = c.ID
	return true
}

func (h *Handler) listPolicies(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	ps, err := h.Policies.List(r.Context(), tok.OrgID)
	if err == nil {
		var out []Policy
		if out, err = PoliciesFrom(r.Context(), h.Accounts, h.IdPs, h.Policies, tok.OrgID, ps); err == nil {
			httpserver.WriteJSON(w, http.StatusOK, map[string]any{"policies": out})
			return
		}
	}
	h.fail(w, r, err)
}

// createPolicyRequest is the body of POST /policies.
type createPolicyRequest struct {
	Name       string `json:"name"`
	SSO        string `json:"sso"`
	Connection string `json:"connection"`
	Force      bool   `json:"force"`
}

func (h *Handler) createPolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req createPolicyRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	if req.SSO == "" {
		req.SSO = storage.SSOOff
	}
	if !h.resolveConnection(w, r, tok.OrgID, &req.Connection) {
		return
	}
	p, err := CreatePolicy(r.Context(), h.Policies, tok.OrgID, req.Name, req.SSO, req.Connection, req.Force)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/policies/"+p.ID)
	h.writePolicy(w, r, http.StatusCreated, p)
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	p, err := FindPolicy(r.Context(), h.Policies, tok.OrgID, r.PathValue("ref"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writePolicy(w, r, http.StatusOK, p)
}

// updatePolicyRequest is the body of PATCH /policies/{ref}.
type updatePolicyRequest struct {
	SSO        *string `json:"sso"`
	Connection *string `json:"connection"`
	Force      bool    `json:"force"`
	// ForceReason makes a change that leaves no owner able to sign in
	// without the IdP; it is recorded in the audit log.
	ForceReason string `json:"force_reason"`
}

func (h *Handler) updatePolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req updatePolicyRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	if req.SSO == nil && req.Connection == nil {
		badRequest(w, `Nothing to change: give "sso" and/or "connection".`, "")
		return
	}
	if !h.resolveConnection(w, r, tok.OrgID, req.Connection) {
		return
	}
	ref := r.PathValue("ref")
	p, err := FindPolicy(r.Context(), h.Policies, tok.OrgID, ref)
	if errors.Is(err, account.ErrNotFound) && IsDefaultRef(ref) {
		// The default exists in principle (an organization without one
		// signs everybody in with a password, as SSO off would); the first
		// change stores it.
		p, err = h.Policies.EnsureDefault(r.Context(), tok.OrgID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err = h.Policies.Update(r.Context(), tok.OrgID, p.ID, policy.UpdateInput{SSO: req.SSO, Connection: req.Connection, Force: req.Force, ForceReason: req.ForceReason})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writePolicy(w, r, http.StatusOK, p)
}

func (h *Handler) deletePolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	p, err := FindPolicy(r.Context(), h.Policies, tok.OrgID, r.PathValue("ref"))
	if err == nil {
		err = h.Policies.Delete(r.Context(), tok.OrgID, p.ID, forceQuery(r))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setPolicyMember puts the member under the policy (PUT), taking them out
// of any other; PUT on the default policy sends them back to it.
func (h *Handler) setPolicyMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req forceRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	policyID := ""
	if ref := r.PathValue("ref"); !IsDefaultRef(ref) {
		p, err := FindPolicy(r.Context(), h.Policies, tok.OrgID, ref)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		policyID = p.ID
	}
	if err := h.Policies.SetMember(r.Context(), tok.OrgID, r.PathValue("email"), policyID, req.force()); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removePolicyMember sends an explicit member of the policy back to the
// default policy; anyone else is not found there.
func (h *Handler) removePolicyMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if err := RemovePolicyMember(r.Context(), h.Accounts, h.Policies, tok.OrgID, r.PathValue("ref"), r.PathValue("email"), forceQuery(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RemovePolicyMember sends the member with email, who must be explicitly
// under the policy ref, back to the default policy. force is passed on to
// policy.Service.SetMember.
func RemovePolicyMember(ctx context.Context, accounts *account.Service, policies *policy.Service, orgID, ref, email string, force lockout.Force) error {
	p, err := FindPolicy(ctx, policies, orgID, ref)
	if err != nil {
		return err
	}
	a, err := accounts.GetMember(ctx, orgID, email)
	if err != nil {
		return err
	}
	ids, err := policies.Members(ctx, orgID, p.ID)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, a.ID) {
		return fmt.Errorf("%w %s is not a member of the policy %q.", account.ErrNotFound, a.Email, p.Name)
	}
	return policies.SetMember(ctx, orgID, a.Email, "", force)
}

// forceRequest is the optional body of a PUT or POST that may lock every
// owner out: {"force_reason": "…"}.
type forceRequest struct {
	ForceReason string `json:"force_reason"`
}

func (f forceRequest) force() lockout.Force { return lockout.Force{Reason: f.ForceReason} }
