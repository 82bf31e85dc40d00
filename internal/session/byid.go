package session

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ValidateID returns the live session with id and its account, or
// ErrInvalid, for callers that hold a session's ID rather than its token:
// the OpenID Provider checks the sign-in behind every token it is shown
// (userinfo, introspection, refresh), so signing out, an admin's revoke or
// deprovisioning ends the app's access too. It reads storage (two rows by
// primary key) rather than the cache, which is keyed by token: a revoke on
// another node is seen at once, whatever the invalidation feed's lag.
func (s *Service) ValidateID(ctx context.Context, id string) (Validated, error) {
	if id == "" {
		return Validated{}, ErrInvalid
	}
	return s.fromStorage(ctx, s.now(), func() (storage.Session, error) { return s.store.GetSession(ctx, id) })
}

// KeepAlive records activity on the session v (as ValidateID returned it)
// now, as a request with its cookie would: an app refreshing its tokens
// keeps the sign-in behind them from going idle. Like a cookie request it
// writes at most once per TouchInterval (idle expiry is judged to that
// precision anyway), so an app refreshing often costs no write per grant.
// It never moves the session's absolute end (ExpiresAt), so activity
// cannot stretch a sign-in past its lifetime.
func (s *Service) KeepAlive(ctx context.Context, v Validated) error {
	now := s.now()
	if now.Sub(v.Session.LastSeenAt) < s.cfg.TouchInterval {
		return nil
	}
	if err := s.store.TouchSession(ctx, v.Session.ID, now); err != nil {
		return fmt.Errorf("session: keep alive: %w", err)
	}
	return nil
}
