package signin_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkPasswordSignIn measures a whole password sign-in through the
// engine (identify, route, reserve the attempt, argon2id, spend the flow,
// session and audit events) beside the raw argon2id verification it is
// built on, in the same run: docs/BENCHMARKS.md compares the two.
//
//	go test -run '^$' -bench PasswordSignIn -benchtime 3s -cpu 1 ./internal/signin/
func BenchmarkPasswordSignIn(b *testing.B) {
	b.Run("argon2id", func(b *testing.B) {
		hash, err := account.HashPassword(password)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if ok, err := account.VerifyPassword(hash, password); !ok || err != nil {
				b.Fatal("verification failed")
			}
		}
	})
	b.Run("engine", func(b *testing.B) {
		e := newEnv(b, sqltest.NewSQLite(b))
		ann := e.member("ann@"+corpDomain, storage.RoleMember)
		c := browser()
		for b.Loop() {
			step, err := e.engine.Identify(e.ctx, c, ann.Email, "/", false)
			if err != nil {
				b.Fatal(err)
			}
			c.Browser = step.Browser
			if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
