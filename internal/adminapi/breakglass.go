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
