package main

import (
	"strings"
	"testing"
)

func (c *cli) wantOut(want string, args ...string) {
	c.t.Helper()
	if out := c.ok(args...); !strings.Contains(out, want) {
		c.t.Errorf("gatehouse %s printed %q, want %q", strings.Join(args, " "), out, want)
	}
}

// The member commands beside role and status: rename, resend an
// invitation, send a reset link, delete (confirmed with --yes; never the
// last owner).
func TestAdminCLIMemberActions(t *testing.T) {
	c := newCLI(t, "")
	c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
	c.ok("admin", "member", "add", "--org", "acme", "--email", "olive@acme.example", "--role", "owner")
	c.ok("admin", "member", "add", "--org", "acme", "--email", "nia@acme.example", "--invite")
	c.ok("admin", "member", "add", "--org", "acme", "--email", "mia@acme.example")

	c.wantOut("is now shown as \"Mia Martinez\"", "admin", "member", "rename", "--org", "acme", "--email", "mia@acme.example", "--name", "Mia Martinez")
	c.wantOut("A new invitation is on its way to nia@acme.example", "admin", "member", "resend-invite", "--org", "acme", "--email", "nia@acme.example")
	c.wantOut("password-reset link is on its way", "admin", "member", "send-reset", "--org", "acme", "--email", "mia@acme.example")

	c.fails("pass --yes to confirm", "admin", "member", "delete", "--org", "acme", "--email", "mia@acme.example")
	c.fails("at least one owner", "admin", "member", "delete", "--org", "acme", "--email", "olive@acme.example", "--yes")
	c.wantOut("Deleted mia@acme.example", "admin", "member", "delete", "--org", "acme", "--email", "mia@acme.example", "--yes")
	c.fails("Not found", "admin", "member", "delete", "--org", "acme", "--email", "mia@acme.example", "--yes")
}
