package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// passwordExposure is, for a change of p's SSO setting to sso, the warning
// the answer carries when the change stops enforcing SSO outside an
// emergency: who gains a password way in (issue #7, leaving SSO safely).
// nil when the change does not do that.
func (h *Handler) passwordExposure(r *http.Request, p storage.Policy, sso *string) (*apiview.PasswordExposure, error) {
	if h.Emergencies == nil || sso == nil || *sso == storage.SSOEnforced || p.SSO != storage.SSOEnforced {
		return nil, nil
	}
	if _, active, err := h.Emergencies.ActiveFor(r.Context(), p.OrgID, p.ID, h.Now()); err != nil || active {
		return nil, err
	}
	xs, err := h.Emergencies.WouldGainPassword(r.Context(), p.OrgID, p.ID)
	if err != nil {
		return nil, err
	}
	return apiview.PasswordExposureFrom(xs), nil
}

// writePolicyWarning answers a policy with the warning beside its fields.
func (h *Handler) writePolicyWarning(w http.ResponseWriter, r *http.Request, p storage.Policy, warn *apiview.PasswordExposure) {
	out, err := apiview.PoliciesFrom(r.Context(), h.Accounts, h.IdPs, h.Policies, p.OrgID, []storage.Policy{p})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, struct {
		apiview.Policy
		Warning *apiview.PasswordExposure `json:"warning"`
	}{out[0], warn})
}
