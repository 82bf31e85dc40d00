package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// memberListView is the members page at scale: the search form's values,
// one page of people and the links around it.
type memberListView struct {
	Query     memberQueryForm
	Rows      []memberListRow
	Policies  []policyChoice // for the filter and "move to a policy"
	NextHref  string
	PrevHref  string
	FirstHref string
	Export    string // the CSV export of this search
	Filtered  bool   // some filter or search is set
	HasBulk   bool   // bulk actions are offered
	CanPolicy bool
}

// memberQueryForm is the search form as the browser sent it (GET).
type memberQueryForm struct {
	Q, Role, Status, Policy, Method, Sort, Dir string
	NoMFA, NoEmergency                         bool
}

type policyChoice struct{ ID, Name string }

// memberListRow is one person on the members page.
type memberListRow struct {
	ID, Email, Name, Href   string
	RoleWords, Status       string // Status: active, invited, suspended
	Methods                 []string
	HasMFA, Emergency       bool
	LastSignIn, LastSignISO string
	Policy                  string
	Self                    bool
}

// queryFrom reads the members page's query string.
func queryFrom(r *http.Request) (memberQueryForm, members.Query) {
	v := r.URL.Query()
	f := memberQueryForm{
		Q: v.Get("q"), Role: v.Get("role"), Status: v.Get("status"), Policy: v.Get("policy"),
		Method: v.Get("method"), Sort: v.Get("sort"), Dir: v.Get("dir"),
		NoMFA: v.Get("nomfa") == "1", NoEmergency: v.Get("noemergency") == "1",
	}
	q := members.Query{
		Q: f.Q, Role: f.Role, Status: f.Status, Policy: f.Policy, Method: f.Method, Sort: f.Sort,
		Desc: f.Dir == "desc", NoMFA: f.NoMFA, NoEmergencyPasskey: f.NoEmergency,
		After: v.Get("after"), Before: v.Get("before"),
	}
	return f, q
}

// values is f as a query string (without cursors), for the page links.
func (f memberQueryForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "role": f.Role, "status": f.Status, "policy": f.Policy, "method": f.Method, "sort": f.Sort, "dir": f.Dir} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.NoMFA {
		v.Set("nomfa", "1")
	}
	if f.NoEmergency {
		v.Set("noemergency", "1")
	}
	return v
}

func hrefWith(path string, v url.Values, k, val string) string {
	w := url.Values{}
	for key, vs := range v {
		w[key] = vs
	}
	if k != "" {
		w.Set(k, val)
	}
	if len(w) == 0 {
		return path
	}
	return path + "?" + w.Encode()
}

// policyChoices lists the organization's policies (nil without the
// policies section).
func (h *Handler) policyChoices(r *http.Request, adm storage.Account) ([]policyChoice, map[string]string, error) {
	names := map[string]string{}
	if h.Policies == nil {
		return nil, names, nil
	}
	ps, err := h.Policies.List(r.Context(), adm.OrgID)
	if err != nil {
		return nil, nil, err
	}
	var out []policyChoice
	for _, p := range ps {
		if p.IsDefault {
			continue // chosen as "-": covered by the default
		}
		out = append(out, policyChoice{ID: p.ID, Name: p.Name})
		names[p.ID] = p.Name
	}
	return out, names, nil
}

// renderMemberList renders the members page: the add block, the search
// form and one page of the search.
func (h *Handler) renderMemberList(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, form *inviteForm, errs map[string]string) {
	f, q := queryFrom(r)
	lv := &memberListView{Query: f, HasBulk: true, CanPolicy: h.Policies != nil}
	choices, names, err := h.policyChoices(r, adm)
	if err != nil {
		h.serverError(w, r, "list policies", err)
		return
	}
	lv.Policies = choices
	v := &view{Title: "Members", Errors: errs, Admin: &adminView{Section: "members", Invite: form, MemberList: lv}}
	v.Focus = page.FirstError(errs, "invite_email", "invite_name", "invite_role")
	pg, err := h.memberSvc().Search(r.Context(), adm.OrgID, q)
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "search members", err)
			return
		}
		// A bad filter or a stale cursor: say so above an empty list.
		v.Error, status = fl.Message, http.StatusBadRequest
	}
	base := f.values()
	lv.Filtered = len(base) > 0 && !(len(base) <= 2 && base.Get("sort")+base.Get("dir") != "" && f.Q == "" && f.Role == "" && f.Status == "" && f.Policy == "" && f.Method == "" && !f.NoMFA && !f.NoEmergency)
	lv.Export = hrefWith("/admin/members/export", base, "", "")
	lv.FirstHref = hrefWith("/admin/members", base, "", "")
	if pg.Next != "" {
		lv.NextHref = hrefWith("/admin/members", base, "after", pg.Next)
	}
	if pg.Prev != "" {
		lv.PrevHref = hrefWith("/admin/members", base, "before", pg.Prev)
	}
	for _, m := range pg.Members {
		lv.Rows = append(lv.Rows, h.listRow(m, adm, names))
	}
	h.adminPage(w, r, status, "admin_members", adm, v)
}

func (h *Handler) listRow(m storage.MemberListing, adm storage.Account, policyNames map[string]string) memberListRow {
	row := memberListRow{
		ID: m.ID, Email: m.Email, Name: m.DisplayName, Href: "/admin/members/" + url.PathEscape(m.ID),
		RoleWords: page.RoleWords[m.Role], Status: members.StatusOf(m), HasMFA: m.HasMFA, Emergency: m.EmergencyPasskey,
		LastSignIn: formatTime(m.LastSignInAt), LastSignISO: isoTime(m.LastSignInAt), Self: m.ID == adm.ID,
		Policy: policyNames[m.PolicyID],
	}
	if m.SSOLinked {
		row.Methods = append(row.Methods, "SSO")
	}
	if m.PasswordHash != "" {
		row.Methods = append(row.Methods, "Password")
	}
	if m.HasPasskey {
		row.Methods = append(row.Methods, "Passkey")
	}
	return row
}

// memberSvc is the members service (Register requires it).
func (h *Handler) memberSvc() *members.Service { return h.Members }

// adminMembersExport streams the CSV of the page's search (GET: it
// changes nothing, and a link can carry the filters).
func (h *Handler) adminMembersExport(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	_, q := queryFrom(r)
	// Check the query before the first byte, so a bad one is a page.
	if _, err := q.ToStorage(adm.OrgID); err != nil {
		fl, _ := classify(err)
		h.ErrorPage(w, r, http.StatusBadRequest, fl.Message)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="members-`+h.now().UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := h.memberSvc().Export(r.Context(), adm.OrgID, q, w); err != nil {
		// Headers are gone; the truncated file ends here, and the log says why.
		h.log().ErrorContext(r.Context(), "console: export members", "err", err)
	}
}
