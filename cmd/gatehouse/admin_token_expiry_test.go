package main

import (
	"strings"
	"testing"
	"time"
)

// A token made with --expires shows its expiry in the list, and a
// nonsense or zero lifetime is refused without making a token.
func TestAdminCLITokenExpires(t *testing.T) {
	c := newCLI(t, "")
	c.ok("admin", "org", "create", "--name", "Acme", "--slug", "acme")
	c.ok("admin", "token", "create", "--org", "acme", "--name", "ci", "--expires", "90d")
	c.fails("not a lifetime", "admin", "token", "create", "--org", "acme", "--name", "bad", "--expires", "soon")
	c.fails("give how long", "admin", "token", "create", "--org", "acme", "--name", "zero", "--expires", "0")
	out := c.ok("admin", "token", "list", "--org", "acme")
	if !strings.Contains(out, "EXPIRES") || strings.Contains(out, "bad") || strings.Contains(out, "zero") {
		t.Fatalf("token list:\n%s", out)
	}
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " ci ") {
			line = l
		}
	}
	// The expiry is 90 days on (the date, give or take the day boundary).
	due := time.Now().UTC().Add(90 * 24 * time.Hour)
	if line == "" || !strings.Contains(line, "active") ||
		!(strings.Contains(line, due.Format("2006-01-02")) || strings.Contains(line, due.Add(-time.Hour).Format("2006-01-02"))) {
		t.Fatalf("the ci token's row shows no expiry: %q\n%s", line, out)
	}
}
