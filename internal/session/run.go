package session

import (
	"context"
	"time"
)

const (
	// pollOverlap re-reads this much of the feed before the last poll:
	// publishers' clocks differ a little and their transactions commit out of
	// order, and dropping a cache entry twice costs nothing.
	pollOverlap = 5 * time.Second
	// pruneInterval spaces the clean-up of dead rows.
	pruneInterval = 5 * time.Minute
	// keepEnded keeps ended sessions and tokens a day, so "why was I signed
	// out?" can still be answered from the database.
	keepEnded = 24 * time.Hour
	// keepInvalidations is far longer than any poll window.
	keepInvalidations = 10 * time.Minute
)

// Run polls the invalidation feed and prunes expired rows until ctx ends.
// Errors are logged and the loop goes on: a database hiccup must not stop
// revocations from reaching this node once it recovers. While the feed
// cannot be read for longer than Config.StaleAfter, Validate bypasses the
// cache (see feedFresh).
func (s *Service) Run(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.PollInterval)
	defer ticker.Stop()
	since := s.created.Add(-pollOverlap)
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		since = s.poll(ctx, since)
		if now := s.now(); now.Sub(lastPrune) >= pruneInterval {
			s.prune(ctx, now)
			lastPrune = now
		}
	}
}

// poll drops cache entries named by invalidations at or after since and
// returns where the next poll starts.
func (s *Service) poll(ctx context.Context, since time.Time) time.Time {
	started := s.now()
	invs, err := s.store.InvalidationsSince(ctx, since)
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "session: reading the invalidation feed failed", "err", err)
		}
		return since
	}
	for _, inv := range invs {
		s.invalidate(inv)
	}
	// Only now, with every entry the feed named dropped, is the cache as
	// good as the feed at started.
	s.markHeard(started)
	return started.Add(-pollOverlap)
}

// prune deletes rows nobody can use any more.
func (s *Service) prune(ctx context.Context, now time.Time) {
	if n, err := s.store.DeleteExpiredSessions(ctx, now.Add(-keepEnded)); err != nil {
		s.logPruneErr(ctx, "sessions", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "session: pruned ended sessions", "count", n)
	}
	if n, err := s.store.DeleteExpiredTokens(ctx, now.Add(-keepEnded)); err != nil {
		s.logPruneErr(ctx, "one-time tokens", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "session: pruned expired one-time tokens", "count", n)
	}
	if _, err := s.store.DeleteInvalidations(ctx, now.Add(-keepInvalidations)); err != nil {
		s.logPruneErr(ctx, "invalidations", err)
	}
}

func (s *Service) logPruneErr(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		s.log.ErrorContext(ctx, "session: pruning "+what+" failed", "err", err)
	}
}

// markHeard records a successful feed read that began at t. It never moves
// back: a slow poll finishing after a faster later one says nothing newer.
func (s *Service) markHeard(t time.Time) {
	n := t.UnixNano()
	for {
		old := s.heard.Load()
		if n <= old || s.heard.CompareAndSwap(old, n) {
			return
		}
	}
}
