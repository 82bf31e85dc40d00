package mfa_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// An app in use is not replaced by confirming a new set-up: removing it
// asks for its code, so replacing it must not ask less.
func TestSecurityReviewConfirmDoesNotReplaceAnAppInUse(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.enrol(t)
		old := e.secret
		enr, err := e.svc.BeginTOTP(e.asAda, e.ada)
		if err != nil {
			t.Fatal(err)
		}
		e.secret = enr.Secret
		if _, err := e.svc.ConfirmTOTP(e.asAda, e.ada, e.code(t, 0)); !errors.Is(err, mfa.ErrNoTOTPEnrolment) {
			t.Fatalf("confirming a second app over the first = %v, want ErrNoTOTPEnrolment", err)
		}
		e.secret = old
		if err := e.svc.VerifyTOTP(t.Context(), e.ada.ID, e.code(t, 30*time.Second)); err != nil {
			t.Fatalf("the app in use stopped working: %v", err)
		}
	})
}
