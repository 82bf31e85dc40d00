package session

import (
	"crypto/sha256"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// cacheShards spreads the hit path's read locks so that cores validating
// different sessions do not contend on one lock's cache line.
const cacheShards = 64

// defaultCacheSize bounds the node-local cache; about 0.6 KiB an entry
// (see compact).
const defaultCacheSize = 100_000

// key is the raw SHA-256 of a token. A fixed-size array key lets the hit
// path look up without building a string.
type key = [sha256.Size]byte

// entry is one cached validation. Entries are immutable once published:
// a touch replaces the pointer, so readers never see a torn copy.
//
// The cache holds one entry per live session a node has seen, so its size
// is what grows with active users: put shares what an account's sessions
// have in common (the account record, its groups, the strings) through the
// account's index rather than keeping a copy in each entry.
type entry struct {
	sess storage.Session
	// acct is shared by the account's cached sessions that read the same
	// record; never written through.
	acct     *storage.Account
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
	bySession map[string]key           // session ID → token hash
	byAccount map[string]*accountIndex // account ID → its cached sessions

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
		byAccount: make(map[string]*accountIndex),
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
	ai := c.compact(e)
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
	// Unindexing the entry replaced or evicted above drops the account's
	// index if that was its last session: put it back.
	if c.byAccount[e.sess.AccountID] != ai {
		c.byAccount[e.sess.AccountID] = ai
	}
	ai.sessions[e.sess.ID] = struct{}{}
}

// accountIndex is what the cache keeps once per account: its cached
// sessions, for account invalidations, and the values its sessions' entries
// share.
type accountIndex struct {
	sessions map[string]struct{} // session IDs
	acct     *storage.Account    // the record the latest put read
	groups   []string
	// ip and userAgent are the latest session's, whose strings the next
	// session from the same browser shares.
	ip, userAgent string
}

// compact makes e share what it has in common with the account's other
// cached sessions (idxMu is held; e is not yet published). Nothing a caller
// of Validate reads changes, except Session.TokenHash, which the cache does
// not keep: the token's hash is the cache key, and no caller reads it.
func (c *cache) compact(e *entry) *accountIndex {
	ai := c.byAccount[e.sess.AccountID]
	if ai == nil {
		ai = &accountIndex{sessions: make(map[string]struct{}, 1)}
		c.byAccount[e.sess.AccountID] = ai
	}
	// A record that differs (read after an update) replaces the shared one
	// for later puts; entries already cached keep the one they were read
	// with, as each kept its own copy before.
	if ai.acct != nil && *ai.acct == *e.acct {
		e.acct = ai.acct
	} else {
		ai.acct = e.acct
	}
	if ai.groups != nil && slices.Equal(ai.groups, e.groups) {
		e.groups = ai.groups
	} else {
		ai.groups = e.groups
	}
	s := &e.sess
	s.TokenHash = ""
	if s.AccountID == e.acct.ID {
		s.AccountID = e.acct.ID
	}
	if s.OrgID == e.acct.OrgID {
		s.OrgID = e.acct.OrgID
	}
	s.Method = internMethod(s.Method)
	s.AMR = internAMR(s.AMR)
	if s.IP == ai.ip {
		s.IP = ai.ip
	} else {
		ai.ip = s.IP
	}
	if s.UserAgent == ai.userAgent {
		s.UserAgent = ai.userAgent
	} else {
		ai.userAgent = s.UserAgent
	}
	return ai
}

// sharedAMR holds one method list per single method, shared by the cached
// sessions made with it (nearly all are).
var sharedAMR = func() map[string][]string {
	m := make(map[string][]string, len(knownMethods))
	for name := range knownMethods {
		m[name] = []string{name}
	}
	return m
}()

// internAMR returns a shared list equal to amr when there is one.
func internAMR(amr []string) []string {
	if len(amr) == 1 {
		if shared, ok := sharedAMR[amr[0]]; ok {
			return shared
		}
	}
	return amr
}

// internMethod returns the constant equal to method when there is one, so
// cached sessions do not each hold the string read from storage.
func internMethod(method string) string {
	for _, m := range [...]string{"password", "sso", "setup", "recovery", "reset"} {
		if method == m {
			return m
		}
	}
	return method
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
	if ai := c.byAccount[accountID]; ai != nil {
		for id := range ai.sessions {
			c.dropSessionLocked(id)
		}
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
	if ai := c.byAccount[s.AccountID]; ai != nil {
		delete(ai.sessions, s.ID)
		if len(ai.sessions) == 0 {
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
