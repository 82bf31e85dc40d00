package main

import (
	"encoding/json"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"strings"
	"testing"
)

// The operator on the server creates tokens of every scope, owner tokens
// included; admin is the default, and an unknown scope is refused without
// creating anything.
func TestAdminTokenCreateScope(t *testing.T) {
	c := newCLI(t, "")
	c.ok("admin", "org", "create", "--name", "Acme", "--slug", "acme")
	for _, tc := range []struct{ name, scope, want string }{
		{"default", "", "admin"},
		{"dashboard", "read", "read"},
		{"provisioning", "admin", "admin"},
		{"break-glass-bot", "owner", "owner"},
	} {
		args := []string{"admin", "token", "create", "--org", "acme", "--name", tc.name, "--json"}
		if tc.scope != "" {
			args = append(args, "--scope", tc.scope)
		}
		var created apiview.CreatedToken
		if err := json.Unmarshal([]byte(c.ok(args...)), &created); err != nil {
			t.Fatal(err)
		}
		if created.Token.Scope != tc.want || !strings.HasPrefix(created.Secret, "gh_") {
			t.Errorf("token create --scope %q = scope %q, want %q", tc.scope, created.Token.Scope, tc.want)
		}
	}
	c.fails("The scope must be read, admin or owner.", "admin", "token", "create", "--org", "acme", "--name", "x", "--scope", "root")
	out := c.ok("admin", "token", "list", "--org", "acme")
	if !strings.Contains(out, "SCOPE") || !strings.Contains(out, "owner") || strings.Contains(out, " x ") {
		t.Errorf("token list:\n%s", out)
	}
}
