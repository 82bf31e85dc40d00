package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newSession(accountID, id string, created time.Time) storage.Session {
	return storage.Session{
		ID:          id,
		TokenHash:   "hash-" + id,
		AccountID:   accountID,
		OrgID:       "o",
		Method:      "password",
		CreatedAt:   created,
		LastSeenAt:  created,
		IdleTimeout: 30*time.Minute + 1500*time.Nanosecond, // truncated to 30m0.000001s
		ExpiresAt:   created.Add(12 * time.Hour),
		IP:          "203.0.113.7",
		UserAgent:   "Mozilla/5.0",
		// SSO fields round-trip like the rest.
		ConnectionID: "conn-" + id,
		IdPAuthnAt:   created.Add(-time.Minute),
		// How it was made round-trips too, in order.
		AMR:      []string{"pwd", "otp", "mfa"},
		AuthTime: created.Add(-30 * time.Second),
	}
}

func storedSession(x storage.Session) storage.Session {
	x.CreatedAt, x.LastSeenAt = storage.Truncate(x.CreatedAt), storage.Truncate(x.LastSeenAt)
	x.ExpiresAt, x.RevokedAt = storage.Truncate(x.ExpiresAt), storage.Truncate(x.RevokedAt)
	x.IdleTimeout = x.IdleTimeout.Truncate(time.Microsecond)
	x.IdPAuthnAt, x.AuthTime = storage.Truncate(x.IdPAuthnAt), storage.Truncate(x.AuthTime)
	return x
}

func mustSession(t *testing.T, s storage.Store, x storage.Session) storage.Session {
	t.Helper()
	if err := s.CreateSession(ctxOf(t), x); err != nil {
		t.Fatalf("CreateSession(%s): %v", x.ID, err)
	}
	return x
}

// sessionIDs lists the IDs, to compare orderings readably.
func sessionIDs(xs []storage.Session) []string {
	ids := []string{}
	for _, x := range xs {
		ids = append(ids, x.ID)
	}
	return ids
}

// withAccount sets up organization "o" with account "a" and returns s.
func withAccount(t *testing.T, s storage.Store) storage.Store {
	t.Helper()
	mustOrg(t, s, "o")
	mustAccount(t, s, "o", "a")
	return s
}

var sessionTests = []namedTest{
	{"AuthenticationMethodsRoundTrip", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		for id, amr := range map[string][]string{
			"none":   nil,
			"empty":  {},
			"single": {"sso"},
			"many":   {"sso", "hwk", "mfa"},
		} {
			x := newSession("a", id, base)
			x.AMR = amr
			mustSession(t, s, x)
			got, err := s.GetSession(ctx, id)
			wantErr(t, "GetSession "+id, err, nil)
			want := amr
			if len(want) == 0 {
				want = nil // no methods reads back as nil, however it was written
			}
			wantEqual(t, "AMR of "+id, got.AMR, want)
			wantUTCMicros(t, "AuthTime of "+id, got.AuthTime, x.AuthTime)
		}
		list, err := s.ListSessions(ctx, "a", base)
		wantErr(t, "ListSessions", err, nil)
		for _, x := range list {
			if x.ID == "many" {
				wantEqual(t, "listed AMR", x.AMR, []string{"sso", "hwk", "mfa"})
			}
		}
	}},
	{"CreateGet", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		x := mustSession(t, s, newSession("a", "s1", base))
		got, err := s.GetSession(ctx, "s1")
		wantErr(t, "GetSession", err, nil)
		wantEqual(t, "GetSession", got, storedSession(x))
		wantUTCMicros(t, "ExpiresAt", got.ExpiresAt, x.ExpiresAt)
		got, err = s.GetSessionByTokenHash(ctx, "hash-s1")
		wantErr(t, "GetSessionByTokenHash", err, nil)
		wantEqual(t, "GetSessionByTokenHash", got, storedSession(x))
	}},
	{"NotFoundAndConflicts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		_, err := s.GetSession(ctx, "nope")
		wantErr(t, "GetSession", err, storage.ErrNotFound)
		_, err = s.GetSessionByTokenHash(ctx, "nope")
		wantErr(t, "GetSessionByTokenHash", err, storage.ErrNotFound)
		wantErr(t, "TouchSession", s.TouchSession(ctx, "nope", base), storage.ErrNotFound)
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "nope", "logout", base), storage.ErrNotFound)
		wantErr(t, "CreateSession for a missing account",
			s.CreateSession(ctx, newSession("ghost", "s0", base)), storage.ErrNotFound)

		mustSession(t, s, newSession("a", "s1", base))
		dupID := newSession("a", "s1", base)
		dupID.TokenHash = "other"
		wantErr(t, "duplicate ID", s.CreateSession(ctx, dupID), storage.ErrConflict)
		dupHash := newSession("a", "s2", base)
		dupHash.TokenHash = "hash-s1"
		wantErr(t, "duplicate token hash", s.CreateSession(ctx, dupHash), storage.ErrConflict)
	}},
	{"TouchMovesForwardOnly", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustSession(t, s, newSession("a", "s1", base))
		later := base.Add(time.Minute)
		wantErr(t, "TouchSession forward", s.TouchSession(ctx, "s1", later), nil)
		wantErr(t, "TouchSession backward", s.TouchSession(ctx, "s1", base.Add(time.Second)), nil)
		got, err := s.GetSession(ctx, "s1")
		wantErr(t, "GetSession", err, nil)
		wantUTCMicros(t, "LastSeenAt", got.LastSeenAt, later)
	}},
	{"ListLiveNewestFirst", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustAccount(t, s, "o", "b")
		now := base.Add(time.Hour)
		mustSession(t, s, newSession("a", "old", base))
		mustSession(t, s, newSession("a", "new", base.Add(10*time.Minute)))
		mustSession(t, s, newSession("a", "mid", base.Add(5*time.Minute)))
		expired := newSession("a", "expired", base)
		expired.ExpiresAt = now // not after now: ended
		mustSession(t, s, expired)
		mustSession(t, s, newSession("a", "revoked", base))
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "revoked", "logout", base), nil)
		mustSession(t, s, newSession("b", "others", base))

		list, err := s.ListSessions(ctx, "a", now)
		wantErr(t, "ListSessions", err, nil)
		wantEqual(t, "ListSessions", sessionIDs(list), []string{"new", "mid", "old"})
		wantEqual(t, "listed session", list[2], storedSession(newSession("a", "old", base)))
		list, err = s.ListSessions(ctx, "nobody", now)
		wantErr(t, "ListSessions(unknown)", err, nil)
		wantEqual(t, "ListSessions(unknown)", len(list), 0)
	}},
	{"RevokeIsIdempotent", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustSession(t, s, newSession("a", "s1", base))
		at := base.Add(time.Minute)
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "s1", "logout", at), nil)
		wantErr(t, "RevokeSession again", s.RevokeSession(ctx, "s1", "admin", at.Add(time.Minute)), nil)
		got, err := s.GetSession(ctx, "s1")
		wantErr(t, "GetSession", err, nil)
		wantUTCMicros(t, "RevokedAt", got.RevokedAt, at)
		wantEqual(t, "RevokeReason (the first)", got.RevokeReason, "logout")
		got, err = s.GetSessionByTokenHash(ctx, "hash-s1")
		wantErr(t, "revoked session still readable by hash", err, nil)
		wantEqual(t, "revoked", got.RevokedAt.IsZero(), false)
	}},
	{"RevokeAccountSessionsExcept", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustAccount(t, s, "o", "b")
		for i := range 4 {
			mustSession(t, s, newSession("a", fmt.Sprintf("s%d", i), base))
		}
		mustSession(t, s, newSession("a", "already", base))
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "already", "logout", base), nil)
		expired := newSession("a", "expired", base.Add(-24*time.Hour))
		mustSession(t, s, expired)
		mustSession(t, s, newSession("b", "others", base))

		at := base.Add(time.Minute)
		n, err := s.RevokeAccountSessions(ctx, "a", "s0", "password_changed", at)
		wantErr(t, "RevokeAccountSessions", err, nil)
		wantEqual(t, "revoked count (live sessions except s0)", n, 3)
		list, err := s.ListSessions(ctx, "a", at)
		wantErr(t, "ListSessions", err, nil)
		wantEqual(t, "remaining", sessionIDs(list), []string{"s0"})
		got, err := s.GetSession(ctx, "s1")
		wantErr(t, "GetSession", err, nil)
		wantEqual(t, "reason", got.RevokeReason, "password_changed")
		wantUTCMicros(t, "RevokedAt", got.RevokedAt, at)
		got, err = s.GetSession(ctx, "already")
		wantErr(t, "GetSession", err, nil)
		wantEqual(t, "earlier revocation kept", got.RevokeReason, "logout")
		list, err = s.ListSessions(ctx, "b", at)
		wantErr(t, "ListSessions(b)", err, nil)
		wantEqual(t, "other account untouched", sessionIDs(list), []string{"others"})

		n, err = s.RevokeAccountSessions(ctx, "a", "", "all", at)
		wantErr(t, "RevokeAccountSessions(all)", err, nil)
		wantEqual(t, "revoked count (no exception)", n, 1)
		n, err = s.RevokeAccountSessions(ctx, "a", "", "all", at)
		wantErr(t, "RevokeAccountSessions(again)", err, nil)
		wantEqual(t, "revoked count (nothing left)", n, 0)
	}},
	{"DeleteExpired", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		cutoff := base.Add(24 * time.Hour)
		expired := newSession("a", "expired", base) // ExpiresAt = base+12h
		mustSession(t, s, expired)
		revoked := newSession("a", "revoked", cutoff.Add(-time.Minute)) // neither expired nor idle
		mustSession(t, s, revoked)
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "revoked", "logout", cutoff.Add(-time.Minute)), nil)
		idle := newSession("a", "idle", cutoff.Add(-2*time.Hour)) // idle 30m, last seen 2h before cutoff
		mustSession(t, s, idle)
		live := newSession("a", "live", cutoff.Add(-time.Minute))
		mustSession(t, s, live)
		revokedLater := newSession("a", "revoked-later", cutoff.Add(-time.Minute))
		mustSession(t, s, revokedLater)
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "revoked-later", "logout", cutoff.Add(time.Minute)), nil)

		n, err := s.DeleteExpiredSessions(ctx, cutoff)
		wantErr(t, "DeleteExpiredSessions", err, nil)
		wantEqual(t, "deleted", n, 3)
		for id, want := range map[string]error{"expired": storage.ErrNotFound, "revoked": storage.ErrNotFound,
			"idle": storage.ErrNotFound, "live": nil, "revoked-later": nil} {
			_, err := s.GetSession(ctx, id)
			wantErr(t, "GetSession("+id+") after cleanup", err, want)
		}
	}},
}
