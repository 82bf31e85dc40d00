package adminapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// idpFields renames the service's input fields to the request's.
var idpFields = map[string]string{
	"certificates": "certificates_pem", "certificate": "certificate_pem",
	"allow_expired_certs": "allow_expired_certificates",
}

// failIdP answers an IdP service error, naming request fields as the
// request does (rename, if given, wins over idpFields).
func (h *Handler) failIdP(w http.ResponseWriter, r *http.Request, err error, rename ...string) {
	var invalid *account.InvalidInputError
	if errors.As(err, &invalid) {
		field := invalid.Field
		if f, ok := idpFields[field]; ok {
			field = f
		}
		if len(rename) > 0 && field != "" {
			field = rename[0]
		}
		badRequest(w, invalid.Message, field)
		return
	}
	h.fail(w, r, err)
}

func (h *Handler) connection(w http.ResponseWriter, r *http.Request, tok storage.APIToken) (storage.IdPConnection, bool) {
	c, err := h.IdPs.Find(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return c, false
	}
	return c, true
}

func (h *Handler) writeConnection(w http.ResponseWriter, status int, c storage.IdPConnection) {
	httpserver.WriteJSON(w, status, apiview.ConnectionFrom(h.IdPs, c, h.Now()))
}

func (h *Handler) listIdPs(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	cs, err := h.IdPs.List(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Now()
	out := make([]apiview.Connection, 0, len(cs))
	for _, c := range cs {
		out = append(out, apiview.ConnectionFrom(h.IdPs, c, now))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"idps": out})
}

// createIdPRequest is the body of POST /idps: exactly one source
// (metadata_url, metadata_xml, or entity_id + sso_url + certificates_pem).
type createIdPRequest struct {
	Name                     string            `json:"name"`
	Slug                     string            `json:"slug"`
	MetadataURL              string            `json:"metadata_url"`
	MetadataXML              string            `json:"metadata_xml"`
	EntityID                 string            `json:"entity_id"`
	SSOURL                   string            `json:"sso_url"`
	CertificatesPEM          []string          `json:"certificates_pem"`
	NameIDFormat             string            `json:"name_id_format"`
	AttributeMap             map[string]string `json:"attribute_map"`
	JIT                      *bool             `json:"jit"` // default true
	AllowIdPInitiated        bool              `json:"allow_idp_initiated"`
	AllowSHA1                bool              `json:"allow_sha1"`
	AllowExpiredCertificates bool              `json:"allow_expired_certificates"`
	SignRequests             bool              `json:"sign_requests"`
}

func (h *Handler) createIdP(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req createIdPRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	c, err := h.IdPs.Create(r.Context(), tok.OrgID, idp.CreateInput{
		Name: req.Name, Slug: req.Slug, MetadataURL: req.MetadataURL, MetadataXML: req.MetadataXML,
		EntityID: req.EntityID, SSOURL: req.SSOURL, CertificatesPEM: req.CertificatesPEM,
		NameIDFormat: req.NameIDFormat, AttributeMap: req.AttributeMap, JIT: req.JIT,
		AllowIdPInitiated: req.AllowIdPInitiated, AllowSHA1: req.AllowSHA1,
		AllowExpiredCerts: req.AllowExpiredCertificates, SignRequests: req.SignRequests,
	})
	if err != nil {
		h.failIdP(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/idps/"+c.ID)
	h.writeConnection(w, http.StatusCreated, c)
}

func (h *Handler) getIdP(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if c, ok := h.connection(w, r, tok); ok {
		h.writeConnection(w, http.StatusOK, c)
	}
}

// updateIdPRequest is the body of PATCH /idps/{id}; absent fields stay as
// they are. The slug never changes (the IdP is configured with URLs that
// contain it); certificates change through /certificates.
type updateIdPRequest struct {
	Name                     *string            `json:"name"`
	MetadataURL              *string            `json:"metadata_url"`
	MetadataXML              *string            `json:"metadata_xml"`
	EntityID                 *string            `json:"entity_id"`
	SSOURL                   *string            `json:"sso_url"`
	NameIDFormat             *string            `json:"name_id_format"`
	AttributeMap             *map[string]string `json:"attribute_map"`
	JIT                      *bool              `json:"jit"`
	AllowIdPInitiated        *bool              `json:"allow_idp_initiated"`
	AllowSHA1                *bool              `json:"allow_sha1"`
	AllowExpiredCertificates *bool              `json:"allow_expired_certificates"`
	SignRequests             *bool              `json:"sign_requests"`
}

func (h *Handler) updateIdP(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req updateIdPRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	in := idp.UpdateInput{
		Name: req.Name, MetadataURL: req.MetadataURL, MetadataXML: req.MetadataXML,
		EntityID: req.EntityID, SSOURL: req.SSOURL, NameIDFormat: req.NameIDFormat,
		AttributeMap: req.AttributeMap, JIT: req.JIT, AllowIdPInitiated: req.AllowIdPInitiated,
		AllowSHA1: req.AllowSHA1, AllowExpiredCerts: req.AllowExpiredCertificates, SignRequests: req.SignRequests,
	}
	if in == (idp.UpdateInput{}) {
		badRequest(w, "Nothing to change: give at least one field.", "")
		return
	}
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	if c, err := h.IdPs.Update(r.Context(), tok.OrgID, c.ID, in); err != nil {
		h.failIdP(w, r, err)
	} else {
		h.writeConnection(w, http.StatusOK, c)
	}
}

func (h *Handler) removeIdP(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	if err := h.IdPs.Remove(r.Context(), tok.OrgID, c.ID); err != nil {
		h.failIdP(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addCertificateRequest is the body of POST /idps/{id}/certificates.
type addCertificateRequest struct {
	CertificatePEM string `json:"certificate_pem"`
}

func (h *Handler) addIdPCertificate(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req addCertificateRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	if c, err := h.IdPs.AddCertificate(r.Context(), tok.OrgID, c.ID, req.CertificatePEM); err != nil {
		h.failIdP(w, r, err, "certificate_pem") // the body's only field
	} else {
		h.writeConnection(w, http.StatusOK, c)
	}
}

func (h *Handler) removeIdPCertificate(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	if c, err := h.IdPs.RemoveCertificate(r.Context(), tok.OrgID, c.ID, r.PathValue("fingerprint")); err != nil {
		h.failIdP(w, r, err)
	} else {
		h.writeConnection(w, http.StatusOK, c)
	}
}

// refreshIdPMetadata fetches the connection's metadata URL now. A failed
// fetch keeps the last good copy (sign-in goes on working with it), is
// recorded on the connection and audited by the service, and is answered
// 422 metadata_unavailable with the reason.
func (h *Handler) refreshIdPMetadata(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req struct{}
	if !h.decode(w, r, &req, true) {
		return
	}
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	if c.MetadataURL == "" {
		badRequest(w, "This connection has no metadata URL to refresh from.", "metadata_url")
		return
	}
	c, err := h.IdPs.RefreshMetadata(r.Context(), c.ID)
	var invalid *account.InvalidInputError
	switch {
	case errors.As(err, &invalid):
		writeError(w, http.StatusUnprocessableEntity, CodeMetadataUnavailable,
			strings.TrimSuffix(invalid.Message, ".")+". Sign-in keeps using the last good copy.", "")
	case err != nil:
		h.fail(w, r, err)
	default:
		h.writeConnection(w, http.StatusOK, c)
	}
}

// spMetadata serves the SP metadata to upload to the IdP, as a download.
func (h *Handler) spMetadata(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	xml, err := h.IdPs.SPMetadata(r.Context(), c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-sp-`+c.Slug+`.xml"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(xml)
}
