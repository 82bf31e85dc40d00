package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// auditEventView is the page of one audit event: its whole record, links
// to the people and objects it names, and its neighbours in the chain.
type auditEventView struct {
	auditRow
	ID         string
	OrgID      string
	ActorID    string
	ActorEmail string
	ActorHref  string // the actor's member page, when the actor is a member
	TargetHref string // the target's page, when it has one
	UserAgent  string
	RequestID  string
	PrevHash   string
	Hash       string
	// Filter links: the log narrowed to this actor, or to this target.
	ActorEventsHref  string
	TargetEventsHref string
	PrevHref         string // the previous event in the chain
	NextHref         string // the next one, when it exists
}

// targetHref is the console page of an event's target, or "" when the
// target has none (a session, a path) or its section is not mounted. The
// ID comes from the log, so it is escaped as one path segment.
func (h *Handler) targetHref(typ, id string) string {
	if id == "" {
		return ""
	}
	seg := url.PathEscape(id)
	switch typ {
	case "account":
		return "/admin/members/" + seg
	case "idp_connection":
		if h.IdPs != nil {
			return "/admin/sso/" + seg
		}
	case "domain":
		if h.Domains != nil {
			return "/admin/domains/" + seg
		}
	case "app":
		if h.Apps != nil {
			return "/admin/apps/" + seg
		}
	case "policy":
		if h.Policies != nil {
			return "/admin/policies"
		}
	case "emergency":
		if h.Emergencies != nil {
			return "/admin/emergency"
		}
	}
	return ""
}

func (h *Handler) adminAuditEvent(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		h.adminNotFound(w, r, "audit event")
		return
	}
	ctx := r.Context()
	e, err := h.Audit.Event(ctx, adm.OrgID, seq)
	if errors.Is(err, storage.ErrNotFound) {
		h.adminNotFound(w, r, "audit event")
		return
	}
	if err != nil {
		h.serverError(w, r, "read audit event", err)
		return
	}
	ev := &auditEventView{
		auditRow: auditRowOf(e), ID: e.ID, OrgID: e.OrgID, ActorID: e.ActorID, ActorEmail: e.ActorEmail,
		UserAgent: e.UserAgent, RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash,
		TargetHref: h.targetHref(e.TargetType, e.TargetID),
	}
	if e.ActorType == "account" {
		ev.ActorHref = h.targetHref("account", e.ActorID)
	}
	if who := e.ActorID; who != "" {
		ev.ActorEventsHref = "/admin/audit?" + url.Values{"actor": {who}}.Encode()
	} else if e.ActorEmail != "" {
		ev.ActorEventsHref = "/admin/audit?" + url.Values{"actor": {e.ActorEmail}}.Encode()
	}
	if e.TargetID != "" {
		ev.TargetEventsHref = "/admin/audit?" + url.Values{"target_type": {e.TargetType}, "target": {e.TargetID}}.Encode()
	}
	if seq > 1 {
		ev.PrevHref = "/admin/audit/" + strconv.FormatInt(seq-1, 10)
	}
	if _, err := h.Audit.Event(ctx, adm.OrgID, seq+1); err == nil {
		ev.NextHref = "/admin/audit/" + strconv.FormatInt(seq+1, 10)
	} else if !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "read audit event", err)
		return
	}
	v := &view{Title: "Audit event " + strconv.FormatInt(seq, 10),
		Admin: &adminView{Section: "audit", Audit: &auditView{Event: ev}}}
	h.adminPage(w, r, http.StatusOK, "admin_audit_event", adm, v)
}
