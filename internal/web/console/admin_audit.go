package console

import (
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
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
)

// auditPageSize is how many events one page of the audit log shows.
const auditPageSize = 50

// auditView is the audit log page.
type auditView struct {
	Actor, Action, Since string // the filter form's values
	Filtered             bool
	After                int64
	Events               []auditRow
	NextHref             string
	FirstHref            string // back to the start, when not on the first page
	ExportHref           string
	Verify               *audit.VerifyResult
	VerifyText           string
	VerifyHref           string
}

type auditRow struct {
	Seq        int64
	Time       string
	TimeISO    string
	Actor      string
	ActorType  string
	Action     string
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
		Seq: e.Seq, Time: e.Time.UTC().Format("2 Jan 2006, 15:04:05 UTC"), TimeISO: isoTime(e.Time),
		Actor: e.ActorEmail, ActorType: e.ActorType, Action: e.Action, Failed: e.Outcome == audit.OutcomeFailure,
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
// or a prefix ending in "*", like login.*), since (a date, read as
// midnight UTC, or an RFC 3339 time) and the after cursor. errs names the
// field at fault.
func auditQuery(q url.Values, orgID string) (storage.AuditFilter, *auditView, map[string]string) {
	f := storage.AuditFilter{OrgID: orgID}
	av := &auditView{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Since: strings.TrimSpace(q.Get("since"))}
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
	if av.Since != "" {
		if t, err := time.Parse("2006-01-02", av.Since); err == nil {
			f.Since = t
		} else if t, err := time.Parse(time.RFC3339, av.Since); err == nil {
			f.Since = t
		} else {
			errs["since"] = "Enter a date like 2026-01-31."
		}
	}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			errs["after"] = "The page link is broken; start again from the first page."
		}
		f.AfterSeq, av.After = n, n
	}
	av.Filtered = f.ActorID != "" || f.Action != "" || !f.Since.IsZero()
	return f, av, errs
}

// filterQuery is the query string of av's filters (no cursor).
func (av *auditView) filterQuery() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": av.Actor, "action": av.Action, "since": av.Since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
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
		v.Focus = page.FirstError(errs, "actor", "action", "since")
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
	events, more, err := h.Audit.ListPage(ctx, f)
	if err != nil {
		h.serverError(w, r, "list audit events", err)
		return
	}
	for _, e := range events {
		av.Events = append(av.Events, auditRowOf(e))
	}
	if more {
		// Only offer "next" when it leads somewhere.
		nq := av.filterQuery()
		nq.Set("after", strconv.FormatInt(events[len(events)-1].Seq, 10))
		av.NextHref = "/admin/audit?" + nq.Encode()
	}
	if av.After > 0 {
		av.FirstHref = "/admin/audit"
		if len(fq) > 0 {
			av.FirstHref += "?" + fq.Encode()
		}
	}
	h.adminPage(w, r, http.StatusOK, "admin_audit", adm, v)
}

// adminAuditExport streams the organization's events matching the filters
// as JSON lines, as a download.
func (h *Handler) adminAuditExport(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	f, _, errs := auditQuery(r.URL.Query(), adm.OrgID)
	if len(errs) > 0 {
		h.ErrorPage(w, r, http.StatusBadRequest, "The export's filters are not valid. Go back to the audit log, correct them and try again.")
		return
	}
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
