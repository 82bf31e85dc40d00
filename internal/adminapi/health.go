package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// getIdPHealth answers GET /idps/{id}/health: the connection's state, open
// incident, last outcome, the window's counts, recent checks and
// certificate expiry. The health service checks the token reads the
// organization; the connection is looked up in the token's organization
// only, so another organization's connection is not found.
func (h *Handler) getIdPHealth(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	c, ok := h.connection(w, r, tok)
	if !ok {
		return
	}
	now := h.Now()
	cs, err := h.Health.ConnectionHealth(r.Context(), c, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.ConnectionHealthFrom(cs, c, h.Health.Window(), now))
}

// listIncidents answers GET /incidents: the organization's SSO incidents of
// the last 90 days (the health service's history), newest first, or those
// still open or ended at or after ?since=.
func (h *Handler) listIncidents(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var since time.Time
	for key, vs := range r.URL.Query() {
		if key != "since" || len(vs) != 1 {
			badRequest(w, "The only query parameter is \"since\", once: an RFC 3339 time such as 2030-01-02T15:04:05Z.", "")
			return
		}
		t, err := parseTime(key, vs[0])
		if err != nil {
			badRequest(w, err.Error(), "")
			return
		}
		since = t
	}
	incs, err := h.Health.ListIncidents(r.Context(), tok.OrgID, h.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Connection names for the list; a removed connection keeps its
	// incidents, which then show its ID only.
	conns := map[string]storage.IdPConnection{}
	if h.IdPs != nil {
		cs, err := h.IdPs.List(r.Context(), tok.OrgID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, c := range cs {
			conns[c.ID] = c
		}
	}
	out := apiview.IncidentList{Incidents: make([]apiview.Incident, 0, len(incs))}
	for _, inc := range incs {
		if !since.IsZero() && !inc.Open() && inc.EndedAt.Before(since) {
			continue
		}
		out.Incidents = append(out.Incidents, apiview.IncidentFrom(inc, conns[inc.ConnectionID]))
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}
