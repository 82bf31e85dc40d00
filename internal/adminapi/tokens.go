package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	toks, err := h.Accounts.ListAPITokens(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.Token, 0, len(toks))
	for _, t := range toks {
		out = append(out, apiview.TokenFrom(t))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

type createTokenRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"` // read, admin (the default) or owner
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req createTokenRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	secret, t, err := h.Accounts.CreateAPITokenWithScope(r.Context(), tok.OrgID, req.Name, req.Scope)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/tokens/"+t.ID)
	httpserver.WriteJSON(w, http.StatusCreated, apiview.CreatedToken{Token: apiview.TokenFrom(t), Secret: secret})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if err := h.Accounts.RevokeAPIToken(r.Context(), tok.OrgID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
