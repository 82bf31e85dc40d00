package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mail"
)

var cliCodeRE = regexp.MustCompile(`(?m)^    ([2-9A-HJKMNP-Z]{4}-){3}[2-9A-HJKMNP-Z]{4}$`)

// An operator generates organization recovery codes on the server, sees
// them once, and checks how many are left; gatehouse recover mails every
// admin; break-glass lists who is missing.
func TestAdminCLIRecoveryCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "olive@acme.example", "--role", "owner")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "ada@acme.example", "--role", "admin")

		if out := c.ok("admin", "recovery-codes", "status", "--org", "acme"); !strings.Contains(out, "acme has no recovery codes yet") {
			t.Errorf("status before:\n%s", out)
		}
		out := c.ok("admin", "recovery-codes", "generate", "--org", "acme")
		if n := len(cliCodeRE.FindAllString(out, -1)); n != 10 || !strings.Contains(out, "shown only now") {
			t.Errorf("generate printed %d codes:\n%s", n, out)
		}
		var codes apiview.RecoveryCodes
		if err := json.Unmarshal([]byte(c.ok("admin", "recovery-codes", "generate", "--org", "acme", "--json")), &codes); err != nil || len(codes.Codes) != 10 {
			t.Fatalf("generate --json: %v %+v", err, codes)
		}
		if out := c.ok("admin", "recovery-codes", "status", "--org", "acme"); !strings.Contains(out, "10 of 10 recovery codes of acme are unused") {
			t.Errorf("status after:\n%s", out)
		}
		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "recovery_codes.generate", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 2 || page.Events[1].ActorType != "cli" || page.Events[1].Details["voided"] != "10" {
			t.Errorf("generate events = %+v", page.Events)
		}

		if out := c.ok("admin", "break-glass", "--org", "acme"); !strings.Contains(out, "You have no break-glass admins.") {
			t.Errorf("break-glass:\n%s", out)
		}

		c.ok("recover", "--email", "olive@acme.example")
		msgs, err := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox"))
		if err != nil {
			t.Fatal(err)
		}
		to := map[string]bool{}
		for _, m := range msgs {
			if m.Subject == "A recovery sign-in link was issued for olive@acme.example" {
				if strings.Contains(m.Text, "token=") || !strings.Contains(m.Text, "gatehouse recover, run by the system user") {
					t.Errorf("mail:\n%s", m.Text)
				}
				to[m.To] = true
			}
		}
		if !to["olive@acme.example"] || !to["ada@acme.example"] || len(to) != 2 {
			t.Errorf("recover mailed %v", to)
		}
	})
}
