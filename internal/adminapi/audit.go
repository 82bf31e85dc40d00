package adminapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// AuditPage is the answer to GET /audit. NextAfter is the cursor for the
// next page (pass it as ?after=), or null when there are no more events.
type AuditPage struct {
	Events    []audit.Entry `json:"events"`
	NextAfter *int64        `json:"next_after"`
}

// VerifyResult is the answer to GET /audit/verify. Head is the verified
// chain's newest event (absent when the chain does not verify or is empty):
// keep its hash outside Gatehouse and pass it back as expect_head.
type VerifyResult struct {
	OK       bool        `json:"ok"`
	Events   int64       `json:"events"`
	BrokenAt int64       `json:"broken_at,omitempty"`
	Problem  string      `json:"problem,omitempty"`
	Head     *VerifyHead `json:"head,omitempty"`
}

// VerifyHead is the head of a verified chain.
type VerifyHead struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

// VerifyResultOf converts an audit.VerifyResult to its JSON form, shared by
// the API and the CLI's --json.
func VerifyResultOf(res audit.VerifyResult) VerifyResult {
	out := VerifyResult{OK: res.OK, Events: res.Events, BrokenAt: res.BrokenAt, Problem: res.Problem}
	if res.OK && res.Head.Seq > 0 {
		out.Head = &VerifyHead{Seq: res.Head.Seq, Hash: res.Head.Hash, Time: res.Head.Time.UTC()}
	}
	return out
}

// ValidHeadHash reports whether s has the form of an audit hash (64
// lowercase hex digits), as expect_head and --expect-head require.
func ValidHeadHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Page sizes of the audit log: the default, and the largest storage serves.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// ListAuditPage returns the events f selects (at most f.Limit, or
// DefaultAuditLimit when it is 0) and whether more follow them. A full page
// may be the last one, so one more event is asked for: more is reported
// only when continuing after the last event leads somewhere.
func ListAuditPage(ctx context.Context, st storage.Audit, f storage.AuditFilter) (events []storage.AuditEvent, more bool, err error) {
	if f.Limit == 0 {
		f.Limit = DefaultAuditLimit
	}
	events, err = st.ListAudit(ctx, f)
	if err != nil || len(events) < f.Limit {
		return events, false, err
	}
	f.AfterSeq, f.Limit = events[len(events)-1].Seq, 1
	next, err := st.ListAudit(ctx, f)
	if err != nil {
		return nil, false, err
	}
	return events, len(next) > 0, nil
}

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
		case "after":
			f.AfterSeq, err = strconv.ParseInt(v, 10, 64)
			if err != nil || f.AfterSeq < 0 {
				err = fmt.Errorf("The query parameter \"after\" must be an event sequence number (0 or more).")
			}
		case "limit":
			if !allowPaging {
				return f, fmt.Errorf("The query parameter \"limit\" is not supported here; the export is never paged.")
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > MaxAuditLimit {
				err = fmt.Errorf("The query parameter \"limit\" must be a number from 1 to %d.", MaxAuditLimit)
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
	events, more, err := ListAuditPage(r.Context(), h.Store, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := AuditPage{Events: make([]audit.Entry, 0, len(events))}
	for _, e := range events {
		page.Events = append(page.Events, audit.EntryFrom(e))
	}
	if more {
		last := events[len(events)-1].Seq
		page.NextAfter = &last
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
		func(out io.Writer) error { return audit.ExportJSONL(r.Context(), h.Store, f, out) },
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
		if key != "expect_head" || len(vs) != 1 || !ValidHeadHash(vs[0]) {
			badRequest(w, "The only query parameter is \"expect_head\", once: a chain head hash of 64 lowercase hex digits.", "")
			return
		}
		opts.ExpectHead = vs[0]
	}
	res, err := audit.VerifyWith(r.Context(), h.Store, tok.OrgID, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, VerifyResultOf(res))
}
