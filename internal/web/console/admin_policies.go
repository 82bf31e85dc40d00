package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// defaultRef names the default policy in console URLs before it exists
// (it is created, SSO off, the first time it is changed); the policy
// service resolves it. Existing policies are always named by ID.
const defaultRef = policy.DefaultRef

// policyCard is one policy on the policies page, with its form's values.
type policyCard struct {
	Ref        string // the path segment: the ID, or defaultRef
	Name       string
	IsDefault  bool
	SSO        string
	Connection string // the connection's name, "" if none
	Members    []policyMember

	// The SSO form: its values, and the refusal when it was refused.
	FormSSO   string
	FormConn  string // slug
	Error     string
	NeedForce bool // the refusal was for an untested connection: offer the override

	// The add-member form after a refusal.
	MemberEmail string
	MemberError string

	// Settings is the sign-in settings form (MFA, failback, lifetimes,
	// IdP groups): the stored values, or the admin's after a refusal.
	Settings *policySettings

	// Covers says whom the policy covers, in words with counts.
	Covers string
	// Domains are the email domains it names; DomainOptions the verified
	// domains no policy names yet (the add form's choices), DomainValue
	// and DomainError the add form after a refusal.
	Domains       []string
	DomainOptions []string
	DomainValue   string
	DomainError   string
}

type policyMember struct {
	Email string
	Name  string
}

// policyForm is the create form after a refusal.
type policyForm struct {
	Name, SSO, Conn string
}

// connOption is one connection a policy can name.
type connOption struct {
	Slug   string
	Label  string
	Tested bool
}

// ssoWords says what a policy's SSO mode means for its members.
var ssoWords = map[string]string{
	storage.SSOEnforced: "SSO enforced",
	storage.SSOOptional: "SSO optional",
	storage.SSOOff:      "SSO off",
}

func (h *Handler) adminPolicies(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderPolicies(w, r, adm, http.StatusOK, nil, nil, "")
}

// renderPolicies shows every policy. edit, when set, replaces the card of
// the same Ref (a refused change with the admin's values); create is the
// refused create form and createErr why it was refused.
func (h *Handler) renderPolicies(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, edit *policyCard, create *policyForm, createErr string) {
	ctx := r.Context()
	ps, err := h.Policies.List(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list policies", err)
		return
	}
	var opts []connOption
	slugs, names := map[string]string{}, map[string]string{}
	if h.IdPs != nil {
		cs, err := h.IdPs.List(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "list connections", err)
			return
		}
		for _, c := range cs {
			slugs[c.ID], names[c.ID] = c.Slug, c.Name
			label := c.Name + " (tested)"
			if c.TestedAt.IsZero() {
				label = c.Name + " (not tested yet)"
			}
			opts = append(opts, connOption{Slug: c.Slug, Label: label, Tested: !c.TestedAt.IsZero()})
		}
	}
	members, err := h.orgMembers(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list members", err)
		return
	}
	cards := make([]*policyCard, 0, len(ps)+1)
	hasDefault := false
	var named []string
	for _, p := range ps {
		ds, err := h.Policies.Domains(ctx, adm.OrgID, p.ID)
		if err != nil {
			h.serverError(w, r, "list policy domains", err)
			return
		}
		named = append(named, ds...)
	}
	domainOpts, err := h.domainOptions(r, adm.OrgID, named)
	if err != nil {
		h.serverError(w, r, "list domains", err)
		return
	}
	for _, p := range ps {
		card := &policyCard{
			Ref: p.ID, Name: p.Name, IsDefault: p.IsDefault, SSO: p.SSO, Connection: names[p.ConnectionID],
			FormSSO: p.SSO, FormConn: slugs[p.ConnectionID],
		}
		hasDefault = hasDefault || p.IsDefault
		cov, err := h.Policies.Coverage(ctx, adm.OrgID, p.ID)
		if err != nil {
			h.serverError(w, r, "count policy coverage", err)
			return
		}
		card.Covers, card.Domains, card.DomainOptions = cov.Words(), cov.Domains, domainOpts
		groups, err := h.Policies.Groups(ctx, adm.OrgID, p.ID)
		if err != nil {
			h.serverError(w, r, "list policy groups", err)
			return
		}
		st := policySettingsOf(p, groups)
		card.Settings = &st
		if !p.IsDefault {
			ids, err := h.Policies.Members(ctx, adm.OrgID, p.ID)
			if err != nil {
				h.serverError(w, r, "list policy members", err)
				return
			}
			for _, id := range ids {
				if m, ok := members[id]; ok {
					card.Members = append(card.Members, policyMember{Email: m.Email, Name: m.DisplayName})
				}
			}
			sort.Slice(card.Members, func(i, j int) bool { return card.Members[i].Email < card.Members[j].Email })
		}
		cards = append(cards, card)
	}
	if !hasDefault {
		st := policySettingsOf(storage.Policy{}, nil)
		cards = append([]*policyCard{{Ref: defaultRef, Name: policy.DefaultName, IsDefault: true, SSO: storage.SSOOff, FormSSO: storage.SSOOff, Settings: &st}}, cards...)
	}
	av := &adminView{Section: "policies", Policies: cards, ConnOptions: opts, NewPolicy: create}
	v := &view{Title: "Policies", Admin: av}
	if edit != nil {
		for i, c := range cards {
			if c.Ref == edit.Ref || (edit.Ref == defaultRef && c.IsDefault) {
				edit.Ref, edit.Name, edit.IsDefault, edit.SSO, edit.Connection, edit.Members = c.Ref, c.Name, c.IsDefault, c.SSO, c.Connection, c.Members
				edit.Covers, edit.Domains, edit.DomainOptions = c.Covers, c.Domains, c.DomainOptions
				if edit.FormSSO == "" && (edit.MemberError != "" || edit.DomainError != "" || edit.Settings != nil) {
					edit.FormSSO, edit.FormConn = c.FormSSO, c.FormConn
				}
				if edit.Settings == nil {
					edit.Settings = c.Settings
				}
				cards[i] = edit
			}
		}
	}
	if av.NewPolicy == nil {
		av.NewPolicy = &policyForm{SSO: storage.SSOOff}
	}
	if createErr != "" {
		v.Errors = map[string]string{"policy_name": createErr}
		v.Focus = "policy_name"
	}
	h.adminPage(w, r, status, "admin_policies", adm, v)
}

// policyFor reads the {ref} path value as one of the organization's
// policies (defaultRef: the default policy, stored first if need be when
// create is set), answering
// 404 itself when it is not.
func (h *Handler) policyFor(w http.ResponseWriter, r *http.Request, adm storage.Account, create bool) (storage.Policy, bool) {
	get := h.Policies.Get
	if create {
		get = h.Policies.GetForChange
	}
	p, err := get(r.Context(), adm.OrgID, r.PathValue("ref"))
	if errors.Is(err, account.ErrNotFound) {
		h.adminNotFound(w, r, "policy")
		return p, false
	}
	if err != nil {
		h.serverError(w, r, "read policy", err)
		return p, false
	}
	return p, true
}

func (h *Handler) adminPolicyCreate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	form := &policyForm{Name: f.Get("name"), SSO: f.Get("sso"), Conn: f.Get("connection")}
	conn := form.Conn
	if form.SSO == storage.SSOOff {
		conn = "" // the menu's choice means nothing with SSO off
	}
	_, err := h.Policies.Create(r.Context(), adm.OrgID, form.Name, form.SSO, conn, forceFrom(r))
	if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies") {
		return
	}
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "create policy", err)
			return
		}
		msg := fl.Message
		switch {
		case fl.Untested:
			msg += " Create the policy with SSO optional, run the test, then enforce it; or enforce it below with the override."
		case errors.Is(err, account.ErrExists):
			msg = "There is already a policy with this name."
		case errors.Is(err, account.ErrNotFound):
			msg = "That SSO connection does not exist any more. Choose another one."
			fl.Status = http.StatusBadRequest
		}
		h.renderPolicies(w, r, adm, fl.Status, nil, form, msg)
		return
	}
	seeOther(w, r, "/admin/policies", "policy-created")
}

func (h *Handler) adminPolicyUpdate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	// The default policy is created (SSO off, audited) if it does not
	// exist yet, even when the change is then refused: an organization
	// without one signs everyone in the same way as with one that is off.
	p, ok := h.policyFor(w, r, adm, true)
	if !ok {
		return
	}
	f := r.PostForm
	sso, conn := f.Get("sso"), f.Get("connection")
	// Leaving SSO outside an emergency: show who gains a password way in,
	// and offer emergency mode instead (admin_policy_exposure.go).
	if h.exposurePage(w, r, adm, p, sso) {
		return
	}
	in := policy.UpdateInput{SSO: &sso, Connection: &conn, ForceReason: forceFrom(r).Reason}
	// Without the override first, so the page can tell whether it was
	// needed; the refusal writes nothing.
	_, err := h.Policies.Update(r.Context(), adm.OrgID, p.ID, in)
	notice := "policy-updated"
	if errors.Is(err, policy.ErrUntestedConnection) && f.Get("force") == "on" {
		in.Force = true
		_, err = h.Policies.Update(r.Context(), adm.OrgID, p.ID, in)
		notice = "policy-forced"
	}
	if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies#policy-"+url.PathEscape(p.ID)) {
		return
	}
	if err != nil {
		fl, ok := classify(err)
		switch {
		case !ok:
			h.serverError(w, r, "update policy", err)
			return
		case errors.Is(err, account.ErrNotFound):
			fl.Status, fl.Message = http.StatusBadRequest, "That SSO connection does not exist any more. Choose another one."
		}
		h.renderPolicies(w, r, adm, fl.Status, &policyCard{Ref: p.ID, FormSSO: sso, FormConn: conn, Error: fl.Message, NeedForce: fl.Untested}, nil, "")
		return
	}
	seeOther(w, r, "/admin/policies#policy-"+url.PathEscape(p.ID), notice)
}

func (h *Handler) adminPolicyMemberAdd(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if p.IsDefault {
		h.ErrorPage(w, r, http.StatusBadRequest, "The default policy has no list of members: it applies to everyone no other policy names.")
		return
	}
	if err := h.Policies.SetMember(r.Context(), adm.OrgID, email, p.ID, forceFrom(r)); err != nil {
		if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies#policy-"+url.PathEscape(p.ID)) {
			return
		}
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "add policy member", err)
			return
		}
		if errors.Is(err, account.ErrNotFound) {
			fl.Status, fl.Message = http.StatusBadRequest, "Nobody in your organization has this email address. Add them on the Members page first."
		}
		h.renderPolicies(w, r, adm, fl.Status, &policyCard{Ref: p.ID, MemberEmail: email, MemberError: fl.Message}, nil, "")
		return
	}
	seeOther(w, r, "/admin/policies#policy-"+url.PathEscape(p.ID), "member-added")
}

func (h *Handler) adminPolicyMemberRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	email := r.PostForm.Get("email")
	// Only someone this policy lists is moved: a stale page must not take
	// a person out of another policy they were moved to meanwhile.
	ids, err := h.Policies.Members(r.Context(), adm.OrgID, p.ID)
	if err != nil {
		h.serverError(w, r, "list policy members", err)
		return
	}
	m, err := h.Accounts.GetMember(r.Context(), adm.OrgID, email)
	if err != nil || !slices.Contains(ids, m.ID) {
		if _, ok := classify(err); err != nil && !ok {
			h.serverError(w, r, "read member", err)
			return
		}
		h.ErrorPage(w, r, http.StatusNotFound, "That person is not a member of this policy any more.")
		return
	}
	if err := h.Policies.SetMember(r.Context(), adm.OrgID, m.Email, "", forceFrom(r)); err != nil {
		if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies#policy-"+url.PathEscape(p.ID)) {
			return
		}
		if fl, ok := classify(err); ok {
			h.ErrorPage(w, r, fl.Status, fl.Message)
			return
		}
		h.serverError(w, r, "remove policy member", err)
		return
	}
	seeOther(w, r, "/admin/policies#policy-"+url.PathEscape(p.ID), "member-removed")
}

func (h *Handler) adminPolicyDeleteConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	if p.IsDefault {
		h.ErrorPage(w, r, http.StatusConflict, policy.ErrDefaultPolicy.Error())
		return
	}
	h.adminPage(w, r, http.StatusOK, "admin_confirm", adm, &view{
		Title: "Delete " + p.Name,
		Admin: &adminView{Section: "policies", Confirm: &confirmView{
			Heading: "Delete this policy?",
			Message: "Its members fall back to the default policy, and sign in the way it says from their next sign-in.",
			Detail:  p.Name, Action: "/admin/policies/" + url.PathEscape(p.ID) + "/delete", Button: "Delete policy",
			Cancel: "/admin/policies#policy-" + url.PathEscape(p.ID),
		}},
	})
}

func (h *Handler) adminPolicyDelete(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	p, ok := h.policyFor(w, r, adm, false)
	if !ok {
		return
	}
	if err := h.Policies.Delete(r.Context(), adm.OrgID, p.ID, forceFrom(r)); err != nil {
		if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies#policy-"+url.PathEscape(p.ID)) {
			return
		}
		fl, ok := classify(err)
		switch {
		case !ok:
			h.serverError(w, r, "delete policy", err)
		case fl.Status == http.StatusNotFound:
			h.adminNotFound(w, r, "policy")
		default:
			h.ErrorPage(w, r, fl.Status, fl.Message)
		}
		return
	}
	seeOther(w, r, "/admin/policies", "policy-deleted")
}
