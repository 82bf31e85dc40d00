package console

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// recoveryView is /admin/recovery-codes: the current set's state, and the
// new codes once, right after an owner generated them.
type recoveryView struct {
	Status      orgrecovery.Status
	GeneratedAt string
	IsOwner     bool
	Codes       []string // only in the answer to the POST that made them
}

func (h *Handler) adminRecovery(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderRecovery(w, r, adm, http.StatusOK, nil, "")
}

// adminRecoveryGenerate makes a new set (owners only; the service refuses
// others) and shows it in this answer only: no redirect, nothing cached.
func (h *Handler) adminRecoveryGenerate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	codes, err := h.OrgRecovery.Generate(r.Context(), adm.OrgID)
	if err != nil {
		f, ok := classify(err)
		if !ok {
			h.serverError(w, r, "generate recovery codes", err)
			return
		}
		h.renderRecovery(w, r, adm, f.Status, nil, f.Message)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderRecovery(w, r, adm, http.StatusOK, codes, "")
}

func (h *Handler) renderRecovery(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, codes []string, errMsg string) {
	st, err := h.OrgRecovery.Status(r.Context(), adm.OrgID)
	if err != nil {
		h.serverError(w, r, "read recovery codes", err)
		return
	}
	h.adminPage(w, r, status, "admin_recovery", adm, &view{
		Title: "Organization recovery codes",
		Error: errMsg,
		Admin: &adminView{Section: "overview", Recovery: &recoveryView{
			Status: st, GeneratedAt: formatTime(st.GeneratedAt), IsOwner: adm.Role == storage.RoleOwner, Codes: codes,
		}},
	})
}
