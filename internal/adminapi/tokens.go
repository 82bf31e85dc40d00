package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Token is the JSON of an API token: never its secret or hash.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"` // read, admin or owner
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null if never used
	RevokedAt  *time.Time `json:"revoked_at"`   // null while live
	Revoked    bool       `json:"revoked"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// TokenFrom converts a storage record.
func TokenFrom(t storage.APIToken) Token {
	return Token{
		ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt), Revoked: !t.RevokedAt.IsZero(),
	}
}

// CreatedToken is the answer to POST /tokens: the only time the secret is
// ever shown.
type CreatedToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	toks, err := h.Accounts.ListAPITokens(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Token, 0, len(toks))
	for _, t := range toks {
		out = append(out, TokenFrom(t))
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
	httpserver.WriteJSON(w, http.StatusCreated, CreatedToken{Token: TokenFrom(t), Secret: secret})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if err := h.Accounts.RevokeAPIToken(r.Context(), tok.OrgID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
