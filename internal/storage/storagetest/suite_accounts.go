package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// stored returns a as storage gives it back: times truncated, in UTC.
func stored(a storage.Account) storage.Account {
	a.PasswordChangedAt = storage.Truncate(a.PasswordChangedAt)
	a.CreatedAt = storage.Truncate(a.CreatedAt)
	a.UpdatedAt = storage.Truncate(a.UpdatedAt)
	return a
}

var accountTests = []namedTest{
	{"OriginAndPasswordOrigin", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		a := newAccount("o", "jit")
		a.Origin, a.PasswordOrigin, a.PasswordHash = storage.OriginJIT, "", ""
		wantErr(t, "CreateAccount", s.CreateAccount(ctx, a), nil)
		got, err := s.UpdateAccount(ctx, a.ID, func(x *storage.Account) error {
			x.Origin = storage.OriginAdmin // not changeable
			x.PasswordHash, x.PasswordOrigin, x.PasswordEmergencyID = "h", storage.PasswordEmergency, "em-1"
			return nil
		})
		wantErr(t, "UpdateAccount", err, nil)
		back, err := s.GetAccount(ctx, a.ID)
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "read back", back, got)
		if back.Origin != storage.OriginJIT || back.PasswordOrigin != storage.PasswordEmergency || back.PasswordEmergencyID != "em-1" {
			t.Fatalf("origin fields: %+v", back)
		}
		b := newAccount("o", "plain")
		b.Origin = ""
		wantErr(t, "CreateAccount", s.CreateAccount(ctx, b), nil)
		if back, _ := s.GetAccount(ctx, b.ID); back.Origin != storage.OriginAdmin {
			t.Fatalf("an account created without an origin reads back as %q, want admin", back.Origin)
		}
	}},
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		b := mustAccount(t, s, "o", "b")
		a := mustAccount(t, s, "o", "a")
		mustAccount(t, s, "p", "c")
		never := newAccount("o", "never")
		never.PasswordHash, never.PasswordChangedAt = "", time.Time{}
		wantErr(t, "create account without password", s.CreateAccount(ctx, never), nil)

		got, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "GetAccount", got, stored(a))
		wantUTCMicros(t, "PasswordChangedAt", got.PasswordChangedAt, a.PasswordChangedAt)

		got, err = s.GetAccountByEmail(ctx, "b@example.com")
		wantErr(t, "GetAccountByEmail", err, nil)
		wantEqual(t, "GetAccountByEmail", got, stored(b))

		got, err = s.GetAccount(ctx, "never")
		wantErr(t, "GetAccount(never)", err, nil)
		wantEqual(t, "zero time stays zero", got.PasswordChangedAt.IsZero(), true)

		list, err := s.ListAccounts(ctx, "o")
		wantErr(t, "ListAccounts", err, nil)
		wantEqual(t, "ListAccounts (by email, one org)", list, []storage.Account{stored(a), stored(b), stored(never)})
		list, err = s.ListAccounts(ctx, "nobody")
		wantErr(t, "ListAccounts(unknown org)", err, nil)
		wantEqual(t, "ListAccounts(unknown org)", len(list), 0)
	}},
	{"EmailSkeleton", func(t *testing.T, s storage.Store) {
		// The store derives the skeleton from the email on create and on
		// update; a lookalike is found in its own organization only.
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		alice := newAccount("o", "alice")
		alice.Email = "alice@corp.test"
		wantErr(t, "create alice", s.CreateAccount(ctx, alice), nil)
		other := newAccount("p", "other")
		other.Email = "alice@corp2.test"
		wantErr(t, "create other", s.CreateAccount(ctx, other), nil)
		skel := emailaddr.Skeleton("\u0430lice@corp.test") // Cyrillic а
		list, err := s.ListAccountsByEmailSkeleton(ctx, "o", skel)
		wantErr(t, "ListAccountsByEmailSkeleton", err, nil)
		wantEqual(t, "lookalike found", list, []storage.Account{stored(alice)})
		list, err = s.ListAccountsByEmailSkeleton(ctx, "p", skel)
		wantErr(t, "ListAccountsByEmailSkeleton(other org)", err, nil)
		wantEqual(t, "no lookalike in another organization", len(list), 0)

		_, err = s.UpdateAccount(ctx, "alice", func(a *storage.Account) error { a.Email = "bob@corp.test"; return nil })
		wantErr(t, "change email", err, nil)
		list, err = s.ListAccountsByEmailSkeleton(ctx, "o", skel)
		wantErr(t, "ListAccountsByEmailSkeleton after the change", err, nil)
		wantEqual(t, "old skeleton gone", len(list), 0)
		list, err = s.ListAccountsByEmailSkeleton(ctx, "o", emailaddr.Skeleton("b\u03bfb@corp.test")) // Greek ο
		wantErr(t, "ListAccountsByEmailSkeleton new", err, nil)
		wantEqual(t, "new skeleton found", len(list), 1)
	}},
	{"ConcurrentLookalikeCheck", func(t *testing.T, s storage.Store) {
		// Check-then-create inside a transaction: of lookalikes created at
		// once, exactly one gets in.
		mustOrg(t, s, "o")
		// Open the pool's connections first, so the racers start together
		// instead of one finishing while the others still connect.
		allSucceed(t, "warm up", race(goroutines, func(int) error {
			return s.InTx(ctxOf(t), func(tx storage.Store) error {
				_, err := tx.ListAccounts(ctxOf(t), "o")
				return err
			})
		}))
		errLookalike := errors.New("lookalike exists")
		errs := race(goroutines, func(i int) error {
			return s.InTx(ctxOf(t), func(tx storage.Store) error {
				a := newAccount("o", fmt.Sprintf("racer%d", i))
				a.Email = strings.Repeat("0", i) + strings.Repeat("o", goroutines-i) + "@corp.test" // ooo, 0oo, 00o…
				others, err := tx.ListAccountsByEmailSkeleton(ctxOf(t), "o", emailaddr.Skeleton(a.Email))
				if err != nil {
					return err
				}
				if len(others) > 0 {
					return errLookalike
				}
				// More work between the check and the write, as a service
				// does (audit, links): it widens the window a missing lock
				// would leave open.
				for range 5 {
					if _, err := tx.ListAccounts(ctxOf(t), "o"); err != nil {
						return err
					}
				}
				return tx.CreateAccount(ctxOf(t), a)
			})
		})
		oneWinner(t, "create lookalikes at once", errs, errLookalike)
	}},
	{"NotFound", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, err := s.GetAccount(ctx, "nope")
		wantErr(t, "GetAccount", err, storage.ErrNotFound)
		_, err = s.GetAccountByEmail(ctx, "nope@example.com")
		wantErr(t, "GetAccountByEmail", err, storage.ErrNotFound)
		called := false
		_, err = s.UpdateAccount(ctx, "nope", func(*storage.Account) error { called = true; return nil })
		wantErr(t, "UpdateAccount", err, storage.ErrNotFound)
		wantEqual(t, "fn called for a missing account", called, false)
		err = s.CreateAccount(ctx, newAccount("no-such-org", "x"))
		wantErr(t, "CreateAccount in a missing organization", err, storage.ErrNotFound)
	}},
	{"Conflicts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustAccount(t, s, "o", "a")
		dupID := newAccount("o", "a")
		dupID.Email = "other@example.com"
		wantErr(t, "duplicate ID", s.CreateAccount(ctx, dupID), storage.ErrConflict)
		// Email is unique across the deployment, not per organization.
		dupEmail := newAccount("p", "b")
		dupEmail.Email = "a@example.com"
		wantErr(t, "duplicate email in another org", s.CreateAccount(ctx, dupEmail), storage.ErrConflict)
	}},
	{"ConcurrentCreateSameEmail", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		errs := race(goroutines, func(i int) error {
			a := newAccount("o", fmt.Sprintf("racer%d", i))
			a.Email = "same@example.com"
			return s.CreateAccount(ctxOf(t), a)
		})
		oneWinner(t, "CreateAccount with one email", errs, storage.ErrConflict)
		n, err := s.CountAccounts(ctxOf(t))
		wantErr(t, "CountAccounts", err, nil)
		wantEqual(t, "accounts", n, 1)
	}},
	{"CountAccounts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		for i, r := range []storage.Role{storage.RoleOwner, storage.RoleAdmin, storage.RoleAdmin, storage.RoleMember, storage.RoleMember, storage.RoleMember} {
			a := newAccount([]string{"o", "p"}[i%2], fmt.Sprintf("a%d", i))
			a.Role = r
			wantErr(t, "CreateAccount", s.CreateAccount(ctx, a), nil)
		}
		for _, tc := range []struct {
			roles []storage.Role
			want  int
		}{
			{nil, 6},
			{[]storage.Role{storage.RoleOwner}, 1},
			{[]storage.Role{storage.RoleOwner, storage.RoleAdmin}, 3},
			{[]storage.Role{storage.RoleMember}, 3},
			{[]storage.Role{"nobody"}, 0},
		} {
			n, err := s.CountAccounts(ctx, tc.roles...)
			wantErr(t, "CountAccounts", err, nil)
			wantEqual(t, fmt.Sprintf("CountAccounts(%v)", tc.roles), n, tc.want)
		}
	}},
	{"UpdateAccount", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		orig := mustAccount(t, s, "o", "a")
		later := base.Add(time.Hour)
		got, err := s.UpdateAccount(ctx, "a", func(a *storage.Account) error {
			a.DisplayName = "Renamed"
			a.Email = "new@example.com"
			a.Role = storage.RoleAdmin
			a.Status = storage.StatusSuspended
			a.PasswordHash = "new-hash"
			a.PasswordChangedAt = later
			a.UpdatedAt = later
			// Not fn's to change: restored by the store.
			a.ID, a.OrgID, a.CreatedAt = "hijack", "other-org", later
			a.Version = 99
			return nil
		})
		wantErr(t, "UpdateAccount", err, nil)
		want := stored(orig)
		want.DisplayName, want.Email, want.Role, want.Status = "Renamed", "new@example.com", storage.RoleAdmin, storage.StatusSuspended
		want.PasswordHash = "new-hash"
		want.PasswordChangedAt, want.UpdatedAt = storage.Truncate(later), storage.Truncate(later)
		want.Version = orig.Version + 1
		wantEqual(t, "UpdateAccount result", got, want)
		reread, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "GetAccount after update", reread, want)
		_, err = s.GetAccountByEmail(ctx, "a@example.com")
		wantErr(t, "old email", err, storage.ErrNotFound)
	}},
	{"UpdateAccountFnErrorWritesNothing", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		orig := mustAccount(t, s, "o", "a")
		_, err := s.UpdateAccount(ctx, "a", func(a *storage.Account) error {
			a.DisplayName = "half-done"
			return errBoom
		})
		if err != errBoom { //nolint:errorlint // documented: fn's error is returned unchanged
			t.Fatalf("UpdateAccount returned %v, want fn's error unchanged", err)
		}
		got, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "account after failed fn", got, stored(orig))
	}},
	{"UpdateAccountEmailConflict", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		a := mustAccount(t, s, "o", "a")
		mustAccount(t, s, "o", "b")
		_, err := s.UpdateAccount(ctx, "a", func(x *storage.Account) error { x.Email = "b@example.com"; return nil })
		wantErr(t, "UpdateAccount to a taken email", err, storage.ErrConflict)
		got, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "account after conflict", got, stored(a))
	}},
	{"ConcurrentUpdatesLoseNothing", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		orig := mustAccount(t, s, "o", "a")
		errs := race(goroutines, func(i int) error {
			_, err := s.UpdateAccount(ctxOf(t), "a", func(a *storage.Account) error {
				a.DisplayName += fmt.Sprintf("[%d]", i)
				return nil
			})
			return err
		})
		allSucceed(t, "UpdateAccount", errs)
		got, err := s.GetAccount(ctxOf(t), "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "version", got.Version, orig.Version+goroutines)
		for i := range goroutines {
			if !strings.Contains(got.DisplayName, fmt.Sprintf("[%d]", i)) {
				t.Fatalf("update %d lost: DisplayName = %q", i, got.DisplayName)
			}
		}
	}},
	{"StaleReadIsRejected", func(t *testing.T, s storage.Store) {
		// The dex pattern: a caller read the account earlier (say, to
		// render a form), someone else changed it, and the caller's write
		// must not silently overwrite that change.
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAccount(t, s, "o", "a")
		seen, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		_, err = s.UpdateAccount(ctx, "a", func(a *storage.Account) error { a.DisplayName = "first"; return nil })
		wantErr(t, "first UpdateAccount", err, nil)
		_, err = s.UpdateAccount(ctx, "a", func(a *storage.Account) error {
			if a.Version != seen.Version {
				return fmt.Errorf("account changed since version %d: %w", seen.Version, storage.ErrConflict)
			}
			a.DisplayName = "second, based on a stale read"
			return nil
		})
		wantErr(t, "UpdateAccount based on a stale read", err, storage.ErrConflict)
		got, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "the first write survives", [2]any{got.DisplayName, got.Version}, [2]any{"first", seen.Version + 1})
	}},
	{"UpdateWaitsForConflictingTx", updateWaitsForConflictingTx},
}

// updateWaitsForConflictingTx proves the store itself prevents a lost
// update: while one transaction has updated an account and not yet
// committed, a second UpdateAccount on it must neither read the old row nor
// finish. Once the first commits, the second runs on the committed row.
// The outcome is checked deterministically; the 200ms window only bounds
// how long we give a broken store to misbehave.
func updateWaitsForConflictingTx(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	mustOrg(t, s, "o")
	orig := mustAccount(t, s, "o", "a")

	var lockedOnce sync.Once
	locked, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- s.InTx(ctx, func(tx storage.Store) error {
			if _, err := tx.UpdateAccount(ctx, "a", func(a *storage.Account) error {
				a.DisplayName = "A"
				return nil
			}); err != nil {
				return err
			}
			lockedOnce.Do(func() { close(locked) })
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-firstDone:
		t.Fatalf("first transaction ended early: %v", err)
	}

	var sawVersion atomic.Int64
	secondRead := make(chan struct{}, goroutines)
	secondDone := make(chan error, 1)
	go func() {
		_, err := s.UpdateAccount(ctx, "a", func(a *storage.Account) error {
			sawVersion.Store(a.Version)
			secondRead <- struct{}{}
			a.DisplayName += "B"
			return nil
		})
		secondDone <- err
	}()
	select {
	case <-secondRead:
		close(release)
		t.Fatalf("second UpdateAccount read version %d while the first transaction held the account", sawVersion.Load())
	case err := <-secondDone:
		close(release)
		t.Fatalf("second UpdateAccount finished (%v) while the first transaction held the account", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	wantErr(t, "first transaction", <-firstDone, nil)
	err := <-secondDone
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("second UpdateAccount: %v", err)
	}
	got, gerr := s.GetAccount(ctx, "a")
	wantErr(t, "GetAccount", gerr, nil)
	if err != nil {
		// A store may refuse the second write instead of serializing it;
		// what it must never do is lose the first.
		wantEqual(t, "after refused second write", [2]any{got.DisplayName, got.Version}, [2]any{"A", orig.Version + 1})
		return
	}
	wantEqual(t, "second update saw the first's commit", sawVersion.Load(), orig.Version+1)
	wantEqual(t, "both updates applied", [2]any{got.DisplayName, got.Version}, [2]any{"AB", orig.Version + 2})
}
