package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// bulkView is the confirmation page of a bulk action, and then its results.
type bulkView struct {
	Action, Policy string
	Heading        string // "Suspend 3 people?"
	What           string // what will happen, in words
	Button         string
	People         []bulkPerson
	Done           bool // results, not confirmation
	Changed        int
	Unchanged      int
	Refused        int
	Back           string
}

type bulkPerson struct {
	ID, Email, Name, Href string
	Result                string // on the results page: what happened
	Refusal               string // why not, in words
	LockedOut             []string
}

// bulkWords says what each action does, for the confirmation page.
var bulkWords = map[string]struct{ verb, what, button string }{
	members.ActionSuspend:    {"Suspend", "They will not be able to sign in, every session they have is signed out now, and links already mailed to them stop working. Reactivating them later undoes the suspension, not the sign-outs.", "Suspend them"},
	members.ActionReactivate: {"Reactivate", "They will be able to sign in again as their policy allows.", "Reactivate them"},
	members.ActionSignOut:    {"Sign out", "Every session they have ends now, on every device; they can sign in again straight away.", "Sign them out everywhere"},
	members.ActionPolicy:     {"Move", "Their sign-in policy changes to the one named above, and applies at their next sign-in.", "Move them"},
}

// bulkRequest reads the selection form (a list of id values, the action
// and the policy).
func bulkRequest(r *http.Request) members.BulkRequest {
	return members.BulkRequest{Action: r.PostForm.Get("action"), IDs: r.PostForm["id"], Policy: r.PostForm.Get("policy")}
}

// adminMembersBulk shows who the selected action would change and what it
// would do; nothing is written until the admin confirms.
func (h *Handler) adminMembersBulk(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	req := bulkRequest(r)
	sel, err := h.memberSvc().Selection(r.Context(), adm.OrgID, req)
	if err != nil {
		h.bulkRefused(w, r, adm, err)
		return
	}
	words := bulkWords[req.Action]
	bv := &bulkView{Action: req.Action, Policy: req.Policy, What: words.what, Button: words.button, Back: "/admin/members"}
	n := len(sel)
	people := "people"
	if n == 1 {
		people = "person"
	}
	bv.Heading = words.verb + " " + strconv.Itoa(n) + " " + people + "?"
	if req.Action == members.ActionSignOut {
		bv.Heading = "Sign out " + strconv.Itoa(n) + " " + people + " everywhere?"
	}
	if req.Action == members.ActionPolicy {
		name := "the default policy"
		if req.Policy != "" {
			p, err := h.Policies.Get(r.Context(), adm.OrgID, req.Policy)
			if err != nil {
				h.bulkRefused(w, r, adm, err)
				return
			}
			name = "the policy “" + p.Name + "”"
		}
		bv.Heading = "Move " + strconv.Itoa(n) + " " + people + " to " + name + "?"
	}
	for _, a := range sel {
		bv.People = append(bv.People, bulkPerson{ID: a.ID, Email: a.Email, Name: a.DisplayName, Href: "/admin/members/" + url.PathEscape(a.ID)})
	}
	h.adminPage(w, r, http.StatusOK, "admin_members_bulk", adm, &view{Title: bv.Heading, Admin: &adminView{Section: "members", Bulk: bv}})
}

// adminMembersBulkApply makes the confirmed change, member by member, and
// shows who was changed and who was not (with the reason).
func (h *Handler) adminMembersBulkApply(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	req := bulkRequest(r)
	outs, err := h.memberSvc().Apply(r.Context(), adm.OrgID, req)
	if err != nil && outs == nil {
		h.bulkRefused(w, r, adm, err)
		return
	}
	if err != nil {
		// A failure part-way: what was done stays done (each member is its
		// own transaction); the log has the failure, the page the rest.
		h.log().ErrorContext(r.Context(), "console: bulk change stopped", "err", err)
	}
	words := bulkWords[req.Action]
	bv := &bulkView{Action: req.Action, Done: true, Back: "/admin/members", Heading: words.verb + ": results"}
	if req.Action == members.ActionSignOut {
		bv.Heading = "Sign out everywhere: results"
	}
	for _, o := range outs {
		p := bulkPerson{ID: o.Account.ID, Email: o.Account.Email, Name: o.Account.DisplayName, Href: "/admin/members/" + url.PathEscape(o.Account.ID)}
		switch {
		case o.Err != nil:
			bv.Refused++
			p.Result = "Not changed"
			var le *lockout.Error
			if errors.As(o.Err, &le) {
				p.Refusal = "Refused: it would leave no owner able to sign in without the IdP."
				for _, x := range le.LockedOut {
					p.LockedOut = append(p.LockedOut, x.Email)
				}
			} else if fl, ok := classify(o.Err); ok {
				p.Refusal = fl.Message
			} else {
				p.Refusal = "Refused."
			}
		case o.Unchanged:
			bv.Unchanged++
			p.Result = "Already so; nothing changed"
		default:
			bv.Changed++
			p.Result = "Done"
		}
		bv.People = append(bv.People, p)
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusInternalServerError
	}
	h.adminPage(w, r, status, "admin_members_bulk", adm, &view{Title: bv.Heading, Admin: &adminView{Section: "members", Bulk: bv}})
}

// bulkRefused shows a refusal of the whole request (nothing selected, an
// unknown action or policy) on the members page.
func (h *Handler) bulkRefused(w http.ResponseWriter, r *http.Request, adm storage.Account, err error) {
	fl, ok := classify(err)
	if !ok {
		h.serverError(w, r, "bulk change", err)
		return
	}
	status := fl.Status
	if status == http.StatusNotFound {
		status = http.StatusBadRequest
	}
	h.ErrorPage(w, r, status, fl.Message)
}
