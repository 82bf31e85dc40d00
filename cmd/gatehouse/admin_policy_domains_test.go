package main

import (
	"strings"
	"testing"
)

// gatehouse admin policy domain add|remove names a verified domain in a
// policy and says whom the policy covers afterwards; policy show lists the
// domains and the coverage in words.
func TestAdminPolicyDomainCLI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "alice@corp.example", "--role", "owner")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "bob@corp.example")
		c.ok("admin", "member", "add", "--org", "acme", "--email", "carol@corp.example")
		value := txtValue(t, c.ok("admin", "domain", "add", "--org", "acme", "--name", "corp.example"))
		dns, err := startDevDNS("127.0.0.1:0", map[string][]string{"corp.example.": {value}})
		if err != nil {
			t.Fatal(err)
		}
		defer dns.Close()
		c.ok("admin", "domain", "verify", "--org", "acme", "--name", "corp.example", "--dns-resolver", dns.Addr())
		c.ok("admin", "policy", "set", "--org", "acme", "--name", "Staff", "--sso", "off", "--mfa", "required")

		c.fails("is not one this organization has verified", "admin", "policy", "domain", "add", "--org", "acme", "--policy", "Staff", "--domain", "other.example")
		out := c.ok("admin", "policy", "domain", "add", "--org", "acme", "--policy", "Staff", "--domain", "corp.example")
		if want := `The policy "Staff" covers the accounts at corp.example now: accounts in corp.example (3 people).`; !strings.Contains(out, want) {
			t.Errorf("domain add printed %q, want %q", out, want)
		}
		out = c.ok("admin", "policy", "show", "--org", "acme", "--name", "Staff")
		for _, want := range []string{"corp.example", "accounts in corp.example (3 people)"} {
			if !strings.Contains(out, want) {
				t.Errorf("policy show lacks %q:\n%s", want, out)
			}
		}
		out = c.ok("admin", "policy", "show", "--org", "acme")
		if !strings.Contains(out, "accounts in verified domains that no other policy names (0 people)") {
			t.Errorf("default policy show:\n%s", out)
		}
		out = c.ok("admin", "policy", "domain", "remove", "--org", "acme", "--policy", "Staff", "--domain", "corp.example")
		if !strings.Contains(out, `no longer covers corp.example`) {
			t.Errorf("domain remove printed %q", out)
		}
		c.fails("does not cover the domain corp.example", "admin", "policy", "domain", "remove", "--org", "acme", "--policy", "Staff", "--domain", "corp.example")
	})
}
