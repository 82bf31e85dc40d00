package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newPasskey(orgID, accountID, id string, credID byte) storage.Passkey {
	return storage.Passkey{
		ID: id, AccountID: accountID, OrgID: orgID,
		CredentialID: []byte{credID, 0x00, 0xff, credID}, PublicKey: []byte{0xa5, 0x01, 0x02},
		AttestationType: "none", AttestationFormat: "none", AAGUID: make([]byte, 16),
		SignCount: 7, Transports: []string{"internal", "hybrid"},
		BackupEligible: true, BackupState: true, Name: "Laptop " + id,
		CreatedAt: base.Add(time.Duration(credID) * time.Minute),
	}
}

func storedPasskey(p storage.Passkey) storage.Passkey {
	p.CreatedAt, p.LastUsedAt = storage.Truncate(p.CreatedAt), storage.Truncate(p.LastUsedAt)
	p.CloneSuspectedAt = storage.Truncate(p.CloneSuspectedAt)
	return p
}

var passkeyTests = []namedTest{
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o1")
		mustAccount(t, s, "o1", "a1")
		mustAccount(t, s, "o1", "a2")
		p1, p2 := newPasskey("o1", "a1", "p1", 1), newPasskey("o1", "a1", "p2", 2)
		p2.Emergency, p2.Transports, p2.BackupEligible, p2.BackupState = true, nil, false, false
		wantErr(t, "CreatePasskey p2", s.CreatePasskey(ctx, p2), nil)
		wantErr(t, "CreatePasskey p1", s.CreatePasskey(ctx, p1), nil)
		wantErr(t, "duplicate ID", s.CreatePasskey(ctx, newPasskey("o1", "a2", "p1", 9)), storage.ErrConflict)
		// A credential ID names one passkey in the whole deployment: a
		// discoverable sign-in finds the account by it.
		wantErr(t, "duplicate credential ID", s.CreatePasskey(ctx, newPasskey("o1", "a2", "p3", 1)), storage.ErrConflict)
		wantErr(t, "unknown account", s.CreatePasskey(ctx, newPasskey("o1", "nobody", "p4", 4)), storage.ErrNotFound)

		got, err := s.GetPasskey(ctx, "p1")
		wantErr(t, "GetPasskey", err, nil)
		wantEqual(t, "GetPasskey", got, storedPasskey(p1))
		got, err = s.GetPasskeyByCredentialID(ctx, p2.CredentialID)
		wantErr(t, "GetPasskeyByCredentialID", err, nil)
		wantEqual(t, "GetPasskeyByCredentialID", got, storedPasskey(p2))
		_, err = s.GetPasskeyByCredentialID(ctx, []byte{9, 9})
		wantErr(t, "unknown credential", err, storage.ErrNotFound)
		_, err = s.GetPasskey(ctx, "nope")
		wantErr(t, "unknown passkey", err, storage.ErrNotFound)

		list, err := s.ListPasskeys(ctx, "a1")
		wantErr(t, "ListPasskeys", err, nil)
		wantEqual(t, "ListPasskeys, oldest first", list, []storage.Passkey{storedPasskey(p1), storedPasskey(p2)})
		list, err = s.ListPasskeys(ctx, "a2")
		wantErr(t, "ListPasskeys a2", err, nil)
		wantEqual(t, "another account's list", len(list), 0)
	}},
	{"UpdateDelete", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o1")
		mustAccount(t, s, "o1", "a1")
		mustAccount(t, s, "o1", "a2")
		p := newPasskey("o1", "a1", "p1", 1)
		wantErr(t, "CreatePasskey", s.CreatePasskey(ctx, p), nil)
		upd, err := s.UpdatePasskey(ctx, "p1", func(x *storage.Passkey) error {
			x.Name, x.SignCount, x.LastUsedAt = "Phone", 8, base.Add(time.Hour)
			x.CloneSuspectedAt, x.BackupState = base.Add(2*time.Hour), false
			x.AccountID, x.PublicKey = "a2", []byte{1} // not the closure's to change
			return nil
		})
		wantErr(t, "UpdatePasskey", err, nil)
		want := storedPasskey(p)
		want.Name, want.SignCount, want.LastUsedAt = "Phone", 8, storage.Truncate(base.Add(time.Hour))
		want.CloneSuspectedAt, want.BackupState = storage.Truncate(base.Add(2*time.Hour)), false
		wantEqual(t, "updated passkey", upd, want)
		got, _ := s.GetPasskey(ctx, "p1")
		wantEqual(t, "updated passkey read back", got, want)

		refuse := errors.New("refused")
		_, err = s.UpdatePasskey(ctx, "p1", func(x *storage.Passkey) error { x.Name = "x"; return refuse })
		wantErr(t, "refusing closure", err, refuse)
		got, _ = s.GetPasskey(ctx, "p1")
		wantEqual(t, "a refused update changes nothing", got.Name, "Phone")
		_, err = s.UpdatePasskey(ctx, "nope", func(*storage.Passkey) error { return nil })
		wantErr(t, "update unknown", err, storage.ErrNotFound)

		wantErr(t, "delete through another account", s.DeletePasskey(ctx, "a2", "p1"), storage.ErrNotFound)
		wantErr(t, "DeletePasskey", s.DeletePasskey(ctx, "a1", "p1"), nil)
		wantErr(t, "delete twice", s.DeletePasskey(ctx, "a1", "p1"), storage.ErrNotFound)
		_, err = s.GetPasskey(ctx, "p1")
		wantErr(t, "deleted passkey", err, storage.ErrNotFound)
	}},
	{"ChallengeUsedOnce", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := storage.PasskeyChallenge{
			IDHash: "h1", AccountID: "", Purpose: storage.PasskeyPurposeLogin, Emergency: true,
			Session: []byte(`{"challenge":"abc"}`), CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute),
		}
		wantErr(t, "CreatePasskeyChallenge", s.CreatePasskeyChallenge(ctx, c), nil)
		wantErr(t, "duplicate", s.CreatePasskeyChallenge(ctx, c), storage.ErrConflict)
		// Many concurrent answers to one challenge: exactly one gets it.
		got := make([]storage.PasskeyChallenge, goroutines)
		errs := race(goroutines, func(i int) error {
			var err error
			got[i], err = s.ConsumePasskeyChallenge(ctx, "h1")
			return err
		})
		winners := 0
		for i, err := range errs {
			if err == nil {
				winners++
				want := c
				want.CreatedAt, want.ExpiresAt = storage.Truncate(c.CreatedAt), storage.Truncate(c.ExpiresAt)
				wantEqual(t, "consumed challenge", got[i], want)
				continue
			}
			wantErr(t, "losing consumer", err, storage.ErrNotFound)
		}
		wantEqual(t, "consumers that got the challenge", winners, 1)

		for i, exp := range []time.Duration{-time.Minute, time.Minute} {
			old := c
			old.IDHash = []string{"old", "new"}[i]
			old.ExpiresAt = base.Add(exp)
			wantErr(t, "create", s.CreatePasskeyChallenge(ctx, old), nil)
		}
		n, err := s.DeleteExpiredPasskeyChallenges(ctx, base)
		wantErr(t, "DeleteExpiredPasskeyChallenges", err, nil)
		wantEqual(t, "expired challenges deleted", n, 1)
		_, err = s.ConsumePasskeyChallenge(ctx, "new")
		wantErr(t, "unexpired challenge kept", err, nil)
	}},
}
