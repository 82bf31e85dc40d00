package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// appRequest is the body of POST /apps and PATCH /apps/{id}. On PATCH an
// absent field keeps its value; a list given replaces the list. "type" is
// fixed at creation.
type appRequest struct {
	Name                   *string   `json:"name"`
	Type                   *string   `json:"type"` // "confidential" (default) or "public"; POST only
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	Scopes                 *[]string `json:"scopes"`
	Groups                 *[]string `json:"groups"`
	Hosts                  *[]string `json:"hosts"`
	AccessTokenTTLSeconds  *int64    `json:"access_token_ttl_seconds"`
	IDTokenTTLSeconds      *int64    `json:"id_token_ttl_seconds"`
	RefreshTokenTTLSeconds *int64    `json:"refresh_token_ttl_seconds"`
	SigningAlg             *string   `json:"signing_alg"`
}

// apply writes the fields the request gives onto in. It reports false
// (after answering 400) for a value no app can have.
func (req appRequest) apply(w http.ResponseWriter, in *apps.Input) bool {
	if req.Name != nil {
		in.Name = *req.Name
	}
	for _, l := range []struct {
		src *[]string
		dst *[]string
	}{{req.RedirectURIs, &in.RedirectURIs}, {req.PostLogoutRedirectURIs, &in.PostLogoutRedirectURIs},
		{req.Scopes, &in.Scopes}, {req.Groups, &in.Groups}, {req.Hosts, &in.Hosts}} {
		if l.src != nil {
			*l.dst = *l.src
		}
	}
	for _, d := range []struct {
		field string
		src   *int64
		dst   *time.Duration
	}{{"access_token_ttl_seconds", req.AccessTokenTTLSeconds, &in.AccessTokenTTL},
		{"id_token_ttl_seconds", req.IDTokenTTLSeconds, &in.IDTokenTTL},
		{"refresh_token_ttl_seconds", req.RefreshTokenTTLSeconds, &in.RefreshTokenTTL}} {
		if d.src == nil {
			continue
		}
		if *d.src < 0 || *d.src > int64(apps.MaxRefreshTTL/time.Second) {
			badRequest(w, "A token lifetime is a number of seconds within the allowed range (0 for the default).", d.field)
			return false
		}
		*d.dst = time.Duration(*d.src) * time.Second
	}
	if req.SigningAlg != nil {
		in.SigningAlg = *req.SigningAlg
	}
	return true
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	list, err := h.Apps.List(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.App, 0, len(list))
	for _, a := range list {
		out = append(out, apiview.AppFrom(a))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req appRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	var in apps.Input
	if req.Type != nil {
		switch *req.Type {
		case "confidential":
		case "public":
			in.Public = true
		default:
			badRequest(w, `"type" is "confidential" or "public".`, "type")
			return
		}
	}
	if !req.apply(w, &in) {
		return
	}
	a, secret, err := h.Apps.Create(r.Context(), tok.OrgID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/apps/"+a.ID)
	// The secret is in this answer only; nothing keeps it in a cache.
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusCreated, apiview.AppCreated{App: apiview.AppFrom(a), ClientSecret: secret,
		Issuer: h.Apps.Issuer(), Discovery: h.Apps.DiscoveryURL()})
}

func (h *Handler) getApp(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, err := h.Apps.Get(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.AppFrom(a))
}

func (h *Handler) updateApp(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req appRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	if req.Type != nil {
		badRequest(w, "An app stays confidential or public; register a new app to change that.", "type")
		return
	}
	a, err := h.Apps.Get(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := apps.InputOf(a)
	if !req.apply(w, &in) {
		return
	}
	if a, err = h.Apps.Update(r.Context(), tok.OrgID, a.ID, in); err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.AppFrom(a))
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, err := h.Apps.Get(r.Context(), tok.OrgID, r.PathValue("id"))
	if err == nil {
		err = h.Apps.Delete(r.Context(), tok.OrgID, a.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateAppSecret(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	a, err := h.Apps.Get(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	secret, err := h.Apps.RotateSecret(r.Context(), tok.OrgID, a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, apiview.AppSecret{ClientID: a.ClientID, ClientSecret: secret})
}
