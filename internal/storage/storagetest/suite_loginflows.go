package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newLoginFlow(id string) storage.LoginFlow {
	return storage.LoginFlow{
		ID:          id,
		BrowserHash: "bh-" + id,
		Step:        "identify",
		ReturnTo:    "/account",
		CreatedAt:   base,
		ExpiresAt:   base.Add(10 * time.Minute),
		Version:     1,
	}
}

func storedLoginFlow(f storage.LoginFlow) storage.LoginFlow {
	f.CreatedAt, f.ExpiresAt = storage.Truncate(f.CreatedAt), storage.Truncate(f.ExpiresAt)
	f.AuthTime, f.UsedAt = storage.Truncate(f.AuthTime), storage.Truncate(f.UsedAt)
	return f
}

var loginFlowTests = []namedTest{
	{"CreateGetUpdate", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		f := newLoginFlow("f1")
		wantErr(t, "CreateLoginFlow", s.CreateLoginFlow(ctx, f), nil)
		wantErr(t, "duplicate ID", s.CreateLoginFlow(ctx, f), storage.ErrConflict)
		got, err := s.GetLoginFlow(ctx, "f1")
		wantErr(t, "GetLoginFlow", err, nil)
		wantEqual(t, "GetLoginFlow", got, storedLoginFlow(f))
		_, err = s.GetLoginFlow(ctx, "nope")
		wantErr(t, "unknown flow", err, storage.ErrNotFound)

		upd, err := s.UpdateLoginFlow(ctx, "f1", func(x *storage.LoginFlow) error {
			x.Step, x.Email, x.AccountID = "authenticated", "ann@example.com", "a1"
			x.Methods = []string{"pwd", "otp"}
			x.AuthTime, x.PrevSession = base.Add(time.Minute), "a0/s0"
			x.BrowserHash = "changed" // not the closure's to change
			return nil
		})
		wantErr(t, "UpdateLoginFlow", err, nil)
		want := storedLoginFlow(f)
		want.Step, want.Email, want.AccountID = "authenticated", "ann@example.com", "a1"
		want.Methods, want.AuthTime, want.Version = []string{"pwd", "otp"}, storage.Truncate(base.Add(time.Minute)), 2
		want.PrevSession = "a0/s0"
		wantEqual(t, "updated flow", upd, want)
		got, _ = s.GetLoginFlow(ctx, "f1")
		wantEqual(t, "updated flow read back", got, want)

		refuse := errors.New("refused")
		_, err = s.UpdateLoginFlow(ctx, "f1", func(x *storage.LoginFlow) error { x.Step = "done"; return refuse })
		wantErr(t, "refusing closure", err, refuse)
		got, _ = s.GetLoginFlow(ctx, "f1")
		wantEqual(t, "a refused update changes nothing", got.Step, "authenticated")

		_, err = s.UpdateLoginFlow(ctx, "f1", func(x *storage.LoginFlow) error { x.Methods = []string{"a,b"}; return nil })
		if err == nil {
			t.Fatal("a method with a comma was stored")
		}
	}},
	{"SpentOnce", func(t *testing.T, s storage.Store) {
		// Two browsers' worth of concurrent "issue the session" steps on
		// one flow: exactly one may mark it used.
		ctx := ctxOf(t)
		wantErr(t, "CreateLoginFlow", s.CreateLoginFlow(ctx, newLoginFlow("f1")), nil)
		spent := errors.New("spent")
		errs := race(goroutines, func(i int) error {
			_, err := s.UpdateLoginFlow(ctx, "f1", func(x *storage.LoginFlow) error {
				if !x.UsedAt.IsZero() {
					return spent
				}
				x.UsedAt, x.Step = base.Add(time.Duration(i)*time.Second), "done"
				return nil
			})
			if errors.Is(err, storage.ErrConflict) {
				return spent // a stale read lost the race: also refused
			}
			return err
		})
		oneWinner(t, "spend a login flow", errs, spent)
	}},
	{"DeleteExpired", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		for i := range 3 {
			f := newLoginFlow(fmt.Sprintf("f%d", i))
			f.ExpiresAt = base.Add(time.Duration(i) * time.Minute)
			wantErr(t, "CreateLoginFlow", s.CreateLoginFlow(ctx, f), nil)
		}
		n, err := s.DeleteExpiredLoginFlows(ctx, base.Add(90*time.Second))
		wantErr(t, "DeleteExpiredLoginFlows", err, nil)
		wantEqual(t, "deleted", n, 2)
		_, err = s.GetLoginFlow(ctx, "f2")
		wantErr(t, "the live flow stays", err, nil)
	}},
}
