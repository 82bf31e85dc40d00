package account_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	gmail "github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// BenchmarkPasswordSignIn measures a whole successful password sign-in on
// the embedded SQLite store: throttle checks, account lookup, argon2id
// verification, clearing the counter, and starting a session with its
// audit event — what one POST /login/password costs besides HTTP.
func BenchmarkPasswordSignIn(b *testing.B) {
	st := sqltest.NewSQLite(b)
	log := slog.New(slog.DiscardHandler)
	accounts := account.New(st, &gmail.Outbox{Dir: b.TempDir()}, account.Config{PublicURL: publicURL}, log, nil)
	sessions := session.New(st, session.Config{}, log, nil)
	ctx := reqctx.With(context.Background(), reqctx.Info{IP: testIP})
	link, err := accounts.EnsureSetupLink(ctx)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(link)
	if _, _, err := accounts.CompleteSetup(ctx, u.Query().Get("token"), account.SetupInput{
		OrgName: "Acme", Email: ownerEmail, Password: ownerPassword,
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		a, err := accounts.Authenticate(ctx, account.PasswordAttempt{Email: ownerEmail, Password: ownerPassword, IP: testIP})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := sessions.Start(ctx, session.StartParams{Account: a.Account, Method: "password", IP: testIP}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sign-ins/s")
}
