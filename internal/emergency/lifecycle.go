package emergency

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// StartInput is what starting an emergency takes.
type StartInput struct {
	Reason string
	// For is how long it lasts; zero means the configured default. It may
	// not exceed the configured maximum.
	For time.Duration
	// Policies names the policies it covers, by ID or name; empty covers
	// the whole organization.
	Policies []string
	// SignOutAtEnd ends, on every node, the sessions made during it when it
	// ends, by an admin or by running out; otherwise they run to their own
	// expiry. Changeable while it runs (ExtendInput.SignOutAtEnd).
	SignOutAtEnd bool
}

// ExtendInput moves an emergency's end: by For past its current end, or
// to Until. The end stays within the maximum counted from the start.
// SignOutAtEnd, when set, changes whether its sessions end when it ends;
// with neither For nor Until it is the only change.
type ExtendInput struct {
	For          time.Duration
	Until        time.Time
	SignOutAtEnd *bool
}

// EndInput is what ending an emergency takes.
type EndInput struct {
	// SignOutSessions ends at once, on every node, every session made
	// during the emergency; otherwise they run to their own expiry, unless
	// the emergency was set to sign them out at its end (SignOutAtEnd).
	SignOutSessions bool
}

// EndResult is what ending an emergency changed.
type EndResult struct {
	Emergency        storage.Emergency
	PasswordsCleared int // passwords set during it, which no longer work
	SessionsRevoked  int // sessions made during it, ended now
}

// invalidateSession is the kind of invalidation internal/session consumes
// to drop one session from every node's cache.
const invalidateSession = "session"

// revokeReason is the reason recorded on sessions ended with their emergency.
const revokeReason = "emergency_end"

// Start declares an emergency in orgID. The actor (owner, admin, admin
// token, CLI) comes from ctx; the start is audited and mailed to every
// admin once committed. An open emergency whose time ran out but that the
// sweep has not ended yet is ended (as expired) first.
func (s *Service) Start(ctx context.Context, orgID string, in StartInput) (storage.Emergency, error) {
	reason, err := checkReason(in.Reason)
	if err != nil {
		return storage.Emergency{}, err
	}
	d := in.For
	if d == 0 {
		d = s.cfg.DefaultDuration
	}
	if d <= 0 || d > s.cfg.MaxDuration {
		return storage.Emergency{}, ErrDuration
	}
	return s.start(ctx, orgID, reason, d, in.Policies, false, "", in.SignOutAtEnd)
}

func (s *Service) start(ctx context.Context, orgID, reason string, d time.Duration, policies []string, automatic bool, cause string, signOutAtEnd bool) (storage.Emergency, error) {
	now := s.now()
	var e storage.Emergency
	var expired []ended
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		expired = nil
		actor, err := authz.RequireAdmin(ctx, tx, orgID)
		if err != nil {
			return err
		}
		ids, names, err := resolvePolicies(ctx, tx, orgID, policies)
		if err != nil {
			return err
		}
		open, err := tx.OpenEmergency(ctx, orgID)
		switch {
		case err == nil && open.InForce(now):
			return ErrActive
		case err == nil:
			x, err := s.finish(ctx, tx, open, storage.EmergencyExpired, false, now)
			if err != nil {
				return err
			}
			expired = append(expired, x)
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("emergency: start: %w", err)
		}
		e = storage.Emergency{
			ID: uuid.NewString(), OrgID: orgID, Reason: reason,
			StartedAt: now, EndsAt: now.Add(d),
			StartedByType: string(actor.Kind), StartedByID: actor.ID, StartedByEmail: actor.Email,
			Automatic: automatic, Cause: cause, Scoped: len(ids) > 0, PolicyIDs: ids,
			SignOutAtEnd: signOutAtEnd,
		}
		if err := tx.CreateEmergency(ctx, e); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return ErrActive
			}
			return fmt.Errorf("emergency: start: %w", err)
		}
		details := map[string]string{
			"ends_at":         e.EndsAt.UTC().Format(time.RFC3339),
			"duration":        d.String(),
			"scope":           scopeText(names),
			"sign_out_at_end": strconv.FormatBool(signOutAtEnd),
		}
		if automatic {
			details["automatic"], details["cause"] = "true", cause
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: orgID, Time: now, Action: "emergency.start",
			TargetType: "emergency", TargetID: e.ID, Reason: reason, Details: details,
		})
	})
	if err != nil {
		return storage.Emergency{}, err
	}
	for _, x := range expired {
		s.forget(x.revoked)
	}
	s.mailEnded(ctx, expired)
	e.Version = 1
	e.StartedAt, e.EndsAt = storage.Truncate(e.StartedAt), storage.Truncate(e.EndsAt)
	s.mailStarted(ctx, e, scopeOf(ctx, s.store, e))
	return e, nil
}

// resolvePolicies turns names or IDs into sorted policy IDs, and returns
// the names for people.
func resolvePolicies(ctx context.Context, tx storage.Store, orgID string, refs []string) (ids, names []string, err error) {
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		p, err := tx.GetPolicy(ctx, orgID, ref)
		if errors.Is(err, storage.ErrNotFound) {
			p, err = tx.GetPolicyByName(ctx, orgID, ref)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, ErrUnknownPolicy
		}
		if err != nil {
			return nil, nil, fmt.Errorf("emergency: read policy: %w", err)
		}
		if !slices.Contains(ids, p.ID) {
			ids, names = append(ids, p.ID), append(names, p.Name)
		}
	}
	slices.Sort(ids)
	slices.Sort(names)
	return ids, names, nil
}

func scopeText(names []string) string {
	if len(names) == 0 {
		return "whole organization"
	}
	return strings.Join(names, ", ")
}

// Extend moves the end of orgID's emergency id later; audited and mailed.
func (s *Service) Extend(ctx context.Context, orgID, id string, in ExtendInput) (storage.Emergency, error) {
	now := s.now()
	var out storage.Emergency
	var old time.Time
	var wasSignOut bool
	moves := in.For != 0 || !in.Until.IsZero() || in.SignOutAtEnd == nil
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		var err error
		out, err = tx.UpdateEmergency(ctx, orgID, id, func(e *storage.Emergency) error {
			if !e.InForce(now) {
				return ErrNotActive
			}
			old, wasSignOut = e.EndsAt, e.SignOutAtEnd
			if in.SignOutAtEnd != nil {
				e.SignOutAtEnd = *in.SignOutAtEnd
			}
			if !moves {
				return nil
			}
			next := in.Until
			if next.IsZero() {
				if in.For <= 0 {
					return ErrDuration
				}
				next = e.EndsAt.Add(in.For)
			}
			if !next.After(e.EndsAt) || next.Sub(e.StartedAt) > s.cfg.MaxDuration {
				return ErrDuration
			}
			e.EndsAt = next
			return nil
		})
		if err != nil {
			return mapStore(err)
		}
		details := map[string]string{
			"previous_ends_at": old.UTC().Format(time.RFC3339),
			"ends_at":          out.EndsAt.UTC().Format(time.RFC3339),
		}
		if out.SignOutAtEnd != wasSignOut {
			details["sign_out_at_end"] = strconv.FormatBool(out.SignOutAtEnd)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: orgID, Time: now, Action: "emergency.extend", TargetType: "emergency", TargetID: id,
			Details: details,
		})
	})
	if err != nil {
		return storage.Emergency{}, err
	}
	if moves {
		s.mailExtended(ctx, out) // a changed end is news to every admin; the sign-out choice alone is in the audit log
	}
	return out, nil
}

// End ends orgID's emergency id now: passwords set during it stop working,
// and with in.SignOutSessions its sessions end on every node. Audited with
// the counts and mailed to every admin.
func (s *Service) End(ctx context.Context, orgID, id string, in EndInput) (EndResult, error) {
	now := s.now()
	var x ended
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		e, err := tx.GetEmergency(ctx, orgID, id)
		if err != nil {
			return mapStore(err)
		}
		x, err = s.finish(ctx, tx, e, storage.EmergencyEnded, in.SignOutSessions, now)
		return err
	})
	if err != nil {
		return EndResult{}, err
	}
	s.forget(x.revoked)
	s.mailEnded(ctx, []ended{x})
	return x.EndResult, nil
}

// ended is an emergency finish closed, with what to mail.
type ended struct {
	EndResult
	how     string   // storage.EmergencyEnded or EmergencyExpired
	revoked []string // IDs of the sessions ended with it
}

// finish closes e inside tx and applies the end effects, with the audit
// event "emergency.end" (someone ended it) or "emergency.expired" (its time
// ran out). An emergency already closed is ErrNotActive, which is how two
// nodes sweeping at once agree on one of them doing it.
func (s *Service) finish(ctx context.Context, tx storage.Store, e storage.Emergency, how string, signOut bool, now time.Time) (ended, error) {
	actor := authz.Actor{Kind: authz.KindSystem, ID: "emergency.expiry"}
	if how == storage.EmergencyEnded {
		a, err := authz.Resolve(ctx, tx, e.OrgID)
		if err != nil {
			return ended{}, err
		}
		actor = a
	}
	endedAt := now
	if how == storage.EmergencyExpired && e.EndsAt.Before(now) {
		endedAt = e.EndsAt // it stopped being in force then, whenever the sweep came by
	}
	closed, err := tx.UpdateEmergency(ctx, e.OrgID, e.ID, func(x *storage.Emergency) error {
		if !x.EndedAt.IsZero() {
			return ErrNotActive
		}
		// The choice stored on the emergency, read under the row lock (an
		// admin may have changed it since e was read), adds to the caller's.
		signOut = signOut || x.SignOutAtEnd
		x.EndedAt, x.EndReason = endedAt, how
		x.EndedByType, x.EndedByID, x.EndedByEmail = string(actor.Kind), actor.ID, actor.Email
		return nil
	})
	if err != nil {
		return ended{}, mapStore(err)
	}
	cleared, err := tx.ClearEmergencyPasswords(ctx, e.ID, now)
	if err != nil {
		return ended{}, fmt.Errorf("emergency: clear passwords: %w", err)
	}
	var revoked []storage.Session
	if signOut {
		if revoked, err = tx.RevokeEmergencySessions(ctx, e.ID, revokeReason, now); err != nil {
			return ended{}, fmt.Errorf("emergency: revoke sessions: %w", err)
		}
		for _, sess := range revoked {
			if err := tx.PublishInvalidation(ctx, invalidateSession, sess.ID, now); err != nil {
				return ended{}, fmt.Errorf("emergency: revoke sessions: %w", err)
			}
		}
	}
	action := "emergency.end"
	ev := storage.AuditEvent{OrgID: e.OrgID, Time: now, TargetType: "emergency", TargetID: e.ID,
		Details: map[string]string{
			"passwords_cleared": strconv.Itoa(len(cleared)),
			"sessions_revoked":  strconv.Itoa(len(revoked)),
			"signed_out":        strconv.FormatBool(signOut),
		}}
	if how == storage.EmergencyExpired {
		action = "emergency.expired"
		ev.ActorType, ev.ActorID = string(authz.KindSystem), actor.ID
	}
	ev.Action = action
	if err := audit.Record(ctx, tx, ev); err != nil {
		return ended{}, err
	}
	ids := make([]string, 0, len(revoked))
	for _, x := range revoked {
		ids = append(ids, x.ID)
	}
	return ended{EndResult: EndResult{Emergency: closed, PasswordsCleared: len(cleared), SessionsRevoked: len(revoked)}, how: how, revoked: ids}, nil
}

// Sweep ends every emergency whose time ran out (as "emergency.expired",
// passwords set during it cleared, its sessions ended on every node when it
// was set to sign them out at its end, left to their own expiry otherwise)
// and returns how many it ended. Safe to run on several nodes at once:
// each emergency is closed by exactly one of them.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.store.ListDueEmergencies(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("emergency: sweep: %w", err)
	}
	ctx = authz.AsSystem(ctx, "emergency.expiry")
	n := 0
	for _, e := range due {
		var x ended
		err := s.store.InTx(ctx, func(tx storage.Store) error {
			var err error
			x, err = s.finish(ctx, tx, e, storage.EmergencyExpired, false, now)
			return err
		})
		if errors.Is(err, ErrNotActive) || errors.Is(err, ErrNotFound) || errors.Is(err, storage.ErrConflict) {
			continue // another node got there first
		}
		if err != nil {
			return n, err
		}
		n++
		s.forget(x.revoked)
		s.mailEnded(ctx, []ended{x})
	}
	return n, nil
}

// Run sweeps every interval until ctx ends. Failures are logged; the next
// tick tries again.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "emergency sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
