package sso

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkComplete measures the whole ACS path on embedded SQLite for a
// returning user: consuming the AuthnRequest, strict validation, the
// replay-cache write, the verified-domain check, linking, group sync and the
// audit event, in one transaction. Building and signing the response (the
// IdP's work) is outside the timer.
func BenchmarkComplete(b *testing.B) {
	e := newEnv(b, sqltest.NewSQLite(b))
	e.loginAs(alice) // JIT happens once; the benchmark is the returning user
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		l := e.begin("/apps/wiki", false)
		resp := e.response(alice, l.requestID, nil)
		b.StartTimer()
		if _, err := e.complete(resp, l.relay, l.secret); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
