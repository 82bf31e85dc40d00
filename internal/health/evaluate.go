package health

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Incident causes.
const (
	CauseFailureRatio = "failure_ratio" // too many sign-ins failed in the window
	CauseUnreachable  = "unreachable"   // probes or metadata refreshes kept failing
)

// retention is how long outcome buckets and checks are kept.
const retention = 7 * 24 * time.Hour

// verdict is what one evaluation found for one connection.
type verdict struct {
	failing bool
	cause   string
	details string
}

// endOfMinute is the end of now's minute bucket, so sums include it.
func endOfMinute(now time.Time) time.Time { return now.Truncate(time.Minute).Add(time.Minute) }

// judge decides whether conn's SSO is failing at now.
func (s *Service) judge(ctx context.Context, conn storage.IdPConnection, now time.Time) (verdict, error) {
	sum, err := s.store.SumSSOOutcomes(ctx, conn.ID, now.Add(-s.cfg.Window), endOfMinute(now))
	if err != nil {
		return verdict{}, err
	}
	if n := sum.Outcomes(); n >= s.cfg.MinAttempts && float64(sum.Failures()) > s.cfg.FailureRatio*float64(n) {
		return verdict{failing: true, cause: CauseFailureRatio, details: fmt.Sprintf(
			"%d of %d sign-ins in the last %s failed (%d IdP errors, %d invalid responses, %d abandoned)",
			sum.Failures(), n, s.cfg.Window, sum.IdPError, sum.Invalid, sum.Abandoned)}, nil
	}
	checks, err := s.store.ListSSOChecks(ctx, conn.ID, "", s.cfg.CheckFailures)
	if err != nil {
		return verdict{}, err
	}
	if len(checks) < s.cfg.CheckFailures {
		return verdict{}, nil
	}
	for _, c := range checks {
		if c.OK {
			return verdict{}, nil
		}
	}
	return verdict{failing: true, cause: CauseUnreachable, details: fmt.Sprintf(
		"the last %d checks of the IdP failed; the latest: %s", len(checks), checks[0].Detail)}, nil
}

// Evaluate opens and closes incidents for every connection as of now: it
// counts abandoned sign-ins first, then opens an incident when a
// connection's SSO is failing (see Config) and none is open, and closes an
// open one once its cause has been clear for a whole window. Each opening
// and closing is one conditional write with its audit event; the node that
// made it mails the admins and tells the listener after commit.
func (s *Service) Evaluate(ctx context.Context, now time.Time) error {
	now = storage.Truncate(now)
	s.Flush(ctx)
	if err := s.CountAbandoned(ctx, now); err != nil {
		return fmt.Errorf("health: count abandoned sign-ins: %w", err)
	}
	conns, err := s.store.ListIdPConnections(ctx, "")
	if err != nil {
		return fmt.Errorf("health: list connections: %w", err)
	}
	var errs []error
	for _, c := range conns {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.evaluate(ctx, c, now); err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", c.Slug, err))
		}
	}
	if _, err := s.store.DeleteSSOOutcomes(ctx, now.Add(-retention)); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.store.DeleteSSOChecks(ctx, now.Add(-retention)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("health: evaluate: %w", err)
	}
	return nil
}

func (s *Service) evaluate(ctx context.Context, conn storage.IdPConnection, now time.Time) error {
	v, err := s.judge(ctx, conn, now)
	if err != nil {
		return err
	}
	open, err := s.store.GetOpenSSOIncident(ctx, conn.ID)
	hasOpen := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	switch {
	case v.failing && !hasOpen:
		return s.open(ctx, conn, v, now)
	case v.failing:
		if err := s.store.MarkSSOIncidentFailing(ctx, open.ID, now); err != nil {
			return err
		}
		open.LastFailingAt = now
	case hasOpen && !now.Before(open.LastFailingAt.Add(s.cfg.Window)):
		return s.close(ctx, conn, open, now)
	}
	if hasOpen && s.listener != nil {
		s.listener.IncidentOngoing(ctx, open, now)
	}
	return nil
}

func (s *Service) open(ctx context.Context, conn storage.IdPConnection, v verdict, now time.Time) error {
	inc := storage.SSOIncident{
		ID: uuid.NewString(), OrgID: conn.OrgID, ConnectionID: conn.ID, Cause: v.cause,
		StartedAt: now, LastFailingAt: now, Details: v.details,
	}
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.OpenSSOIncident(ctx, inc); err != nil {
			return err
		}
		return record(ctx, tx, now, storage.AuditEvent{
			OrgID: conn.OrgID, Action: "sso.incident_opened", TargetType: "idp_connection", TargetID: conn.ID,
			Reason: v.cause, Details: map[string]string{"incident_id": inc.ID, "connection": conn.Slug, "cause": v.cause, "details": v.details},
		})
	})
	if errors.Is(err, storage.ErrConflict) {
		return nil // another node opened it first, and mails about it
	}
	if err != nil {
		return fmt.Errorf("open incident: %w", err)
	}
	s.log.WarnContext(ctx, "SSO incident opened", "connection", conn.Slug, "org_id", conn.OrgID, "cause", v.cause, "details", v.details)
	s.notify.Send(ctx, conn.OrgID, "SSO problem: sign-in through "+conn.Name+" is failing",
		fmt.Sprintf("Gatehouse detected a problem with single sign-on through %s at %s.\n\nCause: %s\n%s\n\n"+
			"People may not be able to sign in through SSO until it is fixed. You will get another message when it is over.\n%s",
			conn.Name, now.UTC().Format(time.RFC1123), causeText(v.cause), v.details, s.consoleLink(conn)))
	if s.listener != nil {
		s.listener.IncidentOpened(ctx, inc)
	}
	return nil
}

func (s *Service) close(ctx context.Context, conn storage.IdPConnection, open storage.SSOIncident, now time.Time) error {
	var closed storage.SSOIncident
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		var err error
		if closed, err = tx.CloseSSOIncident(ctx, open.ID, now); err != nil {
			return err
		}
		return record(ctx, tx, now, storage.AuditEvent{
			OrgID: conn.OrgID, Action: "sso.incident_closed", TargetType: "idp_connection", TargetID: conn.ID,
			Reason: open.Cause, Details: map[string]string{
				"incident_id": open.ID, "connection": conn.Slug, "cause": open.Cause,
				"duration_seconds": strconv.FormatInt(int64(now.Sub(open.StartedAt)/time.Second), 10),
			},
		})
	})
	if errors.Is(err, storage.ErrConflict) {
		return nil // another node closed it first
	}
	if err != nil {
		return fmt.Errorf("close incident: %w", err)
	}
	s.log.InfoContext(ctx, "SSO incident closed", "connection", conn.Slug, "org_id", conn.OrgID, "cause", open.Cause)
	s.notify.Send(ctx, conn.OrgID, "SSO problem over: sign-in through "+conn.Name+" works again",
		fmt.Sprintf("The single sign-on problem with %s that started at %s is over (%s).\n\nCause was: %s\n%s",
			conn.Name, open.StartedAt.UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123), causeText(open.Cause), s.consoleLink(conn)))
	if s.listener != nil {
		s.listener.IncidentClosed(ctx, closed)
	}
	return nil
}

// causeText says a cause in words.
func causeText(cause string) string {
	switch cause {
	case CauseFailureRatio:
		return "too many sign-ins failed"
	case CauseUnreachable:
		return "the identity provider could not be reached"
	}
	return cause
}

func (s *Service) consoleLink(conn storage.IdPConnection) string {
	if s.cfg.PublicURL == "" {
		return ""
	}
	return "\nDetails: " + s.cfg.PublicURL + "/admin/sso/" + url.PathEscape(conn.Slug) + "\n"
}

// record appends an audit event as the system.
func record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	e.Time, e.ID, e.ActorType, e.ActorID = now, uuid.NewString(), "system", "health"
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}
