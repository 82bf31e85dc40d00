package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/mail"
)

func TestAdminEmergencyCLI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "alice@acme.test", "--name", "Alice", "--role", "owner")

		if out := c.ok("admin", "emergency", "status", "--org", "acme"); !strings.Contains(out, "No emergency is in force in acme") {
			t.Errorf("status before:\n%s", out)
		}
		c.fails("--reason is required", "admin", "emergency", "start", "--org", "acme")
		c.fails("--for must be a positive duration", "admin", "emergency", "start", "--org", "acme", "--reason", "x", "--for", "soon")
		c.fails("--for: Choose a duration within the allowed maximum.", "admin", "emergency", "start", "--org", "acme", "--reason", "x", "--for", "100h")
		c.fails("--policy: One of the chosen policies does not exist.", "admin", "emergency", "start", "--org", "acme", "--reason", "x", "--policy", "Nope")
		c.fails("has no emergency in force", "admin", "emergency", "end", "--org", "acme")

		out := c.ok("admin", "emergency", "start", "--org", "acme", "--reason", "Entra ID outage", "--for", "4h")
		if !strings.Contains(out, "Emergency mode started in acme") {
			t.Errorf("start printed:\n%s", out)
		}
		c.fails("already in force", "admin", "emergency", "start", "--org", "acme", "--reason", "again")
		msgs, _ := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox"))
		if len(msgs) != 1 || msgs[0].To != "alice@acme.test" || !strings.Contains(msgs[0].Subject, "Emergency sign-in started") {
			t.Errorf("outbox after start: %+v", msgs)
		}

		var ext apiview.Emergency
		if err := json.Unmarshal([]byte(c.ok("admin", "emergency", "extend", "--org", "acme", "--for", "2h", "--json")), &ext); err != nil {
			t.Fatal(err)
		}
		if got := ext.EndsAt.Sub(ext.StartedAt); got != 6*time.Hour {
			t.Errorf("extended to %s after the start", got)
		}
		if out := c.ok("admin", "emergency", "status", "--org", "acme"); !strings.Contains(out, "Reason: Entra ID outage") || !strings.Contains(out, "ELIGIBLE") {
			t.Errorf("status during:\n%s", out)
		}
		out = c.ok("admin", "emergency", "end", "--org", "acme", "--sign-out")
		if !strings.Contains(out, "has ended. 0 password(s)") || !strings.Contains(out, "0 session(s) made during it were signed out") {
			t.Errorf("end printed:\n%s", out)
		}
		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "emergency.*", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range page.Events {
			actions = append(actions, ev.Action+"/"+ev.ActorType)
		}
		if strings.Join(actions, ",") != "emergency.start/cli,emergency.extend/cli,emergency.end/cli" {
			t.Errorf("audit: %v", actions)
		}

		// --sign-out-at-end is stored at the start and can be changed alone.
		var started apiview.Emergency
		if err := json.Unmarshal([]byte(c.ok("admin", "emergency", "start", "--org", "acme", "--reason", "Entra ID outage again",
			"--sign-out-at-end", "--json")), &started); err != nil {
			t.Fatal(err)
		}
		if !started.SignOutAtEnd {
			t.Errorf("started without the sign-out choice: %+v", started)
		}
		c.fails("--for is required", "admin", "emergency", "extend", "--org", "acme")
		out = c.ok("admin", "emergency", "extend", "--org", "acme", "--sign-out-at-end=false")
		if !strings.Contains(out, "when it ends, sessions made during it run to their own expiry") {
			t.Errorf("toggle printed:\n%s", out)
		}
		var st struct{ Active *apiview.Emergency }
		if err := json.Unmarshal([]byte(c.ok("admin", "emergency", "status", "--org", "acme", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if st.Active == nil || st.Active.SignOutAtEnd || !st.Active.EndsAt.Equal(started.EndsAt) {
			t.Errorf("after the toggle: %+v", st.Active)
		}
	})
}

// What a newcomer saw after README step 5: the break-glass policy (SSO
// off) counted its owner as "NOT ELIGIBLE 1", as if they were locked out,
// and break-glass printed raw tabs. Both now read as plain tables.
func TestAdminEmergencyStatusAndBreakGlassTables(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		breakGlassOwner(t, c, "acme")

		out := c.ok("admin", "emergency", "status", "--org", "acme")
		var row string
		for l := range strings.Lines(out) {
			if strings.HasPrefix(l, lockouttest.PolicyName+" ") {
				row = l
			}
		}
		if strings.Fields(row)[len(strings.Fields(row))-1] != "-" || strings.Contains(out, "false") ||
			!strings.Contains(out, "an emergency changes nothing for its people") {
			t.Errorf("status:\n%s", out)
		}

		out = c.ok("admin", "break-glass", "--org", "acme")
		if strings.Contains(out, "\t") || !strings.Contains(out, "SECOND FACTOR") || !strings.Contains(out, "owner  ") {
			t.Errorf("break-glass:\n%q", out)
		}
	})
}
