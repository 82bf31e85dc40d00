package adminapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// auditFilter reads the audit query parameters into a filter for org,
// refusing unknown parameters so a typo does not silently widen a query.
func auditFilter(q url.Values, orgID string, allowPaging bool) (storage.AuditFilter, error) {
	f := storage.AuditFilter{OrgID: orgID}
	for key, vs := range q {
		if len(vs) != 1 {
			return f, fmt.Errorf("The query parameter %q is given more than once.", key)
		}
		v := vs[0]
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || len(v) > 320 {
			return f, fmt.Errorf("The query parameter %q is not valid text.", key)
		}
		var err error
		switch key {
		case "actor":
			f.ActorID = v
		case "action":
			f.Action = v
		case "since":
			f.Since, err = parseTime(key, v)
		case "until":
			f.Until, err = parseTime(key, v)
		case "outcome":
			if v != audit.OutcomeSuccess && v != audit.OutcomeFailure && v != httpserver.OutcomeDenied {
				err = fmt.Errorf("The query parameter \"outcome\" must be success, failure or denied.")
			}
			f.Outcome = v
		case "target_type":
			f.TargetType = v
		case "target_id":
			f.TargetID = v
		case "after":
			f.AfterSeq, err = strconv.ParseInt(v, 10, 64)
			if err != nil || f.AfterSeq < 0 {
				err = fmt.Errorf("The query parameter \"after\" must be an event sequence number (0 or more).")
			}
		case "before":
			if !allowPaging {
				return f, fmt.Errorf("The query parameter \"before\" is not supported here; the export runs in chain order from \"after\".")
			}
			f.BeforeSeq, err = strconv.ParseInt(v, 10, 64)
			if err != nil || f.BeforeSeq < 1 {
				err = fmt.Errorf("The query parameter \"before\" must be an event sequence number (1 or more).")
			}
		case "order":
			if !allowPaging {
				return f, fmt.Errorf("The query parameter \"order\" is not supported here; the export is in chain order.")
			}
			switch v {
			case "oldest":
			case "newest":
				f.Newest = true
			default:
				err = fmt.Errorf("The query parameter \"order\" must be oldest or newest.")
			}
		case "limit":
			if !allowPaging {
				return f, fmt.Errorf("The query parameter \"limit\" is not supported here; the export is never paged.")
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > audit.MaxPageLimit {
				err = fmt.Errorf("The query parameter \"limit\" must be a number from 1 to %d.", audit.MaxPageLimit)
			}
			f.Limit = n
		default:
			if !utf8.ValidString(key) {
				key = strings.ToValidUTF8(key, "?")
			}
			return f, fmt.Errorf("Unknown query parameter %q.", key)
		}
		if err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, fmt.Errorf("\"until\" is before \"since\".")
	}
	return f, nil
}

func parseTime(key, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("The query parameter %q must be an RFC 3339 time such as 2030-01-02T15:04:05Z.", key)
	}
	return t, nil
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	f, err := auditFilter(r.URL.Query(), tok.OrgID, true)
	if err != nil {
		badRequest(w, err.Error(), "")
		return
	}
	events, more, err := h.Audit.ListPage(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := apiview.AuditPage{Events: make([]audit.Entry, 0, len(events))}
	for _, e := range events {
		page.Events = append(page.Events, audit.EntryFrom(e))
	}
	if more {
		last := events[len(events)-1].Seq
		if f.Newest {
			page.NextBefore = &last
		} else {
			page.NextAfter = &last
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, page)
}

func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	f, err := auditFilter(r.URL.Query(), tok.OrgID, false)
	if err != nil {
		badRequest(w, err.Error(), "")
		return
	}
	name := "audit"
	if o, err := h.Accounts.GetOrganization(r.Context(), tok.OrgID); err == nil {
		name += "-" + o.Slug
	}
	name += "-" + h.Now().UTC().Format("20060102T150405Z") + ".jsonl"
	err = httpserver.Download(w, name, "application/x-ndjson",
		func(out io.Writer) error { return h.Audit.ExportJSONL(r.Context(), f, out) },
		func(err error) {
			h.Log.ErrorContext(r.Context(), "audit export failed midway", "org_id", tok.OrgID, "err", err)
		})
	if err != nil {
		h.fail(w, r, err)
	}
}

func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var opts audit.VerifyOptions
	for key, vs := range r.URL.Query() {
		if key != "expect_head" || len(vs) != 1 || !audit.ValidHeadHash(vs[0]) {
			badRequest(w, "The only query parameter is \"expect_head\", once: a chain head hash of 64 lowercase hex digits.", "")
			return
		}
		opts.ExpectHead = vs[0]
	}
	res, err := h.Audit.VerifyWith(r.Context(), tok.OrgID, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.VerifyResultOf(res))
}
