package console

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// auditPageSize is how many events one page of the audit log shows.
const auditPageSize = 50

// auditOutcomes are the outcomes an event can have, as the filter offers them.
var auditOutcomes = []string{audit.OutcomeSuccess, audit.OutcomeFailure, httpserver.OutcomeDenied}

// auditView is the audit log page, and the page of one event.
type auditView struct {
	// The filter form's values.
	Actor, Action, Outcome, TargetType, Target, From, To string
	Outcomes                                             []string
	Filtered                                             bool
	Cursor                                               bool // the page is not the newest one
	Events                                               []auditRow
	NewerHref, OlderHref, NewestHref                     string
	ExportHref                                           string
	Verify                                               *audit.VerifyResult
	VerifyText                                           string
	VerifyHref                                           string
	Event                                                *auditEventView // the event page
}

type auditRow struct {
	Seq        int64
	Href       string
	Time       string
	TimeISO    string
	Actor      string
	ActorType  string
	Action     string
	Outcome    string
	Failed     bool
	Reason     string
	TargetType string
	TargetID   string
	IP         string
	Details    []auditDetail
}

type auditDetail struct{ Key, Value string }

func auditRowOf(e storage.AuditEvent) auditRow {
	row := auditRow{
		Seq: e.Seq, Href: "/admin/audit/" + strconv.FormatInt(e.Seq, 10),
		Time: e.Time.UTC().Format("2 Jan 2006, 15:04:05 UTC"), TimeISO: e.Time.UTC().Format(time.RFC3339Nano),
		Actor: e.ActorEmail, ActorType: e.ActorType, Action: e.Action, Outcome: e.Outcome,
		Failed: e.Outcome != "" && e.Outcome != audit.OutcomeSuccess,
		Reason: e.Reason, TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP,
	}
	if row.Actor == "" {
		row.Actor = e.ActorID
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row.Details = append(row.Details, auditDetail{k, e.Details[k]})
	}
	return row
}

// auditQuery reads the filter form: actor (ID or email), action (exact,
// or a prefix ending in "*", like login.*), outcome, target type and ID,
// from and to (dates, read as whole days in UTC; "since" is from's older
// name) and the before/after cursor. errs names the field at fault.
func auditQuery(q url.Values, orgID string) (storage.AuditFilter, *auditView, map[string]string) {
	f := storage.AuditFilter{OrgID: orgID}
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	av := &auditView{
		Actor: get("actor"), Action: get("action"), Outcome: get("outcome"),
		TargetType: get("target_type"), Target: get("target"), From: get("from"), To: get("to"),
		Outcomes: auditOutcomes,
	}
	if av.From == "" {
		av.From = get("since")
	}
	errs := map[string]string{}
	clean := func(field, v string) string {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || len(v) > 320 {
			errs[field] = "This is not valid text."
			return ""
		}
		return v
	}
	f.ActorID = clean("actor", av.Actor)
	f.Action = clean("action", av.Action)
	f.TargetType = clean("target_type", av.TargetType)
	f.TargetID = clean("target", av.Target)
	if av.Outcome != "" {
		known := false
		for _, o := range auditOutcomes {
			known = known || o == av.Outcome
		}
		if !known {
			errs["outcome"] = "Choose an outcome from the list."
		}
		f.Outcome = av.Outcome
	}
	day := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t
		}
		errs[field] = "Enter a date like 2026-01-31."
		return time.Time{}
	}
	f.Since = day("from", av.From)
	if to := day("to", av.To); !to.IsZero() {
		if _, err := time.Parse("2006-01-02", av.To); err == nil {
			to = to.AddDate(0, 0, 1) // the whole of the last day
		}
		f.Until = to
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		errs["to"] = "The end of the range is before its start."
	}
	cursor := func(key string) int64 {
		v := q.Get(key)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			errs["cursor"] = "The page link is broken; start again from the newest events."
		}
		return n
	}
	f.AfterSeq, f.BeforeSeq = cursor("after"), cursor("before")
	if f.AfterSeq > 0 && f.BeforeSeq > 0 {
		errs["cursor"] = "The page link is broken; start again from the newest events."
	}
	av.Cursor = f.AfterSeq > 0 || f.BeforeSeq > 0
	av.Filtered = f.ActorID != "" || f.Action != "" || f.Outcome != "" || f.TargetType != "" || f.TargetID != "" ||
		!f.Since.IsZero() || !f.Until.IsZero()
	return f, av, errs
}

// filterQuery is the query string of av's filters (no cursor).
func (av *auditView) filterQuery() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{"actor", av.Actor}, {"action", av.Action}, {"outcome", av.Outcome},
		{"target_type", av.TargetType}, {"target", av.Target}, {"from", av.From}, {"to", av.To}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

// href is the audit log with av's filters and one more parameter (none
// when key is "").
func (av *auditView) href(key string, v int64) string {
	q := av.filterQuery()
	if key != "" {
		q.Set(key, strconv.FormatInt(v, 10))
	}
	if len(q) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + q.Encode()
}

func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	f, av, errs := auditQuery(r.URL.Query(), adm.OrgID)
	fq := av.filterQuery()
	av.ExportHref = "/admin/audit/export"
	if len(fq) > 0 {
		av.ExportHref += "?" + fq.Encode()
	}
	vq := url.Values{"verify": {"1"}}
	for k, v := range fq {
		vq[k] = v
	}
	av.VerifyHref = "/admin/audit?" + vq.Encode()
	v := &view{Title: "Audit log", Errors: errs, Admin: &adminView{Section: "audit", Audit: av}}
	if len(errs) > 0 {
		v.Focus = page.FirstError(errs, "actor", "action", "outcome", "target_type", "target", "from", "to")
		if msg, ok := errs["cursor"]; ok {
			v.Error = msg
		}
		h.adminPage(w, r, http.StatusBadRequest, "admin_audit", adm, v)
		return
	}
	ctx := r.Context()
	if r.URL.Query().Get("verify") == "1" {
		res, err := h.Audit.Verify(ctx, adm.OrgID)
		if err != nil {
			h.serverError(w, r, "verify audit chain", err)
			return
		}
		av.Verify, av.VerifyText = &res, verifyWords(res)
	}
	f.Limit = auditPageSize
	win, err := h.Audit.NewestFirst(ctx, f)
	if err != nil {
		h.serverError(w, r, "list audit events", err)
		return
	}
	for _, e := range win.Events {
		av.Events = append(av.Events, auditRowOf(e))
	}
	// Only offer a page that leads somewhere.
	if win.Newer {
		if len(win.Events) > 0 {
			av.NewerHref = av.href("after", win.Events[0].Seq)
		}
		av.NewestHref = av.href("", 0)
	}
	if win.Older {
		av.OlderHref = av.href("before", win.Events[len(win.Events)-1].Seq)
	}
	if av.Cursor && av.NewestHref == "" && len(win.Events) == 0 {
		av.NewestHref = av.href("", 0)
	}
	h.adminPage(w, r, http.StatusOK, "admin_audit", adm, v)
}

// adminAuditExport streams the organization's events matching the filters
// as JSON lines, as a download, in chain order.
func (h *Handler) adminAuditExport(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	f, _, errs := auditQuery(r.URL.Query(), adm.OrgID)
	if len(errs) > 0 {
		h.ErrorPage(w, r, http.StatusBadRequest, "The export's filters are not valid. Go back to the audit log, correct them and try again.")
		return
	}
	// The export is the whole selection, not the page the link was on.
	f.AfterSeq, f.BeforeSeq = 0, 0
	name := "audit"
	if o, err := h.Accounts.GetOrganization(r.Context(), adm.OrgID); err == nil {
		name += "-" + o.Slug
	}
	name += "-" + h.now().UTC().Format("20060102T150405Z") + ".jsonl"
	err := httpserver.Download(w, name, "application/x-ndjson",
		func(out io.Writer) error { return h.Audit.ExportJSONL(r.Context(), f, out) },
		func(err error) {
			h.log().ErrorContext(r.Context(), "audit export failed midway", "org_id", adm.OrgID, "err", err)
		})
	if err != nil {
		h.serverError(w, r, "export audit log", err)
	}
}

// verifyWords says a chain verification's result in plain words.
func verifyWords(res audit.VerifyResult) string {
	if res.OK {
		if res.Events == 0 {
			return "The audit log is empty, so there is nothing to verify yet."
		}
		return fmt.Sprintf("The audit log is intact: all %d events verify, each one linked to the one before it.", res.Events)
	}
	return fmt.Sprintf("The audit log has been tampered with: %s. The events before event %d verify.", res.Problem, res.BrokenAt)
}
