package emergency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// StartAutomatic is automatic failback for one policy: policyID of orgID
// has opted in (Policy.AutoFailbackAfter > 0) and its connection has had
// the incident cause open since incidentStarted. Once the incident has
// lasted that long, an emergency scoped to the policy starts with reason
// "automatic: <cause>" for the default duration and is mailed. Called again
// while the incident lasts (health's IncidentOngoing), it keeps that
// emergency running, up to the maximum. It does nothing when the policy has
// not opted in, the incident is younger than its threshold, or another
// emergency (declared by a person, or for another cause) is in force: a
// person's decision wins. It reports whether an emergency for cause is in
// force afterwards.
func (s *Service) StartAutomatic(ctx context.Context, orgID, policyID, cause string, incidentStarted, now time.Time) (bool, error) {
	pol, err := s.store.GetPolicy(ctx, orgID, policyID)
	if err != nil {
		return false, fmt.Errorf("emergency: automatic: read policy: %w", err)
	}
	return s.startAutomatic(ctx, orgID, []storage.Policy{pol}, cause, incidentStarted, now)
}

// StartAutomaticForConnection is StartAutomatic for every policy of orgID
// that signs in through connectionID and has opted in: the incidents of
// internal/health are per connection. The emergency covers the policies
// whose threshold the incident has passed when it starts.
func (s *Service) StartAutomaticForConnection(ctx context.Context, orgID, connectionID, cause string, incidentStarted, now time.Time) (bool, error) {
	pols, err := s.store.ListPolicies(ctx, orgID)
	if err != nil {
		return false, fmt.Errorf("emergency: automatic: list policies: %w", err)
	}
	var mine []storage.Policy
	for _, p := range pols {
		if p.ConnectionID == connectionID {
			mine = append(mine, p)
		}
	}
	return s.startAutomatic(ctx, orgID, mine, cause, incidentStarted, now)
}

func (s *Service) startAutomatic(ctx context.Context, orgID string, pols []storage.Policy, cause string, incidentStarted, now time.Time) (bool, error) {
	ctx = authz.AsSystem(ctx, "emergency.auto")
	var due []string
	for _, p := range pols {
		if p.AutoFailbackAfter > 0 && p.SSO == storage.SSOEnforced && now.Sub(incidentStarted) >= p.AutoFailbackAfter {
			due = append(due, p.ID)
		}
	}
	if len(due) == 0 {
		return false, nil
	}
	open, err := s.store.OpenEmergency(ctx, orgID)
	switch {
	case err == nil && open.InForce(now):
		if !open.Automatic || open.Cause != cause {
			return false, nil
		}
		return true, s.keepRunning(ctx, open, now)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return false, fmt.Errorf("emergency: automatic: %w", err)
	}
	_, err = s.start(ctx, orgID, "automatic: "+cause, s.cfg.DefaultDuration, due, true, cause, false)
	if errors.Is(err, ErrActive) {
		return false, nil // another node started one a moment ago
	}
	return err == nil, err
}

// keepRunning moves an automatic emergency's end to a default duration from
// now while its incident lasts, within the maximum; a no-op (and no audit
// event) when that would not move it.
func (s *Service) keepRunning(ctx context.Context, e storage.Emergency, now time.Time) error {
	next := now.Add(s.cfg.DefaultDuration)
	if limit := e.StartedAt.Add(s.cfg.MaxDuration); next.After(limit) {
		next = limit
	}
	if !next.After(e.EndsAt) {
		return nil
	}
	return s.moveEnd(ctx, e, next, "incident_ongoing", now)
}

// moveEnd sets an automatic emergency's end, audited as emergency.extend
// (later) or emergency.shorten (earlier; the sweep ends it then) with the
// given basis.
func (s *Service) moveEnd(ctx context.Context, e storage.Emergency, next time.Time, basis string, now time.Time) error {
	return s.store.InTx(ctx, func(tx storage.Store) error {
		var old time.Time
		action := "emergency.extend"
		_, err := tx.UpdateEmergency(ctx, e.OrgID, e.ID, func(x *storage.Emergency) error {
			if !x.InForce(now) {
				return ErrNotActive
			}
			old, x.EndsAt = x.EndsAt, next
			if next.Before(old) {
				action = "emergency.shorten"
			}
			return nil
		})
		if err != nil {
			return mapStore(err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: e.OrgID, Time: now, Action: action, TargetType: "emergency", TargetID: e.ID,
			Reason: basis,
			Details: map[string]string{
				"previous_ends_at": old.UTC().Format(time.RFC3339),
				"ends_at":          next.UTC().Format(time.RFC3339),
				"automatic":        "true",
			},
		})
	})
}

// EndAutomatic tells the service that the incident cause of orgID ended at
// incidentEnded (health's IncidentClosed). Only an emergency automatic
// failback started for that same cause is affected: its end moves to
// incidentEnded plus the configured grace (never later than it was), so
// the sweep ends it then — as "emergency.expired", mailed — unless the
// incident comes back first (StartAutomatic keeps it running again).
// It reports whether such an emergency was found.
func (s *Service) EndAutomatic(ctx context.Context, orgID, cause string, incidentEnded time.Time) (bool, error) {
	ctx = authz.AsSystem(ctx, "emergency.auto")
	now := s.now()
	open, err := s.store.OpenEmergency(ctx, orgID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("emergency: automatic end: %w", err)
	}
	if !open.Automatic || open.Cause != cause || !open.InForce(now) {
		return false, nil
	}
	at := incidentEnded.Add(s.cfg.AutoEndGrace)
	if at.Before(now) {
		at = now
	}
	if !at.Before(open.EndsAt) {
		return true, nil
	}
	if err := s.moveEnd(ctx, open, at, "incident_over", now); err != nil && !errors.Is(err, ErrNotActive) {
		return true, err
	}
	return true, nil
}
