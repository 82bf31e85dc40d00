package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
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
	// ExpiresAt (RFC 3339) is when the token stops working; absent or
	// null: never.
	ExpiresAt *time.Time `json:"expires_at"`
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req createTokenRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	spec := account.APITokenSpec{Name: req.Name, Scope: req.Scope}
	if req.ExpiresAt != nil {
		spec.ExpiresAt = *req.ExpiresAt
	}
	secret, t, err := h.Accounts.CreateAPITokenSpec(r.Context(), tok.OrgID, spec)
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
