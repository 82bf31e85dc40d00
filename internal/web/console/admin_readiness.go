package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Emergency sign-in readiness (issue #7 item 4):
//
//	GET  /admin/readiness[?after=…]          counts, and who has no passkey (paged)
//	GET  /admin/readiness/remind[?email=…]   confirmation: how many will be mailed
//	POST /admin/readiness/remind             send the reminders
//
// Mounted when Handler.Readiness is set.

// readinessPageSize is how many people one page lists.
const readinessPageSize = 50

// readinessView is the readiness page.
type readinessView struct {
	Summary readiness.Summary
	Without []readinessRow
	Next    string // href of the next page, "" on the last
	First   bool   // this is the first page
	All     bool   // listing everyone covered, not only those without a passkey
}

type readinessRow struct {
	Email            string
	Name             string
	Policy           string
	RemindedAt       string // "" when never reminded
	RemindedRecently bool
	RemindHref       string
	Passkeys         int // usable passkeys
	Emergency        int // of them, flagged for emergencies
	Other            int // Passkeys - Emergency
}

// remindView is the confirmation before reminders are sent.
type remindView struct {
	Emails     []string // the chosen set; empty: everyone without a passkey
	ToMail     int
	Skipped    int
	NotCovered []string
}

func (h *Handler) registerReadiness(handle func(string, adminHandlerFunc)) {
	if h.Readiness == nil {
		return
	}
	handle("GET /admin/readiness", h.adminReadiness)
	handle("GET /admin/readiness/remind", h.adminRemindConfirm)
	handle("POST /admin/readiness/remind", h.adminRemind)
}

func (h *Handler) adminReadiness(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	ctx := r.Context()
	sum, err := h.Readiness.Summary(ctx, adm.OrgID)
	if err != nil {
		h.readinessFailure(w, r, adm, "read readiness", err)
		return
	}
	after := r.URL.Query().Get("after")
	all := r.URL.Query().Get("show") == "all"
	page, err := h.Readiness.List(ctx, adm.OrgID, readiness.ListOptions{WithoutOnly: !all, After: after, Limit: readinessPageSize})
	if err != nil {
		h.readinessFailure(w, r, adm, "list readiness", err)
		return
	}
	v := &readinessView{Summary: sum, First: after == "", All: all}
	for _, p := range page.People {
		row := readinessRow{Email: p.Email, Name: p.DisplayName, Policy: p.PolicyName, RemindedRecently: p.RemindedRecently,
			RemindHref: "/admin/readiness/remind?email=" + url.QueryEscape(p.Email),
			Passkeys:   p.Passkeys, Emergency: p.EmergencyPasskeys, Other: p.Passkeys - p.EmergencyPasskeys}
		if !p.LastRemindedAt.IsZero() {
			row.RemindedAt = p.LastRemindedAt.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		v.Without = append(v.Without, row)
	}
	if page.Next != "" {
		v.Next = "/admin/readiness?after=" + url.QueryEscape(page.Next)
		if all {
			v.Next += "&show=all"
		}
	}
	h.adminPage(w, r, http.StatusOK, "admin_readiness", adm, &view{
		Title: "Emergency sign-in readiness", Wide: true,
		Admin: &adminView{Section: "readiness", Readiness: v},
	})
}

func (h *Handler) adminRemindConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	emails := r.URL.Query()["email"]
	plan, err := h.Readiness.Preview(r.Context(), adm.OrgID, emails)
	if err != nil {
		h.readinessFailure(w, r, adm, "preview reminders", err)
		return
	}
	h.adminPage(w, r, http.StatusOK, "admin_remind", adm, &view{
		Title: "Send passkey reminders",
		Admin: &adminView{Section: "readiness", Remind: &remindView{
			Emails: emails, ToMail: len(plan.ToMail), Skipped: len(plan.Skipped), NotCovered: plan.NotCovered,
		}},
	})
}

func (h *Handler) adminRemind(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.Readiness.Remind(r.Context(), adm.OrgID, r.PostForm["email"]); err != nil {
		h.readinessFailure(w, r, adm, "send reminders", err)
		return
	}
	seeOther(w, r, "/admin/readiness", "reminders-sent")
}

// readinessFailure answers a service error: the admin's to fix (a bad
// address, a forbidden action) as the error page with its sentence,
// anything else as a server error.
func (h *Handler) readinessFailure(w http.ResponseWriter, r *http.Request, _ storage.Account, what string, err error) {
	f, ok := classify(err)
	if !ok {
		h.serverError(w, r, what, err)
		return
	}
	h.ErrorPage(w, r, f.Status, f.Message)
}
