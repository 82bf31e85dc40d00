package console

import (
	"crypto/x509"
	"errors"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// connRow is one IdP connection in a list.
type connRow struct {
	Name      string
	Slug      string
	Href      string
	Source    string // in words
	EntityID  string
	Tested    bool
	TestedAt  string
	TestedISO string
	Warnings  int
}

// connDetail is the connection page.
type connDetail struct {
	connRow
	ID            string
	SSOURL        string
	SPEntityID    string
	ACSURL        string
	SPMetadataURL string
	MetadataURL   string
	FetchedAt     string
	FetchedISO    string
	FollowsURL    bool // certificates come from the metadata URL
	Certs         []certRow
	Warnings      []string
	TestHref      string
	UsedBy        []string // policies that sign people in through it
	Settings      connSettings
}

// connSettings are the values of the settings form: the stored ones, or
// what the admin sent when the update was refused.
type connSettings struct {
	Name              string
	JIT               bool
	AllowIdPInitiated bool
	SignRequests      bool
	AllowSHA1         bool
	AllowExpiredCerts bool
	NameIDFormat      string
	Mapping           []mappingField
}

type mappingField struct {
	Key     string // email, given_name, …
	Label   string
	Value   string // the override; "" uses Default
	Default string
}

// mappingLabels names the fields an attribute can be mapped to, in the
// order the form lists them.
var mappingLabels = []struct{ key, label string }{
	{saml.MapEmail, "Email address"},
	{saml.MapGivenName, "Given name"},
	{saml.MapSurname, "Surname"},
	{saml.MapDisplayName, "Display name"},
	{saml.MapGroups, "Groups"},
	{saml.MapSubject, "Stable user ID"},
}

// nameIDFormats are the NameID format choices, by their stored names.
var nameIDFormats = []struct{ Value, Label string }{
	{"", "Any (the IdP decides)"},
	{"persistent", "Persistent"},
	{"emailAddress", "Email address"},
	{"unspecified", "Unspecified"},
}

// certRow describes one trusted certificate.
type certRow struct {
	Subject     string
	Issuer      string
	NotAfter    string
	NotAfterISO string
	Expired     bool
	Fingerprint string // lowercase hex, as RemoveCertificate takes it
}

// connForm holds the add-connection form's values after a refusal.
type connForm struct {
	Name, Slug, MetadataURL, MetadataXML, EntityID, SSOURL, Certificate string
}

func connHref(c storage.IdPConnection) string { return "/admin/sso/" + url.PathEscape(c.Slug) }

func sourceWords(c storage.IdPConnection) string {
	switch {
	case c.MetadataURL != "":
		return "Metadata URL"
	case c.MetadataXML != "":
		return "Pasted metadata"
	}
	return "Entered by hand"
}

func (h *Handler) connRow(c storage.IdPConnection, now time.Time) connRow {
	return connRow{
		Name: c.Name, Slug: c.Slug, Href: connHref(c), Source: sourceWords(c), EntityID: c.EntityID,
		Tested: !c.TestedAt.IsZero(), TestedAt: formatTime(c.TestedAt), TestedISO: isoTime(c.TestedAt),
		Warnings: len(h.IdPs.Warnings(c, now)),
	}
}

func settingsOf(c storage.IdPConnection) connSettings {
	s := connSettings{
		Name: c.Name, JIT: c.JIT, AllowIdPInitiated: c.AllowIdPInitiated, SignRequests: c.SignRequests,
		AllowSHA1: c.AllowSHA1, AllowExpiredCerts: c.AllowExpiredCerts, NameIDFormat: c.NameIDFormat,
	}
	def := saml.DefaultMapping()
	for _, f := range mappingLabels {
		s.Mapping = append(s.Mapping, mappingField{Key: f.key, Label: f.label, Value: c.AttributeMap[f.key], Default: def[f.key]})
	}
	return s
}

func certRows(c storage.IdPConnection, now time.Time) []certRow {
	certs, err := idp.TrustedCertificates(c)
	if err != nil {
		return nil // Warnings names the unreadable certificate
	}
	out := make([]certRow, 0, len(certs))
	for _, cert := range certs {
		out = append(out, certRowOf(cert, now))
	}
	return out
}

func certRowOf(c *x509.Certificate, now time.Time) certRow {
	subject := c.Subject.String()
	if subject == "" {
		subject = "(no subject)"
	}
	return certRow{
		Subject: subject, Issuer: c.Issuer.String(),
		NotAfter: c.NotAfter.UTC().Format("2 Jan 2006"), NotAfterISO: isoTime(c.NotAfter),
		Expired: now.After(c.NotAfter), Fingerprint: saml.Fingerprint(c),
	}
}

func (h *Handler) adminConnections(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	cs, err := h.IdPs.List(r.Context(), adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list connections", err)
		return
	}
	now := h.now()
	rows := make([]connRow, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, h.connRow(c, now))
	}
	h.adminPage(w, r, http.StatusOK, "admin_sso", adm, &view{
		Title: "Single sign-on",
		Admin: &adminView{Section: "sso", Connections: rows},
	})
}

func (h *Handler) adminConnectionNew(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.adminPage(w, r, http.StatusOK, "admin_sso_new", adm, &view{
		Title: "Add an SSO connection",
		Admin: &adminView{Section: "sso", ConnForm: &connForm{}},
	})
}

// connFormFields are the add form's fields in page order, for the focus.
var connFormFields = []string{"name", "slug", "metadata_url", "metadata_xml", "entity_id", "sso_url", "certificates"}

func (h *Handler) adminConnectionCreate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	form := &connForm{
		Name: f.Get("name"), Slug: f.Get("slug"), MetadataURL: f.Get("metadata_url"), MetadataXML: f.Get("metadata_xml"),
		EntityID: f.Get("entity_id"), SSOURL: f.Get("sso_url"), Certificate: f.Get("certificates"),
	}
	in := idp.CreateInput{
		Name: form.Name, Slug: strings.TrimSpace(form.Slug), MetadataURL: form.MetadataURL, MetadataXML: form.MetadataXML,
		EntityID: form.EntityID, SSOURL: form.SSOURL,
	}
	if strings.TrimSpace(form.Certificate) != "" {
		in.CertificatesPEM = []string{form.Certificate}
	}
	c, err := h.IdPs.Create(r.Context(), adm.OrgID, in)
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "create connection", err)
			return
		}
		v := &view{Title: "Add an SSO connection", Admin: &adminView{Section: "sso", ConnForm: form}}
		field := fl.Field
		if field == "certificate" {
			field = "certificates"
		}
		if field == "metadata_url" && strings.TrimSpace(form.MetadataURL) == "" {
			field = "" // "give exactly one source": about the whole form
		}
		if fl.Status == http.StatusNotFound || fl.Status == http.StatusConflict {
			fl.Status = http.StatusBadRequest
			if errors.Is(err, account.ErrExists) {
				field = "slug"
				fl.Message = "Another connection already uses this slug. Choose another one, or leave it empty."
			}
		}
		if slices.Contains(connFormFields, field) {
			v.Errors = map[string]string{field: fl.Message}
			v.Focus = field
		} else {
			v.Error = fl.Message
		}
		h.adminPage(w, r, fl.Status, "admin_sso_new", adm, v)
		return
	}
	seeOther(w, r, connHref(c), "conn-created")
}

// connectionFor reads the {ref} path value, a slug or an ID, as one of the
// organization's connections, answering 404 itself when it is not.
func (h *Handler) connectionFor(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.IdPConnection, bool) {
	ref := r.PathValue("ref")
	c, err := h.IdPs.GetBySlug(r.Context(), adm.OrgID, ref)
	if errors.Is(err, account.ErrNotFound) {
		c, err = h.IdPs.Get(r.Context(), adm.OrgID, ref)
	}
	if errors.Is(err, account.ErrNotFound) {
		h.adminNotFound(w, r, "SSO connection")
		return c, false
	}
	if err != nil {
		h.serverError(w, r, "read connection", err)
		return c, false
	}
	return c, true
}

func (h *Handler) adminConnection(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	h.renderConnection(w, r, adm, http.StatusOK, c, nil, "", nil)
}

// renderConnection shows the connection page. settings replaces the stored
// settings in the form after a refused update; errMsg and errs describe
// the refusal.
func (h *Handler) renderConnection(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, c storage.IdPConnection, settings *connSettings, errMsg string, errs map[string]string) {
	now := h.now()
	d := &connDetail{
		connRow: h.connRow(c, now), ID: c.ID, SSOURL: c.SSOURL,
		SPEntityID: h.IdPs.SPEntityID(c), ACSURL: h.IdPs.ACSURL(c), SPMetadataURL: h.IdPs.MetadataURL(c),
		MetadataURL: c.MetadataURL, FetchedAt: formatTime(c.MetadataFetchedAt), FetchedISO: isoTime(c.MetadataFetchedAt),
		FollowsURL: c.MetadataURL != "", Certs: certRows(c, now), Warnings: h.IdPs.Warnings(c, now),
		TestHref: "/saml/" + url.PathEscape(c.Slug) + "/test",
		Settings: settingsOf(c),
	}
	if settings != nil {
		d.Settings = *settings
	}
	if h.Policies != nil {
		ps, err := h.Policies.List(r.Context(), adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list policies", err)
			return
		}
		for _, p := range ps {
			if p.ConnectionID == c.ID && p.SSO != storage.SSOOff {
				d.UsedBy = append(d.UsedBy, p.Name+" (SSO "+p.SSO+")")
			}
		}
	}
	v := &view{Title: c.Name, Error: errMsg, Errors: errs, Admin: &adminView{Section: "sso", Conn: d}}
	if h.Health != nil {
		hv, err := h.connHealth(r.Context(), c, now)
		if err != nil {
			h.serverError(w, r, "read connection health", err)
			return
		}
		v.Health = hv
	}
	v.Focus = page.FirstError(errs, "certificate", "name", "name_id_format", "attribute_map")
	if v.Focus == "attribute_map" {
		v.Focus = "map_" + saml.MapEmail
	}
	h.adminPage(w, r, status, "admin_sso_detail", adm, v)
}

func (h *Handler) adminConnectionUpdate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	f := r.PostForm
	on := func(k string) bool { return f.Get(k) == "on" }
	s := connSettings{
		Name: f.Get("name"), JIT: on("jit"), AllowIdPInitiated: on("allow_idp_initiated"), SignRequests: on("sign_requests"),
		AllowSHA1: on("allow_sha1"), AllowExpiredCerts: on("allow_expired_certs"), NameIDFormat: f.Get("name_id_format"),
	}
	mapping := map[string]string{}
	def := saml.DefaultMapping()
	for _, m := range mappingLabels {
		v := strings.TrimSpace(f.Get("map_" + m.key))
		s.Mapping = append(s.Mapping, mappingField{Key: m.key, Label: m.label, Value: v, Default: def[m.key]})
		if v != "" {
			mapping[m.key] = v
		}
	}
	in := idp.UpdateInput{
		Name: &s.Name, NameIDFormat: &s.NameIDFormat, AttributeMap: &mapping,
		JIT: &s.JIT, AllowIdPInitiated: &s.AllowIdPInitiated, SignRequests: &s.SignRequests,
		AllowSHA1: &s.AllowSHA1, AllowExpiredCerts: &s.AllowExpiredCerts,
	}
	out, err := h.IdPs.Update(r.Context(), adm.OrgID, c.ID, in)
	if err != nil {
		fl, ok := classify(err)
		switch {
		case !ok:
			h.serverError(w, r, "update connection", err)
		case fl.Status == http.StatusNotFound:
			h.adminNotFound(w, r, "SSO connection")
		default:
			field := fl.Field
			if !slices.Contains([]string{"name", "name_id_format", "attribute_map"}, field) {
				h.renderConnection(w, r, adm, fl.Status, c, &s, fl.Message, nil)
				return
			}
			h.renderConnection(w, r, adm, fl.Status, c, &s, "", map[string]string{field: fl.Message})
		}
		return
	}
	notice := "conn-updated"
	switch {
	case reflect.DeepEqual(settingsOf(out), settingsOf(c)):
		notice = "conn-unchanged"
	case !c.TestedAt.IsZero() && out.TestedAt.IsZero():
		notice = "conn-voided"
	}
	seeOther(w, r, connHref(out), notice)
}

func (h *Handler) adminCertificateAdd(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	out, err := h.IdPs.AddCertificate(r.Context(), adm.OrgID, c.ID, r.PostForm.Get("certificate"))
	if err != nil {
		h.connectionRefused(w, r, adm, c, err, "add certificate", "certificate")
		return
	}
	seeOther(w, r, connHref(out), "cert-added")
}

func (h *Handler) adminCertificateRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	out, err := h.IdPs.RemoveCertificate(r.Context(), adm.OrgID, c.ID, r.PostForm.Get("fingerprint"))
	if err != nil {
		h.connectionRefused(w, r, adm, c, err, "remove certificate", "")
		return
	}
	seeOther(w, r, connHref(out), "cert-removed")
}

// connectionRefused shows the connection page with a refused change's
// reason, on field when it is an input error about it.
func (h *Handler) connectionRefused(w http.ResponseWriter, r *http.Request, adm storage.Account, c storage.IdPConnection, err error, what, field string) {
	fl, ok := classify(err)
	if !ok {
		h.serverError(w, r, what, err)
		return
	}
	if fl.Status == http.StatusNotFound {
		// The connection itself was found; what is missing is named in
		// the message (e.g. a certificate removed meanwhile).
		fl.Status = http.StatusConflict
	}
	if field != "" && fl.Field != "" && c.MetadataURL == "" {
		// The field's form is on the page (a connection that follows its
		// metadata URL has no certificate form): the error goes there.
		h.renderConnection(w, r, adm, fl.Status, c, nil, "", map[string]string{field: fl.Message})
		return
	}
	h.renderConnection(w, r, adm, fl.Status, c, nil, fl.Message, nil)
}

func (h *Handler) adminConnectionRefresh(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	if c.MetadataURL == "" {
		h.renderConnection(w, r, adm, http.StatusBadRequest, c, nil, "This connection has no metadata URL to refresh from.", nil)
		return
	}
	out, err := h.IdPs.RefreshMetadata(r.Context(), c.ID)
	var inv *account.InvalidInputError
	switch {
	case errors.As(err, &inv):
		if out.ID == "" {
			out = c
		}
		h.renderConnection(w, r, adm, http.StatusUnprocessableEntity, out, nil,
			"The metadata could not be refreshed: "+strings.TrimSuffix(inv.Message, ".")+". Sign-in keeps using the last good copy.", nil)
		return
	case err != nil:
		h.serverError(w, r, "refresh metadata", err)
		return
	}
	seeOther(w, r, connHref(out), "metadata-refreshed")
}

func (h *Handler) adminConnectionRemoveConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	h.renderConnectionRemove(w, r, adm, http.StatusOK, c, "")
}

func (h *Handler) renderConnectionRemove(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, c storage.IdPConnection, errMsg string) {
	h.adminPage(w, r, status, "admin_confirm", adm, &view{
		Title: "Remove " + c.Name,
		Error: errMsg,
		Admin: &adminView{Section: "sso", Confirm: &confirmView{
			Heading: "Remove this SSO connection?",
			Message: "People can no longer sign in through it, and every account's link to it is deleted. Sessions already started are not affected. The IdP keeps its settings for Gatehouse until you remove them there.",
			Detail:  c.Name, Action: connHref(c) + "/remove", Button: "Remove connection", Cancel: connHref(c),
		}},
	})
}

func (h *Handler) adminConnectionRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	c, ok := h.connectionFor(w, r, adm)
	if !ok {
		return
	}
	if err := h.IdPs.Remove(r.Context(), adm.OrgID, c.ID); err != nil {
		fl, ok := classify(err)
		switch {
		case !ok:
			h.serverError(w, r, "remove connection", err)
		case fl.Status == http.StatusNotFound:
			h.adminNotFound(w, r, "SSO connection")
		default:
			h.renderConnectionRemove(w, r, adm, fl.Status, c, fl.Message)
		}
		return
	}
	seeOther(w, r, "/admin/sso", "conn-removed")
}
