package mfa_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkVerifyTOTP measures one accepted authenticator code end to end
// on SQLite: throttle reservation, reading and opening the sealed secret,
// three candidate codes, the conditional step update with its audit event
// in one transaction, and the release of the attempt. Each iteration is a
// fresh time step (codes are computed before the timer starts), so every
// verification is accepted, as a sign-in's would be.
//
//	go test ./internal/mfa -run '^$' -bench BenchmarkVerifyTOTP -benchtime 2000x -count 3
func BenchmarkVerifyTOTP(b *testing.B) {
	e := newEnv(b, sqltest.NewSQLite(b))
	e.enrol(b)
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = e.code(b, time.Duration(i+1)*30*time.Second)
	}
	ctx := b.Context()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.clock.add(30 * time.Second)
		if err := e.svc.VerifyTOTP(ctx, e.ada.ID, codes[i]); err != nil {
			b.Fatalf("iteration %d: %v", i, err)
		}
	}
}
