package emergency

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Incidents adapts the service to SSO health's incident listener
// (internal/health.IncidentListener): automatic failback starts emergency
// mode for the policies of the failing connection that opted in, once the
// incident has lasted their threshold, and ends it a grace period after the
// incident is over.
type Incidents struct {
	S *Service
}

// incidentCause names an incident in an automatic emergency's reason. It is
// what EndAutomatic matches, so it is built from what stays the same for the
// incident's whole life: its ID, its connection and its cause.
func (x Incidents) incidentCause(ctx context.Context, inc storage.SSOIncident) string {
	name := inc.ConnectionID
	if c, err := x.S.store.GetIdPConnection(ctx, inc.ConnectionID); err == nil {
		name = c.Name
	}
	what := "sign-ins failing"
	if inc.Cause == "unreachable" {
		what = "IdP unreachable"
	}
	id := inc.ID
	if len(id) > 8 {
		id = id[:8]
	}
	return fmt.Sprintf("%s: %s (incident %s)", name, what, id)
}

// IncidentOpened starts automatic failback if a policy's threshold is zero
// minutes past (it never is below one, so this mostly records nothing).
func (x Incidents) IncidentOpened(ctx context.Context, inc storage.SSOIncident) {
	x.ongoing(ctx, inc, x.S.now())
}

// IncidentOngoing starts automatic failback once the incident has lasted a
// policy's AutoFailbackAfter, and keeps it running while it lasts. Every
// node calls it on every evaluation; starting is idempotent.
func (x Incidents) IncidentOngoing(ctx context.Context, inc storage.SSOIncident, now time.Time) {
	x.ongoing(ctx, inc, now)
}

func (x Incidents) ongoing(ctx context.Context, inc storage.SSOIncident, now time.Time) {
	if _, err := x.S.StartAutomaticForConnection(ctx, inc.OrgID, inc.ConnectionID, x.incidentCause(ctx, inc), inc.StartedAt, now); err != nil {
		x.S.log.ErrorContext(ctx, "automatic failback could not start", "org_id", inc.OrgID, "incident", inc.ID, "err", err)
	}
}

// IncidentClosed lets the automatic emergency of the incident end after
// the grace period.
func (x Incidents) IncidentClosed(ctx context.Context, inc storage.SSOIncident) {
	if _, err := x.S.EndAutomatic(ctx, inc.OrgID, x.incidentCause(ctx, inc), inc.EndedAt); err != nil {
		x.S.log.ErrorContext(ctx, "automatic failback could not end", "org_id", inc.OrgID, "incident", inc.ID, "err", err)
	}
}
