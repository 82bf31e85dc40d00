package mfa_test

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// RFC 6238 Appendix B, SHA1 rows: the library the service builds on
// computes the published 8-digit codes for the published secret.
func TestRFC6238AppendixBSHA1(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		at := time.Unix(v.unix, 0).UTC()
		got, err := totp.GenerateCodeCustom(secret, at, opts)
		if err != nil || got != v.code {
			t.Errorf("T=%d: code %q (%v), want %s", v.unix, got, err, v.code)
		}
		if ok, err := totp.ValidateCustom(v.code, secret, at, opts); !ok || err != nil {
			t.Errorf("T=%d: %s not valid (%v)", v.unix, v.code, err)
		}
	}
}

func TestEnrolVerifyAndReplay(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		enr, err := e.svc.BeginTOTP(e.asAda, e.ada)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(enr.URI)
		if err != nil || u.Scheme != "otpauth" || u.Query().Get("issuer") != "Acme" || u.Query().Get("secret") != enr.Secret {
			t.Fatalf("URI %q: want otpauth with issuer Acme and the secret", enr.URI)
		}
		if !strings.HasPrefix(string(enr.QRPNG), "\x89PNG") {
			t.Fatal("QR code is not a PNG")
		}
		e.secret = enr.Secret
		// Not enrolled until confirmed: a pending app's codes don't sign in.
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("VerifyTOTP before confirmation = %v, want ErrInvalidCode", err)
		}
		if _, err := e.svc.ConfirmTOTP(e.asAda, e.ada, "000000"); !errors.Is(err, mfa.ErrInvalidCode) && e.code(t, 0) != "000000" {
			t.Fatalf("ConfirmTOTP(wrong) = %v, want ErrInvalidCode", err)
		}
		codes, err := e.svc.ConfirmTOTP(e.asAda, e.ada, e.code(t, 0))
		if err != nil || len(codes) != mfa.RecoveryCodeCount {
			t.Fatalf("ConfirmTOTP = %d codes, %v; want 10", len(codes), err)
		}
		if _, err := e.svc.ConfirmTOTP(e.asAda, e.ada, e.code(t, 0)); !errors.Is(err, mfa.ErrNoTOTPEnrolment) {
			t.Fatalf("second ConfirmTOTP = %v, want ErrNoTOTPEnrolment", err)
		}
		if st, err := e.svc.Status(t.Context(), e.ada.ID); err != nil || !st.TOTP || st.RecoveryCodesLeft != 10 || !st.EnrolledAt.Equal(start) {
			t.Fatalf("Status = %+v, %v", st, err)
		}
		if len(e.events(t, mfa.ActionTOTPEnrolled)) != 1 {
			t.Fatal("enrolment not audited")
		}

		// The confirming code was spent: it can't sign in.
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("VerifyTOTP(confirmation code) = %v, want ErrInvalidCode", err)
		}
		e.clock.add(30 * time.Second)
		c := e.code(t, 0)
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, c[:3]+" "+c[3:]); err != nil {
			t.Fatalf("VerifyTOTP(next step, typed with a space) = %v", err)
		}
		// Replay within its window: same code, and the previous step's.
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replayed code = %v, want ErrInvalidCode", err)
		}
		e.clock.add(10 * time.Second)
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replayed code 10 s later = %v, want ErrInvalidCode", err)
		}
		if ev := e.events(t, mfa.ActionTOTPFailed); len(ev) == 0 || ev[len(ev)-1].Reason != "replayed" || ev[len(ev)-1].TargetID != e.ada.ID {
			t.Fatalf("replay not audited as such: %+v", ev)
		}
		if len(e.events(t, mfa.ActionTOTPVerified)) != 1 {
			t.Fatal("successful verification not audited")
		}
	})
}

func TestSkew(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.enrol(t)
		e.clock.add(5 * time.Minute)
		for _, c := range []struct {
			name   string
			offset time.Duration
			ok     bool
		}{
			{"two steps behind", -60 * time.Second, false},
			{"one step behind", -30 * time.Second, true},
			{"two steps ahead", 60 * time.Second, false},
			{"one step ahead", 30 * time.Second, true},
		} {
			err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, c.offset))
			if c.ok && err != nil {
				t.Errorf("%s: %v, want accepted", c.name, err)
			}
			if !c.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("%s: %v, want ErrInvalidCode", c.name, err)
			}
		}
		// The step ahead was used: now's code, an earlier step, is refused.
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Errorf("code of a step before the last used = %v, want ErrInvalidCode", err)
		}
	})
}

func TestWrongAndMalformedCodesAndThrottle(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.enrol(t)
		e.clock.add(time.Minute)
		right := e.code(t, 0)
		wrong := "123456"
		if wrong == right {
			wrong = "654321"
		}
		for i, c := range []string{wrong, "12345", "abcdef", ""} {
			if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("attempt %d (%q) = %v, want ErrInvalidCode", i, c, err)
			}
		}
		// The fifth failure reaches the limit (5 per 15 minutes by default).
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("fifth attempt = %v, want ErrInvalidCode", err)
		}
		var throttled *account.ThrottledError
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, right); !errors.As(err, &throttled) || throttled.RetryAfter < time.Second {
			t.Fatalf("right code while blocked = %v, want *account.ThrottledError", err)
		}
		// Recovery codes share the counter.
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, "aaaaa-aaaaa"); !errors.As(err, &throttled) {
			t.Fatalf("recovery code while blocked = %v, want *account.ThrottledError", err)
		}
		e.clock.add(throttled.RetryAfter)
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); err != nil {
			t.Fatalf("right code after the wait = %v", err)
		}
		// Unknown accounts and accounts without an app answer alike.
		if err := e.svc.VerifyTOTP(t.Context(), "nobody", right); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("unknown account = %v", err)
		}
	})
}

func TestConcurrentUseOfOneCode(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		codes := e.enrol(t)
		e.svc.Backoff.Limit = 1000 // this test is about the replay guard, not the throttle
		e.clock.add(30 * time.Second)
		totpCode := e.code(t, 0)
		for name, use := range map[string]func() error{
			"totp":     func() error { return e.svc.VerifyTOTP(t.Context(), e.ada.ID, totpCode) },
			"recovery": func() error { return e.svc.UseRecoveryCode(t.Context(), e.ada.ID, codes[0]) },
		} {
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for i := range n {
				wg.Go(func() { <-gate; errs[i] = use() })
			}
			close(gate)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, mfa.ErrInvalidCode):
					t.Errorf("%s: unexpected error %v", name, err)
				}
			}
			if wins != 1 {
				t.Errorf("%s: %d concurrent uses succeeded, want exactly 1", name, wins)
			}
		}
	})
}

func TestOnlyThePersonManagesTheirApp(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		owner := storage.Account{ID: "own", OrgID: e.org.ID, Email: "own@acme.test", Role: storage.RoleOwner,
			Status: storage.StatusActive, CreatedAt: start, UpdatedAt: start}
		if err := st.CreateAccount(t.Context(), owner); err != nil {
			t.Fatal(err)
		}
		for name, ctx := range map[string]func() error{
			"begin, no actor":      func() error { _, err := e.svc.BeginTOTP(t.Context(), e.ada); return err },
			"begin, an owner":      func() error { _, err := e.svc.BeginTOTP(authz.AsAccount(t.Context(), owner), e.ada); return err },
			"begin, the CLI":       func() error { _, err := e.svc.BeginTOTP(authz.AsCLI(t.Context(), "root"), e.ada); return err },
			"remove, an owner":     func() error { return e.svc.RemoveTOTP(authz.AsAccount(t.Context(), owner), e.ada) },
			"regenerate, no actor": func() error { _, err := e.svc.RegenerateRecoveryCodes(t.Context(), e.ada); return err },
			"confirm, another's org": func() error {
				_, err := e.svc.ConfirmTOTP(e.asAda, storage.Account{ID: "ada", OrgID: "other"}, "123456")
				return err
			},
		} {
			if err := ctx(); !errors.Is(err, authz.ErrForbidden) {
				t.Errorf("%s: %v, want authz.ErrForbidden", name, err)
			}
		}
		if ok, _ := e.svc.TOTPEnrolled(t.Context(), e.ada.ID); ok {
			t.Fatal("refused calls enrolled an app")
		}
	})
}

func TestRemoveKeepsRecoveryCodes(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		codes := e.enrol(t)
		if err := e.svc.RemoveTOTP(e.asAda, e.ada); err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Minute)
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code of a removed app = %v, want ErrInvalidCode", err)
		}
		s, err := e.svc.Status(t.Context(), e.ada.ID)
		if err != nil || s.TOTP || s.RecoveryCodesLeft != 10 {
			t.Fatalf("Status after removal = %+v, %v", s, err)
		}
		if len(e.events(t, mfa.ActionTOTPRemoved)) != 1 {
			t.Fatal("removal not audited")
		}
		// Enrolling again keeps the codes the person already holds.
		again := e.enrol(t)
		if again != nil {
			t.Fatalf("re-enrolment issued %d new codes while 10 were left", len(again))
		}
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, codes[1]); err != nil {
			t.Fatalf("an old recovery code after re-enrolment = %v", err)
		}
	})
}
