package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var mfaTOTPTests = []namedTest{
	{"PendingDoesNotTouchConfirmed", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		o := mustOrg(t, s, "o1")
		a := mustAccount(t, s, o.ID, "a1")
		_, err := s.GetTOTPFactor(ctx, a.ID)
		wantErr(t, "GetTOTPFactor before enrolment", err, storage.ErrNotFound)

		wantErr(t, "SetPendingTOTP", s.SetPendingTOTP(ctx, a.ID, "sealed-1", base), nil)
		wantErr(t, "ConfirmTOTPFactor(stale)", s.ConfirmTOTPFactor(ctx, a.ID, "sealed-0", 100, base), storage.ErrConflict)
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(ctx, a.ID, "sealed-1", 100, base.Add(time.Minute)), nil)
		wantErr(t, "ConfirmTOTPFactor(again)", s.ConfirmTOTPFactor(ctx, a.ID, "sealed-1", 101, base.Add(time.Minute)), storage.ErrConflict)

		// A new enrolment waits beside the factor in use.
		wantErr(t, "SetPendingTOTP(2)", s.SetPendingTOTP(ctx, a.ID, "sealed-2", base.Add(2*time.Minute)), nil)
		f, err := s.GetTOTPFactor(ctx, a.ID)
		wantErr(t, "GetTOTPFactor", err, nil)
		wantEqual(t, "secret in use", f.Secret, "sealed-1")
		wantEqual(t, "pending secret", f.PendingSecret, "sealed-2")
		wantEqual(t, "last step", f.LastStep, int64(100))
		wantUTCMicros(t, "confirmed at", f.ConfirmedAt, base.Add(time.Minute))
		wantUTCMicros(t, "pending at", f.PendingAt, base.Add(2*time.Minute))

		wantErr(t, "DeleteTOTPFactor", s.DeleteTOTPFactor(ctx, a.ID), nil)
		wantErr(t, "DeleteTOTPFactor(again)", s.DeleteTOTPFactor(ctx, a.ID), storage.ErrNotFound)
		_, err = s.GetTOTPFactor(ctx, a.ID)
		wantErr(t, "GetTOTPFactor after delete", err, storage.ErrNotFound)
	}},
	{"StepsOnlyMoveForward", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		o := mustOrg(t, s, "o1")
		a := mustAccount(t, s, o.ID, "a1")
		wantErr(t, "SetPendingTOTP", s.SetPendingTOTP(ctx, a.ID, "sealed", base), nil)
		// Pending only: no code is accepted yet.
		wantErr(t, "UseTOTPStep(pending only)", s.UseTOTPStep(ctx, a.ID, 5, base), storage.ErrConflict)
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(ctx, a.ID, "sealed", 10, base), nil)
		wantErr(t, "UseTOTPStep(same as confirmation)", s.UseTOTPStep(ctx, a.ID, 10, base), storage.ErrConflict)
		wantErr(t, "UseTOTPStep(11)", s.UseTOTPStep(ctx, a.ID, 11, base.Add(time.Second)), nil)
		wantErr(t, "UseTOTPStep(11 again)", s.UseTOTPStep(ctx, a.ID, 11, base), storage.ErrConflict)
		wantErr(t, "UseTOTPStep(earlier)", s.UseTOTPStep(ctx, a.ID, 9, base), storage.ErrConflict)
		wantErr(t, "UseTOTPStep(unknown account)", s.UseTOTPStep(ctx, "nobody", 99, base), storage.ErrConflict)
		f, err := s.GetTOTPFactor(ctx, a.ID)
		wantErr(t, "GetTOTPFactor", err, nil)
		wantEqual(t, "last step", f.LastStep, int64(11))
		wantUTCMicros(t, "last used", f.LastUsedAt, base.Add(time.Second))
	}},
	{"ConcurrentUsesOfOneStepOneWins", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		o := mustOrg(t, s, "o1")
		a := mustAccount(t, s, o.ID, "a1")
		wantErr(t, "SetPendingTOTP", s.SetPendingTOTP(ctx, a.ID, "sealed", base), nil)
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(ctx, a.ID, "sealed", 1, base), nil)
		errs := race(goroutines, func(int) error { return s.UseTOTPStep(ctx, a.ID, 2, base) })
		oneWinner(t, "UseTOTPStep", errs, storage.ErrConflict)
	}},
	{"RecoveryCodesSingleUseAndReplaced", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		o := mustOrg(t, s, "o1")
		a := mustAccount(t, s, o.ID, "a1")
		b := mustAccount(t, s, o.ID, "b1")
		n, err := s.CountRecoveryCodes(ctx, a.ID)
		wantErr(t, "CountRecoveryCodes(none)", err, nil)
		wantEqual(t, "codes before", n, 0)
		old := []string{"h1", "h2", "h3"}
		wantErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, old, base), nil)
		wantErr(t, "UseRecoveryCode(other account)", s.UseRecoveryCode(ctx, b.ID, "h1", base), storage.ErrNotFound)
		wantErr(t, "UseRecoveryCode", s.UseRecoveryCode(ctx, a.ID, "h1", base), nil)
		wantErr(t, "UseRecoveryCode(again)", s.UseRecoveryCode(ctx, a.ID, "h1", base), storage.ErrNotFound)
		wantErr(t, "UseRecoveryCode(unknown)", s.UseRecoveryCode(ctx, a.ID, "zz", base), storage.ErrNotFound)
		n, err = s.CountRecoveryCodes(ctx, a.ID)
		wantErr(t, "CountRecoveryCodes", err, nil)
		wantEqual(t, "codes left", n, 2)

		// A new set voids the old one, used or not; a code may recur.
		wantErr(t, "ReplaceRecoveryCodes(new)", s.ReplaceRecoveryCodes(ctx, a.ID, []string{"h1", "n2"}, base.Add(time.Hour)), nil)
		wantErr(t, "UseRecoveryCode(old set)", s.UseRecoveryCode(ctx, a.ID, "h2", base), storage.ErrNotFound)
		n, err = s.CountRecoveryCodes(ctx, a.ID)
		wantErr(t, "CountRecoveryCodes(new)", err, nil)
		wantEqual(t, "codes in the new set", n, 2)
		wantErr(t, "UseRecoveryCode(h1 in new set)", s.UseRecoveryCode(ctx, a.ID, "h1", base), nil)
		wantErr(t, "ReplaceRecoveryCodes(empty)", s.ReplaceRecoveryCodes(ctx, a.ID, nil, base), nil)
		n, err = s.CountRecoveryCodes(ctx, a.ID)
		wantErr(t, "CountRecoveryCodes(emptied)", err, nil)
		wantEqual(t, "codes after emptying", n, 0)
	}},
	{"ConcurrentUsesOfOneRecoveryCodeOneWins", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		o := mustOrg(t, s, "o1")
		a := mustAccount(t, s, o.ID, "a1")
		hashes := make([]string, 10)
		for i := range hashes {
			hashes[i] = fmt.Sprintf("hash-%d", i)
		}
		wantErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, hashes, base), nil)
		errs := race(goroutines, func(int) error { return s.UseRecoveryCode(ctx, a.ID, "hash-3", base) })
		oneWinner(t, "UseRecoveryCode", errs, storage.ErrNotFound)
		n, err := s.CountRecoveryCodes(ctx, a.ID)
		wantErr(t, "CountRecoveryCodes", err, nil)
		wantEqual(t, "codes left", n, 9)
	}},
}
