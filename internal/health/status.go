package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// States of a connection on the status page.
const (
	StateOperational = "operational"
	StateDegraded    = "degraded" // failures or a failed check, below the incident threshold
	StateDown        = "down"     // an incident is open
)

// ConnectionStatus is one connection's health. It holds no personal data.
type ConnectionStatus struct {
	ConnectionID string
	Slug         string
	Name         string
	State        string
	Incident     *storage.SSOIncident // the open incident, if any
	Window       storage.SSOOutcomeBucket
	LastCheck    *storage.SSOCheck
	Checks       []storage.SSOCheck // recent checks, newest first
	LastOutcome  *storage.SSOLastOutcome
}

// OrgStatus is an organization's SSO health, for the status page.
type OrgStatus struct {
	OrgName     string
	OrgSlug     string
	Connections []ConnectionStatus
	// History lists incidents open or ended in the last HistoryDays,
	// newest first.
	History []storage.SSOIncident
	// Names maps connection IDs to display names for History.
	Names map[string]string
}

// HistoryDays is how far back the status page lists incidents.
const HistoryDays = 90

// StatusBySlug returns the status of the organization with slug. The
// status page is public, so it is not authorized: it shows only connection
// names, states and incident times and causes. ErrNotFound (storage) when
// no such organization exists.
func (s *Service) StatusBySlug(ctx context.Context, slug string, now time.Time) (OrgStatus, error) {
	org, err := s.store.GetOrganizationBySlug(ctx, slug)
	if err != nil {
		return OrgStatus{}, fmt.Errorf("health: status: %w", err)
	}
	conns, err := s.store.ListIdPConnections(ctx, org.ID)
	if err != nil {
		return OrgStatus{}, fmt.Errorf("health: status: %w", err)
	}
	out := OrgStatus{OrgName: org.Name, OrgSlug: org.Slug, Names: map[string]string{}}
	for _, c := range conns {
		cs, err := s.connectionHealth(ctx, c, now)
		if err != nil {
			return OrgStatus{}, err
		}
		cs.Checks, cs.LastCheck = nil, nil // probe errors may name internal hosts
		out.Connections = append(out.Connections, cs)
		out.Names[c.ID] = c.Name
	}
	out.History, err = s.store.ListSSOIncidents(ctx, org.ID, now.Add(-HistoryDays*24*time.Hour))
	if err != nil {
		return OrgStatus{}, fmt.Errorf("health: status: %w", err)
	}
	return out, nil
}

// ConnectionHealth returns conn's current health, with recent checks, for
// the admin console: ctx's actor must be able to read conn's organization
// (authz.RequireReader), since check details may name internal hosts.
func (s *Service) ConnectionHealth(ctx context.Context, conn storage.IdPConnection, now time.Time) (ConnectionStatus, error) {
	if _, err := authz.RequireReader(ctx, s.store, conn.OrgID); err != nil {
		return ConnectionStatus{}, err
	}
	return s.connectionHealth(ctx, conn, now)
}

func (s *Service) connectionHealth(ctx context.Context, conn storage.IdPConnection, now time.Time) (ConnectionStatus, error) {
	cs := ConnectionStatus{ConnectionID: conn.ID, Slug: conn.Slug, Name: conn.Name, State: StateOperational}
	var err error
	if cs.Window, err = s.store.SumSSOOutcomes(ctx, conn.ID, now.Add(-s.cfg.Window), endOfMinute(now)); err != nil {
		return cs, fmt.Errorf("health: %w", err)
	}
	if cs.Checks, err = s.store.ListSSOChecks(ctx, conn.ID, "", 10); err != nil {
		return cs, fmt.Errorf("health: %w", err)
	}
	if len(cs.Checks) > 0 {
		cs.LastCheck = &cs.Checks[0]
	}
	if last, err := s.store.LastSSOOutcome(ctx, conn.ID); err == nil {
		cs.LastOutcome = &last
	} else if !errors.Is(err, storage.ErrNotFound) {
		return cs, fmt.Errorf("health: %w", err)
	}
	inc, err := s.store.GetOpenSSOIncident(ctx, conn.ID)
	switch {
	case err == nil:
		cs.Incident, cs.State = &inc, StateDown
	case !errors.Is(err, storage.ErrNotFound):
		return cs, fmt.Errorf("health: %w", err)
	case cs.Window.Failures() > 0 || (cs.LastCheck != nil && !cs.LastCheck.OK):
		cs.State = StateDegraded
	}
	return cs, nil
}

// ListIncidents returns orgID's incidents of the last HistoryDays, newest
// first, with their details; ctx's actor must be able to read orgID.
func (s *Service) ListIncidents(ctx context.Context, orgID string, now time.Time) ([]storage.SSOIncident, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	out, err := s.store.ListSSOIncidents(ctx, orgID, now.Add(-HistoryDays*24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	return out, nil
}

// NeedsFreshTest reports whether enforcing SSO through the connection
// should wait for a new test sign-in: true when it has an open incident,
// or its most recent sign-in failed, and no test sign-in succeeded since.
// reason says why, for the admin.
func (s *Service) NeedsFreshTest(ctx context.Context, connectionID string) (bool, string, error) {
	conn, err := s.store.GetIdPConnection(ctx, connectionID)
	if err != nil {
		return false, "", fmt.Errorf("health: %w", err)
	}
	inc, err := s.store.GetOpenSSOIncident(ctx, connectionID)
	switch {
	case err == nil:
		if !conn.TestedAt.After(inc.StartedAt) {
			return true, fmt.Sprintf("%s has had an open SSO incident since %s (%s)",
				conn.Name, inc.StartedAt.UTC().Format(time.RFC1123), causeText(inc.Cause)), nil
		}
	case !errors.Is(err, storage.ErrNotFound):
		return false, "", fmt.Errorf("health: %w", err)
	}
	last, err := s.store.LastSSOOutcome(ctx, connectionID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("health: %w", err)
	}
	if last.Failed() && !conn.TestedAt.After(last.At) {
		return true, fmt.Sprintf("the last sign-in through %s failed (%s, %s)",
			conn.Name, last.Kind, last.At.UTC().Format(time.RFC1123)), nil
	}
	return false, "", nil
}

// Window is how far back ConnectionStatus.Window counts outcomes, so the
// edges (API, CLI) can say what the counts cover.
func (s *Service) Window() time.Duration { return s.cfg.Window }
