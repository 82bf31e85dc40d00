package adminapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Domain is the JSON of an email domain the organization claims. The TXT
// record is included while it is pending and after: it is what the admin
// publishes, and it must stay published for a later re-check to pass.
type Domain struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Verified      bool       `json:"verified"`
	VerifiedAt    *time.Time `json:"verified_at"` // null until verified
	CreatedAt     time.Time  `json:"created_at"`
	LastCheckedAt *time.Time `json:"last_checked_at"` // null until the first check
	LastError     string     `json:"last_error"`      // why the last check failed; "" if it passed
	TXTRecord     TXTRecord  `json:"txt_record"`
}

// TXTRecord is the DNS record that proves ownership of a domain.
type TXTRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// DomainFrom converts a storage record; svc supplies the record to publish.
func DomainFrom(svc *domain.Service, d storage.Domain) Domain {
	return Domain{
		ID: d.ID, Name: d.Name, Verified: !d.VerifiedAt.IsZero(), VerifiedAt: optTime(d.VerifiedAt),
		CreatedAt: d.CreatedAt.UTC(), LastCheckedAt: optTime(d.LastCheckedAt), LastError: d.LastError,
		TXTRecord: TXTRecord{Name: svc.RecordName(d), Type: "TXT", Value: svc.TXTRecord(d)},
	}
}

// FindDomain resolves ref, a domain ID or a domain name (any case, with or
// without a trailing dot), within the organization. Another organization's
// domain is domain.ErrNotFound, like one that does not exist.
func FindDomain(ctx context.Context, svc *domain.Service, orgID, ref string) (storage.Domain, error) {
	d, err := svc.Get(ctx, orgID, ref)
	if err == nil || !errors.Is(err, domain.ErrNotFound) {
		return d, err
	}
	name, nerr := domain.Normalize(ref)
	if nerr != nil {
		return storage.Domain{}, err
	}
	ds, lerr := svc.List(ctx, orgID)
	if lerr != nil {
		return storage.Domain{}, lerr
	}
	for _, d := range ds {
		if d.Name == name {
			return d, nil
		}
	}
	return storage.Domain{}, err
}

func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	ds, err := h.Domains.List(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, DomainFrom(h.Domains, d))
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
	httpserver.WriteJSON(w, http.StatusCreated, DomainFrom(h.Domains, d))
}

func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	d, err := FindDomain(r.Context(), h.Domains, tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, DomainFrom(h.Domains, d))
}

// verifyDomain looks the TXT record up now. A failed check is recorded on
// the domain and audited by the service, and answered 422 with the reason
// in plain language (or 409 domain_taken).
func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req forceRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	d, err := FindDomain(r.Context(), h.Domains, tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d, err = h.Domains.Verify(r.Context(), tok.OrgID, d.ID, req.force()); err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, DomainFrom(h.Domains, d))
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	d, err := FindDomain(r.Context(), h.Domains, tok.OrgID, r.PathValue("id"))
	if err == nil {
		err = h.Domains.Remove(r.Context(), tok.OrgID, d.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
