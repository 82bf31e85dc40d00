package mfa_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// FuzzPasskeyFinishLogin feeds FinishLogin answers a browser (or anyone
// on the internet) could post: whatever the bytes, the answer is a
// refusal, never a sign-in, a panic or a server error. The seeds are a
// genuine answer (to another challenge, so it must be refused too) and
// broken shapes of it.
//
//	go test ./internal/mfa -run '^$' -fuzz FuzzPasskeyFinishLogin -fuzztime 30s
func FuzzPasskeyFinishLogin(f *testing.F) {
	st := sqltest.NewSQLite(f)
	fx := newFixture(f, st)
	acct := fx.account("ann@acme.example")
	auth := softauthn.New(origin)
	fx.register(auth, acct, "Fuzz key", false)
	opts, _, err := fx.pk.BeginLogin(f.Context(), "")
	if err != nil {
		f.Fatal(err)
	}
	genuine, err := auth.Get(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Add(genuine[:len(genuine)/2])
	f.Fuzz(func(t *testing.T, answer []byte) {
		_, id, err := fx.pk.BeginLogin(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = fx.pk.FinishLogin(t.Context(), id, answer)
		if !errors.Is(err, mfa.ErrPasskeyRefused) {
			t.Fatalf("FinishLogin(%q) = %v, want a refusal", answer, err)
		}
	})
}
