package session

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// cacheShards spreads the hit path's read locks so that cores validating
// different sessions do not contend on one lock's cache line.
const cacheShards = 64

// defaultCacheSize bounds the node-local cache; ~1 KiB an entry.
const defaultCacheSize = 100_000

// key is the raw SHA-256 of a token. A fixed-size array key lets the hit
// path look up without building a string.
type key = [sha256.Size]byte

// entry is one cached validation. Entries are immutable once published:
// a touch replaces the pointer, so readers never see a torn copy.
type entry struct {
	sess     storage.Session
	acct     storage.Account
	groups   []string
	cachedAt time.Time
	// touching is set by the one goroutine writing LastSeenAt, so a burst of
	// requests on one session at the touch boundary writes once.
	touching atomic.Bool
}

type shard struct {
	mu sync.RWMutex
	m  map[key]*entry
}

// cache maps token hashes to validated sessions, with secondary indexes by
// session ID and account ID so both kinds of invalidation evict.
//
// Lock order: idxMu before any shard's mu. The hit path takes only one
// shard's read lock.
type cache struct {
	shards   [cacheShards]shard
	perShard int // capacity of each shard

	idxMu     sync.Mutex
	bySession map[string]key                 // session ID → token hash
	byAccount map[string]map[string]struct{} // account ID → session IDs

	// gen counts invalidations. A load from storage that started before an
	// invalidation may have read the row just before it was revoked; put
	// refuses to cache it if gen moved meanwhile, so a stale entry cannot
	// outlive the invalidation that should have removed it.
	gen atomic.Uint64
}

func newCache(size int) *cache {
	if size < cacheShards {
		size = cacheShards
	}
	c := &cache{
		perShard:  size / cacheShards,
		bySession: make(map[string]key),
		byAccount: make(map[string]map[string]struct{}),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[key]*entry)
	}
	return c
}

func (c *cache) shard(k key) *shard {
	// The key is a SHA-256: any byte is uniformly distributed.
	return &c.shards[k[0]%cacheShards]
}

// get returns the entry for k, or nil.
func (c *cache) get(k key) *entry {
	sh := c.shard(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	return e
}

// put caches e under k unless an invalidation happened since gen was read.
func (c *cache) put(k key, e *entry, gen uint64) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	old, replacing := sh.m[k]
	if !replacing && len(sh.m) >= c.perShard {
		// Full: evict an arbitrary entry (map iteration order is random).
		// Evicting costs the victim one database read, nothing more.
		for vk, v := range sh.m {
			delete(sh.m, vk)
			c.unindexLocked(v.sess)
			break
		}
	}
	sh.m[k] = e
	sh.mu.Unlock()
	if replacing {
		c.unindexLocked(old.sess)
	}
	c.bySession[e.sess.ID] = k
	ids := c.byAccount[e.sess.AccountID]
	if ids == nil {
		ids = make(map[string]struct{})
		c.byAccount[e.sess.AccountID] = ids
	}
	ids[e.sess.ID] = struct{}{}
}

// replace swaps the entry under k for e if old is still the current one
// (used by touch; the indexes do not change).
func (c *cache) replace(k key, old, e *entry) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m[k] == old {
		sh.m[k] = e
	}
	sh.mu.Unlock()
}

// remove drops k if it still holds old (nil: whatever it holds).
func (c *cache) remove(k key, old *entry) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	sh := c.shard(k)
	sh.mu.Lock()
	cur, ok := sh.m[k]
	if ok && (old == nil || cur == old) {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
	if ok && (old == nil || cur == old) {
		c.unindexLocked(cur.sess)
	}
}

// dropSession evicts the session with this ID, if cached.
func (c *cache) dropSession(id string) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	c.gen.Add(1)
	c.dropSessionLocked(id)
}

// dropAccount evicts every cached session of the account.
func (c *cache) dropAccount(accountID string) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	c.gen.Add(1)
	for id := range c.byAccount[accountID] {
		c.dropSessionLocked(id)
	}
	delete(c.byAccount, accountID)
}

func (c *cache) dropSessionLocked(id string) {
	k, ok := c.bySession[id]
	if !ok {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	e := sh.m[k]
	delete(sh.m, k)
	sh.mu.Unlock()
	if e != nil {
		c.unindexLocked(e.sess)
	} else {
		delete(c.bySession, id)
	}
}

// unindexLocked removes s from the secondary indexes; idxMu is held.
func (c *cache) unindexLocked(s storage.Session) {
	delete(c.bySession, s.ID)
	if ids := c.byAccount[s.AccountID]; ids != nil {
		delete(ids, s.ID)
		if len(ids) == 0 {
			delete(c.byAccount, s.AccountID)
		}
	}
}

// len counts cached entries (tests and metrics).
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
