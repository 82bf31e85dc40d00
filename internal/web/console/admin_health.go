package console

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// connHealthView is the "Health" card of a connection's page: its state,
// the window's sign-in counts, the open incident, recent checks and the
// connection's incidents of the last 90 days.
type connHealthView struct {
	StateText, Pill string
	Window          storage.SSOOutcomeBucket
	WindowText      string
	Incident        *healthIncident
	Checks          []healthCheck
	Incidents       []healthIncident
	LastOutcome     string
}

type healthIncident struct {
	Cause, Details, Started, StartedISO, Ended, EndedISO string
	Open                                                 bool
}

type healthCheck struct {
	Kind, At, ISO, Latency, Detail string
	OK                             bool
}

var healthCauses = map[string]string{
	health.CauseFailureRatio: "Too many sign-ins failed",
	health.CauseUnreachable:  "The IdP could not be reached",
}

func healthIncidentOf(inc storage.SSOIncident) healthIncident {
	v := healthIncident{Cause: healthCauses[inc.Cause], Details: inc.Details, Open: inc.Open(),
		Started: formatTime(inc.StartedAt), StartedISO: isoTime(inc.StartedAt),
		Ended: formatTime(inc.EndedAt), EndedISO: isoTime(inc.EndedAt)}
	if v.Cause == "" {
		v.Cause = inc.Cause
	}
	return v
}

// connHealth builds the card; the caller has authorized the admin for c's
// organization (connectionFor found c in it).
func (h *Handler) connHealth(ctx context.Context, c storage.IdPConnection, now time.Time) (*connHealthView, error) {
	cs, err := h.Health.ConnectionHealth(ctx, c, now)
	if err != nil {
		return nil, err
	}
	v := &connHealthView{Window: cs.Window, WindowText: fmt.Sprintf(
		"%d started, %d succeeded, %d IdP errors, %d refused responses, %d abandoned",
		cs.Window.Started, cs.Window.Succeeded, cs.Window.IdPError, cs.Window.Invalid, cs.Window.Abandoned)}
	switch cs.State {
	case health.StateDown:
		v.StateText, v.Pill = "Incident", "pill-bad"
	case health.StateDegraded:
		v.StateText, v.Pill = "Degraded", "pill-warn"
	default:
		v.StateText, v.Pill = "Operational", "pill-ok"
	}
	if cs.Incident != nil {
		i := healthIncidentOf(*cs.Incident)
		v.Incident = &i
	}
	if cs.LastOutcome != nil {
		v.LastOutcome = cs.LastOutcome.Kind + " at " + formatTime(cs.LastOutcome.At)
	}
	for _, ch := range cs.Checks {
		v.Checks = append(v.Checks, healthCheck{Kind: ch.Kind, At: formatTime(ch.At), ISO: isoTime(ch.At),
			Latency: ch.Latency.Round(time.Millisecond).String(), Detail: ch.Detail, OK: ch.OK})
	}
	incs, err := h.Health.ListIncidents(ctx, c.OrgID, now)
	if err != nil {
		return nil, err
	}
	for _, inc := range incs {
		if inc.ConnectionID == c.ID {
			v.Incidents = append(v.Incidents, healthIncidentOf(inc))
		}
	}
	return v, nil
}
