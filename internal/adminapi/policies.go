package adminapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// createPolicy adds a named policy; with force, SSO may be enforced through
// a connection nobody has test-signed-in through (the service audits the
// override on the policy.create event).
func createPolicy(ctx context.Context, svc *policy.Service, orgID string, req createPolicyRequest) (storage.Policy, error) {
	return svc.CreateWith(ctx, orgID, policy.CreateInput{
		Name: req.Name, SSO: req.SSO, Connection: req.Connection, Force: req.Force, Settings: req.settings(),
		Lockout: lockoutForce(req.ForceReason),
	})
}

// lockoutForce is the no-lockout override a request's force_reason asks
// for (none when it is empty).
func lockoutForce(reason string) []lockout.Force {
	if reason == "" {
		return nil
	}
	return []lockout.Force{{Reason: reason}}
}

// policySettings are the optional settings of both the create and the
// update body; durations are whole seconds.
type policySettings struct {
	Failback                 *string  `json:"failback"`
	MFA                      *string  `json:"mfa"`
	IdleTimeoutSeconds       *int64   `json:"idle_timeout_seconds"`
	MaxLifetimeSeconds       *int64   `json:"max_lifetime_seconds"`
	FailbackWindowDays       *int     `json:"failback_window_days"`
	AutoFailbackAfterSeconds *int64   `json:"auto_failback_after_seconds"`
	AddGroups                []string `json:"add_groups"`
	RemoveGroups             []string `json:"remove_groups"`
}

func seconds(v *int64) *time.Duration {
	if v == nil {
		return nil
	}
	// Clamp first: a huge number must fail validation, not overflow into
	// a small duration that passes it.
	n := min(max(*v, -1), int64(math.MaxInt64/int64(time.Second)))
	d := time.Duration(n) * time.Second
	return &d
}

func (s policySettings) settings() policy.Settings {
	return policy.Settings{
		Failback: s.Failback, MFA: s.MFA,
		IdleTimeout: seconds(s.IdleTimeoutSeconds), MaxLifetime: seconds(s.MaxLifetimeSeconds),
		FailbackWindowDays: s.FailbackWindowDays, AutoFailbackAfter: seconds(s.AutoFailbackAfterSeconds),
		AddGroups: s.AddGroups, RemoveGroups: s.RemoveGroups,
	}
}

func (s policySettings) empty() bool {
	return s.Failback == nil && s.MFA == nil && s.IdleTimeoutSeconds == nil && s.MaxLifetimeSeconds == nil &&
		s.FailbackWindowDays == nil && s.AutoFailbackAfterSeconds == nil && len(s.AddGroups)+len(s.RemoveGroups) == 0
}

func (h *Handler) writePolicy(w http.ResponseWriter, r *http.Request, status int, p storage.Policy) {
	out, err := apiview.PoliciesFrom(r.Context(), h.Accounts, h.IdPs, h.Policies, p.OrgID, []storage.Policy{p})
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
	c, err := h.IdPs.Find(r.Context(), orgID, strings.TrimSpace(*ref))
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
		var out []apiview.Policy
		if out, err = apiview.PoliciesFrom(r.Context(), h.Accounts, h.IdPs, h.Policies, tok.OrgID, ps); err == nil {
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
	policySettings
	// ForceReason creates a policy enforcing SSO without a break-glass
	// owner with a second factor (409 lockout otherwise); audited.
	ForceReason string `json:"force_reason"`
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
	p, err := createPolicy(r.Context(), h.Policies, tok.OrgID, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/policies/"+p.ID)
	h.writePolicy(w, r, http.StatusCreated, p)
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	p, err := h.Policies.Get(r.Context(), tok.OrgID, r.PathValue("ref"))
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
	policySettings
}

func (h *Handler) updatePolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req updatePolicyRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	if req.SSO == nil && req.Connection == nil && req.policySettings.empty() {
		badRequest(w, `Nothing to change: give "sso", "connection" or a setting.`, "")
		return
	}
	if !h.resolveConnection(w, r, tok.OrgID, req.Connection) {
		return
	}
	ref := r.PathValue("ref")
	p, err := h.Policies.GetForChange(r.Context(), tok.OrgID, ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	exposed, err := h.passwordExposure(r, p, req.SSO)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err = h.Policies.Update(r.Context(), tok.OrgID, p.ID, policy.UpdateInput{
		SSO: req.SSO, Connection: req.Connection, Force: req.Force, ForceReason: req.ForceReason, Settings: req.settings(),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if exposed == nil {
		h.writePolicy(w, r, http.StatusOK, p)
		return
	}
	h.writePolicyWarning(w, r, p, exposed)
}

func (h *Handler) deletePolicy(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	p, err := h.Policies.Get(r.Context(), tok.OrgID, r.PathValue("ref"))
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
	if err := h.Policies.SetMember(r.Context(), tok.OrgID, r.PathValue("email"), r.PathValue("ref"), req.force()); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removePolicyMember sends an explicit member of the policy back to the
// default policy; anyone else is not found there.
func (h *Handler) removePolicyMember(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if err := h.Policies.RemoveMember(r.Context(), tok.OrgID, r.PathValue("ref"), r.PathValue("email"), forceQuery(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forceRequest is the optional body of a PUT or POST that may lock every
// owner out: {"force_reason": "…"}.
type forceRequest struct {
	ForceReason string `json:"force_reason"`
	policySettings
}

func (f forceRequest) force() lockout.Force { return lockout.Force{Reason: f.ForceReason} }
