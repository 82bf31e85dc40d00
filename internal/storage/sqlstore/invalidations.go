package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PublishInvalidation appends an entry to the feed every node polls, and
// once it is committed tells this process's subscribers (OnInvalidation).
func (s *Store) PublishInvalidation(ctx context.Context, kind, key string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO invalidations (kind, inv_key, created_at) VALUES ($1, $2, $3)`,
		kind, key, us(at))
	if err != nil {
		return wrapErr(err, "publish %s invalidation", kind)
	}
	inv := storage.Invalidation{Kind: kind, Key: key, CreatedAt: at}
	switch {
	case s.local == nil:
	case s.afterCommit != nil:
		// A rolled-back transaction revoked nothing: tell no one.
		*s.afterCommit = append(*s.afterCommit, func() { s.local.notify(inv) })
	default:
		s.local.notify(inv)
	}
	return nil
}

// OnInvalidation implements storage.LocalInvalidations.
func (s *Store) OnInvalidation(fn func(inv storage.Invalidation)) func() {
	return s.local.subscribe(fn)
}

// localFeed fans this process's committed invalidations out to its caches.
type localFeed struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(storage.Invalidation)
}

func (f *localFeed) subscribe(fn func(storage.Invalidation)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = make(map[int]func(storage.Invalidation))
	}
	id := f.next
	f.next++
	f.subs[id] = fn
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}
}

func (f *localFeed) notify(inv storage.Invalidation) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, fn := range f.subs {
		fn(inv)
	}
}

// InvalidationsSince returns entries created at or after since, oldest
// first. It selects by time, not by seq, because sequence values can commit
// out of order; pollers overlap their windows instead.
func (s *Store) InvalidationsSince(ctx context.Context, since time.Time) ([]storage.Invalidation, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT seq, kind, inv_key, created_at FROM invalidations
		WHERE created_at >= $1 ORDER BY created_at, seq`, us(since))
	if err != nil {
		return nil, wrapErr(err, "list invalidations")
	}
	out, err := collect(rows, func(r scanner) (storage.Invalidation, error) {
		var inv storage.Invalidation
		var at int64
		err := r.Scan(&inv.Seq, &inv.Kind, &inv.Key, &at)
		inv.CreatedAt = fromUS(at)
		return inv, err
	})
	return out, wrapErr(err, "list invalidations")
}

// DeleteInvalidations removes entries created before `before`.
func (s *Store) DeleteInvalidations(ctx context.Context, before time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM invalidations WHERE created_at < $1`, us(before))
	if err != nil {
		return 0, wrapErr(err, "delete invalidations")
	}
	return affected(res, "delete invalidations")
}
