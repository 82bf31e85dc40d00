package session

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func testEntry(sessID, acctID string) *entry {
	return &entry{sess: storage.Session{ID: sessID, AccountID: acctID}, acct: &storage.Account{ID: acctID}}
}

func testKey(i int) key {
	return tokenSum(fmt.Sprintf("%043d", i))
}

func TestCacheIsBounded(t *testing.T) {
	c := newCache(cacheShards * 4)
	for i := range 10_000 {
		c.put(testKey(i), testEntry(fmt.Sprint("s", i), fmt.Sprint("a", i%7)), c.gen.Load())
	}
	if n := c.len(); n > cacheShards*4 {
		t.Fatalf("cache holds %d entries, bound is %d", n, cacheShards*4)
	}
	// The indexes shrink with the evictions.
	c.idxMu.Lock()
	nIdx := len(c.bySession)
	nAcct := 0
	for _, ids := range c.byAccount {
		nAcct += len(ids.sessions)
	}
	c.idxMu.Unlock()
	if nIdx != c.len() || nAcct != c.len() {
		t.Fatalf("indexes hold %d sessions and %d account links for %d entries", nIdx, nAcct, c.len())
	}
}

func TestCacheDropsBySessionAndAccount(t *testing.T) {
	c := newCache(1000)
	for i := range 30 {
		c.put(testKey(i), testEntry(fmt.Sprint("s", i), fmt.Sprint("a", i%3)), c.gen.Load())
	}
	c.dropSession("s4")
	if c.get(testKey(4)) != nil || c.get(testKey(5)) == nil {
		t.Fatal("dropSession evicted the wrong entries")
	}
	c.dropAccount("a1")
	for i := range 30 {
		if got := c.get(testKey(i)); (got == nil) != (i%3 == 1) {
			t.Fatalf("entry %d present=%v after dropping account a1", i, got != nil)
		}
	}
	c.dropAccount("nobody")
	c.dropSession("nothing")
	if c.len() != 20 {
		t.Fatalf("cache holds %d entries, want 20", c.len())
	}
}

func TestCacheRefusesLoadsOverlappingAnInvalidation(t *testing.T) {
	c := newCache(1000)
	gen := c.gen.Load() // a load starts …
	c.dropSession("s1") // … the session is revoked meanwhile …
	c.put(testKey(1), testEntry("s1", "a1"), gen)
	if c.get(testKey(1)) != nil {
		t.Fatal("a possibly stale load was cached after an invalidation")
	}
}

func TestValidateWarmDoesNotAllocate(t *testing.T) {
	s := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(s, c)
	tok, _ := start(t, svc, seedAccount(t, s, c.Now()))
	mustValidate(t, svc, tok)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := svc.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a warm Validate allocates %.1f times", allocs)
	}
}

// TestConcurrentValidationAndRevocation runs validations, touches, sign-ins
// and revocations at once, for the race detector, and checks that a
// revocation is never undone by a concurrent load.
func TestConcurrentValidationAndRevocation(t *testing.T) {
	s := sqltest.NewSQLite(t)
	ctx := context.Background()
	c := newClock()
	svc := New(s, Config{TouchInterval: time.Second, PollInterval: 10 * time.Millisecond}, nil, c.Now)
	run(t, svc)
	a := seedAccount(t, s, c.Now())
	var toks []string
	for range 8 {
		tok, _ := start(t, svc, a)
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				if g == 0 && i%10 == 0 {
					c.Advance(time.Second) // every entry needs a touch
				}
				_, _ = svc.Validate(ctx, toks[(g+i)%len(toks)])
			}
		})
	}
	wg.Go(func() {
		for _, tok := range toks[:4] {
			if err := svc.Logout(ctx, tok); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for i, tok := range toks {
		_, err := svc.Validate(ctx, tok)
		if (err == nil) != (i >= 4) {
			t.Errorf("token %d: Validate = %v after the dust settled", i, err)
		}
	}
}

// Re-caching an account's only session (a touch after expiry, a reload)
// unindexes the old entry, which empties the account's index; the new one
// must still be found by an account invalidation.
func TestCacheReplacedOnlySessionStillDropsByAccount(t *testing.T) {
	c := newCache(1000)
	c.put(testKey(1), testEntry("s1", "a1"), c.gen.Load())
	c.put(testKey(1), testEntry("s1", "a1"), c.gen.Load())
	c.dropAccount("a1")
	if c.get(testKey(1)) != nil {
		t.Fatal("the re-cached session outlived its account's invalidation")
	}
}

// Sessions of one account share its record; a different record read later
// (after an update) is not shared with the earlier entries.
func TestCacheSharesAccountRecord(t *testing.T) {
	c := newCache(1000)
	e1, e2, e3 := testEntry("s1", "a1"), testEntry("s2", "a1"), testEntry("s3", "a1")
	e3.acct.Email = "new@corp.example"
	c.put(testKey(1), e1, c.gen.Load())
	c.put(testKey(2), e2, c.gen.Load())
	c.put(testKey(3), e3, c.gen.Load())
	if c.get(testKey(2)).acct != c.get(testKey(1)).acct {
		t.Error("two sessions of one account hold separate copies of the same record")
	}
	if got := c.get(testKey(3)).acct.Email; got != "new@corp.example" {
		t.Errorf("the updated record was replaced by the shared one: %q", got)
	}
	if got := c.get(testKey(1)).acct.Email; got != "" {
		t.Errorf("an earlier entry's record changed to %q", got)
	}
}
