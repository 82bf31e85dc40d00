package adminapi

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	ds, err := h.Domains.List(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, apiview.DomainFrom(h.Domains, d))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"domains": out})
}

// addDomainRequest is the body of POST /domains.
type addDomainRequest struct {
	Name string `json:"name"`
}

func (h *Handler) addDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req addDomainRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	d, err := h.Domains.Add(r.Context(), tok.OrgID, req.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/domains/"+d.ID)
	httpserver.WriteJSON(w, http.StatusCreated, apiview.DomainFrom(h.Domains, d))
}

func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	d, err := h.Domains.Find(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.DomainFrom(h.Domains, d))
}

// verifyDomain looks the TXT record up now. A failed check is recorded on
// the domain and audited by the service, and answered 422 with the reason
// in plain language (or 409 domain_taken).
func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req forceRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	d, err := h.Domains.Find(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d, err = h.Domains.Verify(r.Context(), tok.OrgID, d.ID, req.force()); err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.DomainFrom(h.Domains, d))
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	d, err := h.Domains.Find(r.Context(), tok.OrgID, r.PathValue("id"))
	if err == nil {
		err = h.Domains.Remove(r.Context(), tok.OrgID, d.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
