package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// errCut is what a node cut off from the database gets.
var errCut = errors.New("dial tcp 10.0.0.5:5432: connect: network is unreachable")

// cutStore is a real store whose reads can be cut: the invalidation feed
// alone (what a node sees when its polling connection dies first), or the
// session reads too (the whole network gone).
type cutStore struct {
	storage.Store
	feedCut     atomic.Bool
	sessionsCut atomic.Bool
	sessionRead atomic.Int64 // session lookups that reached the database
}

func (c *cutStore) InvalidationsSince(ctx context.Context, since time.Time) ([]storage.Invalidation, error) {
	if c.feedCut.Load() {
		return nil, errCut
	}
	return c.Store.InvalidationsSince(ctx, since)
}

func (c *cutStore) GetSessionByTokenHash(ctx context.Context, h string) (storage.Session, error) {
	if c.sessionsCut.Load() {
		return storage.Session{}, errCut
	}
	c.sessionRead.Add(1)
	return c.Store.GetSessionByTokenHash(ctx, h)
}

// A node that cannot read the invalidation feed stops trusting its cache
// after StaleAfter (2s by default), well before the 30s entry TTL: a
// session revoked on another node is refused once storage is asked, and
// when storage cannot be asked either, Validate fails instead of accepting
// a session that may be revoked.
func TestCutOffNodeStopsTrustingItsCache(t *testing.T) {
	ctx := context.Background()
	real := sqltest.NewSQLite(t)
	cut := &cutStore{Store: real}
	c := newClock()
	nodeA := newService(cut, c) // the node that gets cut off
	nodeB := newService(real, c)
	if nodeA.cfg.StaleAfter != 2*time.Second {
		t.Fatalf("default StaleAfter = %v, want 2s (4 × the 500ms poll)", nodeA.cfg.StaleAfter)
	}
	a := seedAccount(t, real, c.Now())
	revoked, _ := start(t, nodeA, a)
	kept, _ := start(t, nodeA, a)
	since := nodeA.poll(ctx, c.Now().Add(-time.Minute))
	mustValidate(t, nodeA, revoked)
	mustValidate(t, nodeA, kept)

	cut.feedCut.Store(true)
	if err := nodeB.Logout(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	// Polls keep failing while time passes; the revocation never arrives.
	for range 5 {
		c.Advance(500 * time.Millisecond)
		since = nodeA.poll(ctx, since)
	}
	mustBeInvalid(t, nodeA, revoked)
	mustValidate(t, nodeA, kept) // from storage, which still answers

	cut.sessionsCut.Store(true)
	if v, err := nodeA.Validate(ctx, kept); err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, errCut) {
		t.Fatalf("Validate with storage unreachable = %+v, %v; want the storage error", v.Session.ID, err)
	}

	// The network comes back: the first good poll restores the cache.
	cut.feedCut.Store(false)
	cut.sessionsCut.Store(false)
	c.Advance(500 * time.Millisecond)
	nodeA.poll(ctx, since)
	mustValidate(t, nodeA, kept)
	reads := cut.sessionRead.Load()
	mustValidate(t, nodeA, kept)
	if got := cut.sessionRead.Load(); got != reads {
		t.Fatalf("a healthy feed's node read storage %d times for a cached session", got-reads)
	}
	mustBeInvalid(t, nodeA, revoked)
}

// Within StaleAfter a failed poll changes nothing: one missed read of the
// feed is a hiccup, and the cache keeps serving without database reads.
func TestOneFailedPollKeepsTheCache(t *testing.T) {
	ctx := context.Background()
	cut := &cutStore{Store: sqltest.NewSQLite(t)}
	c := newClock()
	svc := newService(cut, c)
	tok, _ := start(t, svc, seedAccount(t, cut, c.Now()))
	since := svc.poll(ctx, c.Now().Add(-time.Minute))
	cut.feedCut.Store(true)
	c.Advance(time.Second)
	svc.poll(ctx, since)
	reads := cut.sessionRead.Load()
	mustValidate(t, svc, tok)
	if got := cut.sessionRead.Load(); got != reads {
		t.Fatalf("Validate read storage %d times one second after a failed poll", got-reads)
	}
}

// StaleAfter follows the poll interval unless set.
func TestStaleAfterDerivesFromPollInterval(t *testing.T) {
	if got := New(nil, Config{PollInterval: time.Second}, nil, nil).cfg.StaleAfter; got != 4*time.Second {
		t.Errorf("StaleAfter for a 1s poll = %v, want 4s", got)
	}
	if got := New(nil, Config{StaleAfter: 10 * time.Second}, nil, nil).cfg.StaleAfter; got != 10*time.Second {
		t.Errorf("explicit StaleAfter = %v, want 10s", got)
	}
}
