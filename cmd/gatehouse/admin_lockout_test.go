package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// setPassword gives the account a password hash behind the CLI's back (the
// CLI never takes passwords; people set them through their links).
func (c *cli) setPassword(email string) {
	c.t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	a, err := st.GetAccountByEmail(context.Background(), email)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := st.UpdateAccount(context.Background(), a.ID, func(x *storage.Account) error {
		x.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		return nil
	}); err != nil {
		c.t.Fatal(err)
	}
}

// The CLI refuses a change that leaves no owner able to sign in without
// the IdP, printing the same explanation as the API and exiting non-zero,
// and makes it with --force-reason, audited.
func TestAdminCLILockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "olive@acme.example", "--role", "owner")
		c.setPassword("olive@acme.example")
		// A second owner who has not set a password yet: suspending or
		// demoting olive is no last-owner case, but it locks every owner out.
		c.ok("admin", "member", "add", "--org", "acme", "--email", "oscar@acme.example", "--role", "owner")

		before := c.auditCount()
		c.fails("It takes the password sign-in from olive@acme.example (owner: would be suspended).",
			"admin", "member", "suspend", "--org", "acme", "--email", "olive@acme.example")
		c.fails("add --force-reason", "admin", "member", "role", "--org", "acme", "--email", "olive@acme.example", "--role", "admin")
		c.fails("--force-reason: The force reason contains characters that are not allowed.",
			"admin", "member", "suspend", "--org", "acme", "--email", "olive@acme.example", "--force-reason", "bad\x07")
		if got := c.auditCount(); got != before {
			t.Fatalf("refused changes wrote %d audit events", got-before)
		}

		// Once oscar has a password, olive may go.
		c.setPassword("oscar@acme.example")
		out := c.ok("admin", "member", "suspend", "--org", "acme", "--email", "olive@acme.example")
		if !strings.Contains(out, "Suspended olive@acme.example") {
			t.Errorf("suspend printed %q", out)
		}

		// Forced: made, and audited with the reason.
		c.ok("admin", "member", "add", "--org", "acme", "--email", "pat@acme.example", "--role", "owner")
		c.fails("oscar@acme.example (owner: would be suspended)", "admin", "member", "suspend", "--org", "acme", "--email", "oscar@acme.example")
		c.ok("admin", "member", "suspend", "--org", "acme", "--email", "oscar@acme.example", "--force-reason", "the IdP is our only way in now")
		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "account.suspend", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		if n := len(page.Events); n != 2 || page.Events[1].Details["forced"] != "true" ||
			page.Events[1].Details["force_reason"] != "the IdP is our only way in now" ||
			page.Events[1].Details["locked_out"] != "oscar@acme.example" || page.Events[0].Details["forced"] != "" {
			t.Fatalf("suspend events: %+v", page.Events)
		}
		// Already unsafe: a repair goes through without force.
		c.ok("admin", "member", "reactivate", "--org", "acme", "--email", "oscar@acme.example")
	})
}
