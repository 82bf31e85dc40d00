package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// peoplePageSize is how many people a policy's people page lists.
const peoplePageSize = 50

// policyPeopleView is the page listing whom a policy covers.
type policyPeopleView struct {
	Ref, Name string
	IsDefault bool
	Summary   string // whom it covers, in words, as a sentence
	Total     int
	TotalText string // Total with thousands separators
	People    []policy.Covered
	After     string // this page's cursor ("" on the first)
	NextHref  string // "" on the last page
	FirstHref string // "" on the first page
}

// registerPolicyCoverage mounts the people page and the domain forms of
// the policies section.
func (h *Handler) registerPolicyCoverage(handle func(string, adminHandlerFunc)) {
	handle("GET /admin/policies/{ref}/people", h.adminPolicyPeople)
	handle("POST /admin/policies/{ref}/domains", h.adminPolicyDomainAdd)
	handle("POST /admin/policies/{ref}/domains/remove", h.adminPolicyDomainRemove)
}

// sentence capitalizes s's first letter.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// adminPolicyPeople lists, by email, one page of the people the policy
// covers and why each is covered; ?after= is the keyset cursor (the last
// email of the previous page), so a deep page costs what the first does.
func (h *Handler) adminPolicyPeople(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	ctx := r.Context()
	cov, err := h.Policies.Coverage(ctx, adm.OrgID, p.ID)
	if err != nil {
		h.serverError(w, r, "count policy coverage", err)
		return
	}
	after := r.URL.Query().Get("after")
	people, next, err := h.Policies.CoveragePage(ctx, adm.OrgID, p.ID, after, peoplePageSize)
	if err != nil {
		if fl, ok := classify(err); ok {
			h.ErrorPage(w, r, fl.Status, fl.Message)
			return
		}
		h.serverError(w, r, "list policy coverage", err)
		return
	}
	base := "/admin/policies/" + url.PathEscape(p.ID) + "/people"
	v := &policyPeopleView{
		Ref: p.ID, Name: p.Name, IsDefault: p.IsDefault, Summary: sentence(cov.Words()) + ".",
		Total: cov.Total, TotalText: policy.Thousands(cov.Total), People: people, After: after,
	}
	if next != "" {
		v.NextHref = base + "?after=" + url.QueryEscape(next)
	}
	if after != "" {
		v.FirstHref = base
	}
	h.adminPage(w, r, http.StatusOK, "admin_policy_people", adm, &view{
		Title: "Who " + p.Name + " covers",
		Admin: &adminView{Section: "policies", PolicyPeople: v},
	})
}

// domainOptions are the verified domains of the organization that no
// policy names yet: those a policy's add-domain form offers.
func (h *Handler) domainOptions(r *http.Request, orgID string, named []string) ([]string, error) {
	if h.Domains == nil {
		return nil, nil
	}
	ds, err := h.Domains.List(r.Context(), orgID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if !d.VerifiedAt.IsZero() && !slices.Contains(named, d.Name) {
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (h *Handler) adminPolicyDomainAdd(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.policyDomainChange(w, r, adm, true)
}

func (h *Handler) adminPolicyDomainRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.policyDomainChange(w, r, adm, false)
}

// policyDomainChange names (add) or stops naming a domain in a policy.
// A lockout refusal shows the confirmation page, whose force reason posts
// back here.
func (h *Handler) policyDomainChange(w http.ResponseWriter, r *http.Request, adm storage.Account, add bool) {
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("domain"))
	change, notice := h.Policies.RemoveDomain, "policy-domain-removed"
	if add {
		change, notice = h.Policies.AddDomain, "policy-domain-added"
	}
	anchor := "/admin/policies#policy-" + url.PathEscape(p.ID)
	err := change(r.Context(), adm.OrgID, p.ID, name, forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "policies", anchor) {
		return
	}
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "change policy domain", err)
			return
		}
		if !add {
			h.ErrorPage(w, r, fl.Status, fl.Message)
			return
		}
		if errors.Is(err, account.ErrNotFound) {
			fl.Status = http.StatusBadRequest
		}
		h.renderPolicies(w, r, adm, fl.Status, &policyCard{Ref: p.ID, DomainValue: name, DomainError: fl.Message}, nil, "")
		return
	}
	seeOther(w, r, anchor, notice)
}
