package adminapi

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// getReadiness is GET /passkeys/readiness[?without=true&after=…&limit=…]:
// the counts, and one page of the covered people.
func (h *Handler) getReadiness(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	opt := readiness.ListOptions{}
	for key, vs := range r.URL.Query() {
		v := vs[len(vs)-1]
		switch key {
		case "without":
			b, err := strconv.ParseBool(v)
			if err != nil {
				badRequest(w, `The query parameter "without" must be true or false.`, "without")
				return
			}
			opt.WithoutOnly = b
		case "after":
			opt.After = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				badRequest(w, `The query parameter "limit" must be a number from 1 to 500.`, "limit")
				return
			}
			opt.Limit = n
		default:
			badRequest(w, "Unknown query parameter "+strconv.Quote(key)+".", "")
			return
		}
	}
	sum, err := h.Readiness.Summary(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Readiness.List(r.Context(), tok.OrgID, opt)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.ReadinessPageFrom(sum, page))
}

// remindRequest is the body of POST /passkeys/reminders.
type remindRequest struct {
	// Emails to remind; empty: everyone covered without a passkey.
	Emails []string `json:"emails"`
	// DryRun answers who would be mailed, changing nothing.
	DryRun bool `json:"dry_run"`
}

// sendReminders is POST /passkeys/reminders.
func (h *Handler) sendReminders(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req remindRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	if req.DryRun {
		p, err := h.Readiness.Preview(r.Context(), tok.OrgID, req.Emails)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, apiview.ReminderResultFrom(p.ToMail, p.Skipped, p.NotCovered, true))
		return
	}
	res, err := h.Readiness.Remind(r.Context(), tok.OrgID, req.Emails)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.ReminderResultFrom(res.Mailed, res.Skipped, res.NotCovered, false))
}
