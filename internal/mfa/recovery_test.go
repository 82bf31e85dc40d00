package mfa_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestRecoveryCodes(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		codes := e.enrol(t)
		seen := map[string]bool{}
		for _, c := range codes {
			if len(c) != 11 || c[5] != '-' || seen[c] {
				t.Fatalf("codes %q: want 10 distinct xxxxx-xxxxx", codes)
			}
			seen[c] = true
		}
		// Typed in capitals without the dash, with spaces: still the code.
		typed := " " + strings.ToUpper(strings.ReplaceAll(codes[0], "-", " ")) + " "
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, typed); err != nil {
			t.Fatalf("UseRecoveryCode(%q) = %v", typed, err)
		}
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("second use = %v, want ErrInvalidCode", err)
		}
		ev := e.events(t, mfa.ActionRecoveryUsed)
		if len(ev) != 1 || ev[0].Details["codes_left"] != "9" || ev[0].TargetID != e.ada.ID {
			t.Fatalf("use not audited with codes left: %+v", ev)
		}
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, "not a code!"); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("malformed = %v, want ErrInvalidCode", err)
		}

		fresh, err := e.svc.RegenerateRecoveryCodes(e.asAda, e.ada)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("RegenerateRecoveryCodes = %d, %v", len(fresh), err)
		}
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, codes[1]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("a code of the old set = %v, want ErrInvalidCode", err)
		}
		if err := e.svc.UseRecoveryCode(t.Context(), e.ada.ID, fresh[9]); err != nil {
			t.Fatalf("a new code = %v", err)
		}
		if s, _ := e.svc.Status(t.Context(), e.ada.ID); s.RecoveryCodesLeft != 9 {
			t.Fatalf("codes left = %d, want 9", s.RecoveryCodesLeft)
		}
		if len(e.events(t, mfa.ActionRecoveryRegenerate)) != 1 {
			t.Fatal("regeneration not audited")
		}
	})
}
