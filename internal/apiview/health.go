package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ConnectionHealth is the JSON of one IdP connection's SSO health: what the
// console's Health card shows. Check details may name internal hosts, so
// only readers of the organization get it (the public status page does not).
type ConnectionHealth struct {
	ConnectionID string `json:"connection_id"`
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	// State is operational, degraded (failures or a failed check below
	// the incident threshold) or down (an incident is open).
	State       string        `json:"state"`
	Incident    *Incident     `json:"incident"`     // the open incident; null if none
	LastOutcome *SSOOutcome   `json:"last_outcome"` // how the latest sign-in ended; null if none yet
	Window      OutcomeCounts `json:"window"`
	LastProbe   *HealthCheck  `json:"last_probe"`    // null when none of the recent checks is a probe
	LastRefresh *HealthCheck  `json:"last_metadata"` // latest metadata refresh among the recent checks
	Checks      []HealthCheck `json:"checks"`        // recent checks, newest first
	Certs       []Certificate `json:"certificates"`  // trusted signing certificates, with expiry
}

// OutcomeCounts counts how sign-ins through a connection ended in the last
// WindowSeconds (the window incidents are judged on).
type OutcomeCounts struct {
	WindowSeconds int64 `json:"window_seconds"`
	Started       int   `json:"started"`
	Succeeded     int   `json:"succeeded"`
	IdPError      int   `json:"idp_error"`
	Invalid       int   `json:"invalid"`
	Abandoned     int   `json:"abandoned"`
	Failures      int   `json:"failures"` // idp_error + invalid + abandoned
}

// SSOOutcome is how one sign-in ended: succeeded, idp_error, invalid or abandoned.
type SSOOutcome struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// HealthCheck is one probe of the IdP or metadata refresh.
type HealthCheck struct {
	Kind      string    `json:"kind"` // probe or metadata
	At        time.Time `json:"at"`
	OK        bool      `json:"ok"`
	LatencyMS int64     `json:"latency_ms"`
	Detail    string    `json:"detail"`
}

// Incident is one period during which a connection's SSO was failing.
type Incident struct {
	ID             string     `json:"id"`
	ConnectionID   string     `json:"connection_id"`
	ConnectionSlug string     `json:"connection_slug"` // "" if the connection has since been removed
	ConnectionName string     `json:"connection_name"`
	Cause          string     `json:"cause"` // failure_ratio or unreachable
	CauseText      string     `json:"cause_text"`
	Details        string     `json:"details"`
	Open           bool       `json:"open"`
	StartedAt      time.Time  `json:"started_at"`
	EndedAt        *time.Time `json:"ended_at"` // null while open
	LastFailingAt  time.Time  `json:"last_failing_at"`
}

// IncidentList is the JSON of GET /incidents.
type IncidentList struct {
	Incidents []Incident `json:"incidents"`
}

// causeTexts words incident causes for people.
var causeTexts = map[string]string{
	health.CauseFailureRatio: "Too many sign-ins failed",
	health.CauseUnreachable:  "The IdP could not be reached",
}

// IncidentFrom converts a stored incident; conn names its connection
// (zero if it no longer exists).
func IncidentFrom(inc storage.SSOIncident, conn storage.IdPConnection) Incident {
	out := Incident{ID: inc.ID, ConnectionID: inc.ConnectionID, ConnectionSlug: conn.Slug, ConnectionName: conn.Name,
		Cause: inc.Cause, CauseText: causeTexts[inc.Cause], Details: inc.Details, Open: inc.Open(),
		StartedAt: inc.StartedAt.UTC(), EndedAt: optTime(inc.EndedAt), LastFailingAt: inc.LastFailingAt.UTC()}
	if out.CauseText == "" {
		out.CauseText = inc.Cause
	}
	return out
}

func checkFrom(c storage.SSOCheck) HealthCheck {
	return HealthCheck{Kind: c.Kind, At: c.At.UTC(), OK: c.OK, LatencyMS: c.Latency.Milliseconds(), Detail: c.Detail}
}

// ConnectionHealthFrom converts the health service's view of conn; window
// is the service's outcome window (health.Service.Window).
func ConnectionHealthFrom(cs health.ConnectionStatus, conn storage.IdPConnection, window time.Duration, now time.Time) ConnectionHealth {
	w := cs.Window
	out := ConnectionHealth{ConnectionID: conn.ID, Slug: conn.Slug, Name: conn.Name, State: cs.State,
		Window: OutcomeCounts{WindowSeconds: int64(window / time.Second), Started: w.Started, Succeeded: w.Succeeded,
			IdPError: w.IdPError, Invalid: w.Invalid, Abandoned: w.Abandoned, Failures: w.Failures()},
		Checks: []HealthCheck{}, Certs: []Certificate{}}
	if cs.Incident != nil {
		inc := IncidentFrom(*cs.Incident, conn)
		out.Incident = &inc
	}
	if cs.LastOutcome != nil {
		out.LastOutcome = &SSOOutcome{Kind: cs.LastOutcome.Kind, At: cs.LastOutcome.At.UTC()}
	}
	for _, c := range cs.Checks {
		hc := checkFrom(c)
		out.Checks = append(out.Checks, hc)
		switch {
		case c.Kind == storage.CheckProbe && out.LastProbe == nil:
			out.LastProbe = &hc
		case c.Kind == storage.CheckMetadata && out.LastRefresh == nil:
			out.LastRefresh = &hc
		}
	}
	// An unreadable certificate is skipped here; the connection's own
	// warnings (GET /idps/{id}) report it.
	if certs, err := idp.TrustedCertificates(conn); err == nil {
		for _, cert := range certs {
			out.Certs = append(out.Certs, CertificateFrom(cert, now))
		}
	}
	return out
}
