package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// resetFactorsRequest is the body of POST /members/{id}/reset-factors.
// An empty body (or {}) resets everything; naming any method resets only
// the ones set to true.
type resetFactorsRequest struct {
	TOTP          *bool `json:"totp"`
	RecoveryCodes *bool `json:"recovery_codes"`
	Passkeys      *bool `json:"passkeys"`
}

func (r resetFactorsRequest) what() mfa.ResetWhat {
	if r.TOTP == nil && r.RecoveryCodes == nil && r.Passkeys == nil {
		return mfa.AllFactors
	}
	on := func(b *bool) bool { return b != nil && *b }
	return mfa.ResetWhat{TOTP: on(r.TOTP), RecoveryCodes: on(r.RecoveryCodes), Passkeys: on(r.Passkeys)}
}

// resetFactors removes a member's second factors and ends their sessions
// (mfa.Service.ResetFactors decides who may).
func (h *Handler) resetFactors(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req resetFactorsRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	a, ok := h.member(w, r, tok)
	if !ok {
		return
	}
	res, err := h.MFA.ResetFactors(r.Context(), tok.OrgID, a.ID, req.what())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.FactorResetFrom(res))
}
