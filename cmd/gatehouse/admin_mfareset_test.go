package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// openStore opens the CLI's database directly, for what no command does
// (giving someone a second factor).
func (c *cli) openStore(t *testing.T) storage.Store {
	t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// `admin member reset-factors` removes an owner's authenticator app and
// recovery codes (the CLI acts as an owner), audits it and mails them.
func TestAdminCLIResetFactors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "olive@acme.example", "--role", "owner")
		st := c.openStore(t)
		ctx := t.Context()
		olive, err := st.GetAccountByEmail(ctx, "olive@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		// A factor as storage keeps it; the reset never opens the secret.
		now := time.Now()
		if err := st.SetPendingTOTP(ctx, olive.ID, "sealed", now); err != nil {
			t.Fatal(err)
		}
		if err := st.ConfirmTOTPFactor(ctx, olive.ID, "sealed", 1, now); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceRecoveryCodes(ctx, olive.ID, []string{"h1", "h2", "h3"}, now); err != nil {
			t.Fatal(err)
		}

		c.fails("Not found", "admin", "member", "reset-factors", "--org", "acme", "--email", "nobody@acme.example")
		out := c.ok("admin", "member", "reset-factors", "--org", "acme", "--email", "olive@acme.example")
		if !strings.Contains(out, "removed their authenticator app, 3 recovery code(s) and 0 passkey(s)") || !strings.Contains(out, "next sign-in") {
			t.Errorf("reset-factors printed:\n%s", out)
		}
		if _, err := st.GetTOTPFactor(ctx, olive.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("authenticator app after reset: %v", err)
		}
		if n, err := st.CountRecoveryCodes(ctx, olive.ID); err != nil || n != 0 {
			t.Errorf("recovery codes after reset: %d, %v", n, err)
		}
		var res apiview.FactorReset
		if err := json.Unmarshal([]byte(c.ok("admin", "member", "reset-factors", "--org", "acme", "--email", "olive@acme.example", "--json")), &res); err != nil {
			t.Fatal(err)
		}
		if res.Member.Email != "olive@acme.example" || res.TOTPRemoved || res.RecoveryCodesRemoved != 0 {
			t.Errorf("second reset --json = %+v", res)
		}
		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "mfa.reset", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 2 || page.Events[0].ActorType != "cli" || page.Events[0].Details["recovery_codes_removed"] != "3" {
			t.Errorf("mfa.reset events = %+v", page.Events)
		}
		msgs, err := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.To == "olive@acme.example" && strings.Contains(m.Subject, "sign-in methods were reset") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d reset notices to Olive, want 2", n)
		}
	})
}
