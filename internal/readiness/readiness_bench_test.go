package readiness_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/readiness/readinesstest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkReadinessPage measures the console's page (counts and 50
// people without a passkey) in an organization of 5,000 covered people,
// a third of them with a passkey, on SQLite.
func BenchmarkReadinessPage(b *testing.B) {
	st := sqltest.NewSQLite(b)
	f := readinesstest.Seed(b, st, "big", t0)
	ctx := b.Context()
	err := st.InTx(ctx, func(tx storage.Store) error {
		for i := range 5000 {
			a := storage.Account{ID: fmt.Sprintf("p%05d", i), OrgID: f.Org.ID, Email: fmt.Sprintf("p%05d@big.example", i),
				Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			if err := tx.SetPolicyMember(ctx, f.Org.ID, a.ID, "eng-big"); err != nil {
				return err
			}
			if i%3 == 0 {
				if err := tx.CreatePasskey(ctx, storage.Passkey{ID: "k" + a.ID, AccountID: a.ID, OrgID: f.Org.ID,
					CredentialID: []byte("c" + a.ID), PublicKey: []byte{1}, AAGUID: make([]byte, 16), Emergency: i%2 == 0, CreatedAt: t0}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	svc := readiness.New(st, nil, "https://login.example", nil, func() time.Time { return t0 })
	actx := authz.AsAccount(ctx, f.Admin)
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Summary(actx, f.Org.ID); err != nil {
			b.Fatal(err)
		}
		p, err := svc.List(actx, f.Org.ID, readiness.ListOptions{WithoutOnly: true, After: "p02500@big.example", Limit: 50})
		if err != nil || len(p.People) != 50 {
			b.Fatal(len(p.People), err)
		}
	}
}
