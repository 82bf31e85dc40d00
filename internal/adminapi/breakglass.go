package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// getBreakGlass lists the organization's break-glass admins and what is
// wrong with that set (the console overview shows the same).
func (h *Handler) getBreakGlass(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	rep, err := h.BreakGlass.List(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.BreakGlassFrom(rep))
}

// getRecoveryCodes says how many organization recovery codes are left.
func (h *Handler) getRecoveryCodes(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	st, err := h.OrgRecovery.Status(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.RecoveryCodesStatusFrom(st))
}

// generateRecoveryCodes makes a new set (owner tokens only), voiding the
// old one, and returns the codes this once.
func (h *Handler) generateRecoveryCodes(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req struct{}
	if !h.decode(w, r, &req, true) {
		return
	}
	codes, err := h.OrgRecovery.Generate(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusCreated, apiview.RecoveryCodes{Codes: codes})
}
