package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// The public status page of an organization's SSO: /status/{org} (HTML)
// and /status/{org}.json. It shows connection display names, their state,
// the current incident's start and cause and the last 90 days' incidents:
// no people, no addresses, no probe error texts (they may name internal
// hosts).

type statusIncident struct {
	Connection string     `json:"connection"`
	Cause      string     `json:"cause"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at"`

	Started, StartedISO, Ended, EndedISO string `json:"-"`
}

type statusConnection struct {
	Name      string          `json:"name"`
	State     string          `json:"state"`
	Incident  *statusIncident `json:"incident"`
	StateText string          `json:"-"`
	Pill      string          `json:"-"`
}

type statusView struct {
	OrgName     string             `json:"organization"`
	Overall     string             `json:"state"`
	Connections []statusConnection `json:"connections"`
	History     []statusIncident   `json:"incidents"`
	GeneratedAt time.Time          `json:"generated_at"`
	Updated     string             `json:"-"`
}

var causeWords = map[string]string{
	health.CauseFailureRatio: "Sign-ins failing",
	health.CauseUnreachable:  "Identity provider unreachable",
}

func incidentView(inc storage.SSOIncident, name string) statusIncident {
	v := statusIncident{Connection: name, Cause: causeWords[inc.Cause], StartedAt: inc.StartedAt.UTC(),
		Started: inc.StartedAt.UTC().Format("2 Jan 2006 15:04"), StartedISO: inc.StartedAt.UTC().Format(time.RFC3339)}
	if v.Cause == "" {
		v.Cause = inc.Cause
	}
	if !inc.EndedAt.IsZero() {
		e := inc.EndedAt.UTC()
		v.EndedAt, v.Ended, v.EndedISO = &e, e.Format("2 Jan 2006 15:04"), e.Format(time.RFC3339)
	}
	return v
}

func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("org")
	asJSON := strings.HasSuffix(slug, ".json")
	slug = strings.TrimSuffix(slug, ".json")
	if !asJSON && strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html") {
		asJSON = true
	}
	now := h.pg().Time()
	st, err := h.Health.StatusBySlug(r.Context(), slug, now)
	if errors.Is(err, storage.ErrNotFound) {
		if asJSON {
			writeStatusJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "There is no organization at this address."})
			return
		}
		h.pg().ErrorPage(w, r, http.StatusNotFound, "There is no organization at this address.")
		return
	}
	if err != nil {
		h.Log.ErrorContext(r.Context(), "status page", "err", err)
		h.pg().ErrorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	v := statusView{OrgName: st.OrgName, Overall: health.StateOperational, GeneratedAt: now.UTC(),
		Updated: now.UTC().Format("2 Jan 2006 15:04"), Connections: []statusConnection{}, History: []statusIncident{}}
	for _, c := range st.Connections {
		cv := statusConnection{Name: c.Name, State: c.State}
		switch c.State {
		case health.StateDown:
			cv.StateText, cv.Pill, v.Overall = "Down", "pill-bad", health.StateDown
		case health.StateDegraded:
			cv.StateText, cv.Pill = "Degraded", "pill-warn"
			if v.Overall == health.StateOperational {
				v.Overall = health.StateDegraded
			}
		default:
			cv.StateText, cv.Pill = "Operational", "pill-ok"
		}
		if c.Incident != nil {
			iv := incidentView(*c.Incident, c.Name)
			cv.Incident = &iv
		}
		v.Connections = append(v.Connections, cv)
	}
	for _, inc := range st.History {
		v.History = append(v.History, incidentView(inc, st.Names[inc.ConnectionID]))
	}
	// Public and cheap to ask again: a minute's caching spares the database.
	w.Header().Set("Cache-Control", "public, max-age=60")
	if asJSON {
		writeStatusJSON(w, http.StatusOK, v)
		return
	}
	h.pg().Render(w, r, pages, http.StatusOK, "status", &page.View{Title: "Sign-in status", Org: st.OrgName, Health: v})
}

func writeStatusJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
