package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// domainRow is one email domain as the console shows it.
type domainRow struct {
	ID          string
	Name        string
	Verified    bool
	VerifiedAt  string
	CheckedAt   string
	CheckedISO  string
	LastError   string
	RecordName  string
	RecordValue string
	Href        string
}

func (h *Handler) domainRow(d storage.Domain) domainRow {
	return domainRow{
		ID: d.ID, Name: d.Name, Verified: !d.VerifiedAt.IsZero(), VerifiedAt: formatTime(d.VerifiedAt),
		CheckedAt: formatTime(d.LastCheckedAt), CheckedISO: isoTime(d.LastCheckedAt), LastError: d.LastError,
		RecordName: h.Domains.RecordName(d), RecordValue: h.Domains.TXTRecord(d),
		Href: "/admin/domains/" + url.PathEscape(d.ID),
	}
}

func (h *Handler) adminDomains(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderDomains(w, r, adm, http.StatusOK, "", nil)
}

// renderDomains shows the list with the add form; name and f are the add
// form's value and problem after a refused add.
func (h *Handler) renderDomains(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, name string, f *failure) {
	ds, err := h.Domains.List(r.Context(), adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list domains", err)
		return
	}
	rows := make([]domainRow, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, h.domainRow(d))
	}
	v := &view{Title: "Domains", Admin: &adminView{Section: "domains", Domains: rows, NewDomain: name}}
	if f != nil {
		v.Errors = map[string]string{"domain_name": f.Message}
		v.Focus = "domain_name"
	}
	h.adminPage(w, r, status, "admin_domains", adm, v)
}

func (h *Handler) adminDomainAdd(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	d, err := h.Domains.Add(r.Context(), adm.OrgID, name)
	if err != nil {
		f, ok := classify(err)
		if !ok {
			h.serverError(w, r, "add domain", err)
			return
		}
		if f.Status == http.StatusNotFound {
			f.Status = http.StatusBadRequest
		}
		h.renderDomains(w, r, adm, f.Status, name, &f)
		return
	}
	seeOther(w, r, "/admin/domains/"+url.PathEscape(d.ID), "domain-added")
}

// domainFor reads the {id} path value as one of the organization's
// domains, answering 404 itself when it is not.
func (h *Handler) domainFor(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.Domain, bool) {
	d, err := h.Domains.Get(r.Context(), adm.OrgID, r.PathValue("id"))
	if errors.Is(err, domain.ErrNotFound) {
		h.adminNotFound(w, r, "domain")
		return d, false
	}
	if err != nil {
		h.serverError(w, r, "read domain", err)
		return d, false
	}
	return d, true
}

func (h *Handler) adminDomain(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	d, ok := h.domainFor(w, r, adm)
	if !ok {
		return
	}
	h.renderDomain(w, r, adm, http.StatusOK, d, "")
}

func (h *Handler) renderDomain(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, d storage.Domain, errMsg string) {
	row := h.domainRow(d)
	h.adminPage(w, r, status, "admin_domain", adm, &view{
		Title: d.Name,
		Error: errMsg,
		Admin: &adminView{Section: "domains", Domain: &row},
	})
}

func (h *Handler) adminDomainVerify(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	d, ok := h.domainFor(w, r, adm)
	if !ok {
		return
	}
	got, err := h.Domains.Verify(r.Context(), adm.OrgID, d.ID, forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "domains", "/admin/domains/"+url.PathEscape(d.ID)) {
		return
	}
	if err != nil {
		f, ok := classify(err)
		switch {
		case !ok:
			h.serverError(w, r, "verify domain", err)
		case f.Status == http.StatusNotFound:
			h.adminNotFound(w, r, "domain")
		default:
			// The failed check is recorded on the domain: show the
			// stored copy, with the service's reason on top.
			if got.ID == "" {
				got = d
			}
			h.renderDomain(w, r, adm, f.Status, got, f.Message)
		}
		return
	}
	seeOther(w, r, "/admin/domains/"+url.PathEscape(d.ID), "domain-verified")
}

func (h *Handler) adminDomainRemoveConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	d, ok := h.domainFor(w, r, adm)
	if !ok {
		return
	}
	msg := "It has not been verified yet, so removing it changes nothing for anyone."
	if !d.VerifiedAt.IsZero() {
		msg = "Accounts with this email domain will no longer be managed by your organization: its policies, including enforced single sign-on, stop applying to new sign-ins, and another organization could verify the domain."
	}
	h.adminPage(w, r, http.StatusOK, "admin_confirm", adm, &view{
		Title: "Remove " + d.Name,
		Admin: &adminView{Section: "domains", Confirm: &confirmView{
			Heading: "Remove this domain?", Message: msg, Detail: d.Name,
			Action: "/admin/domains/" + url.PathEscape(d.ID) + "/remove", Button: "Remove domain",
			Cancel: "/admin/domains/" + url.PathEscape(d.ID),
		}},
	})
}

func (h *Handler) adminDomainRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	d, ok := h.domainFor(w, r, adm)
	if !ok {
		return
	}
	if err := h.Domains.Remove(r.Context(), adm.OrgID, d.ID); errors.Is(err, domain.ErrNotFound) {
		h.adminNotFound(w, r, "domain")
		return
	} else if err != nil {
		h.serverError(w, r, "remove domain", err)
		return
	}
	seeOther(w, r, "/admin/domains", "domain-removed")
}
