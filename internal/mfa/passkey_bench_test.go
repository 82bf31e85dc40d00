package mfa_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkPasskeyAssertion measures FinishLogin: spending the stored
// challenge, parsing the browser's answer, finding the passkey, verifying
// the ECDSA P-256 signature and storing the new signature counter, on
// SQLite. The challenge and the authenticator's answer are made outside
// the timer. Discoverable sign-ins, as on the emergency sign-in page.
//
//	go test ./internal/mfa -run '^$' -bench BenchmarkPasskeyAssertion -benchtime 2000x -cpu 1
func BenchmarkPasskeyAssertion(b *testing.B) {
	st := sqltest.NewSQLite(b)
	f := newFixture(b, st)
	acct := f.account("ann@acme.example")
	auth := softauthn.New(origin)
	f.register(auth, acct, "Bench key", true)
	ctx := b.Context()
	for b.Loop() {
		b.StopTimer()
		opts, id, err := f.pk.BeginLogin(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		resp, err := auth.Get(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := f.pk.FinishLogin(ctx, id, resp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
