package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// TestAdminSSOCLI walks the SSO set-up an admin does on the server: claim a
// domain, verify it through a DNS server (devdns, in-process), connect the
// development IdP from its metadata file, try to enforce SSO before a test
// sign-in (refused), force it, and see the result.
func TestAdminSSOCLI(t *testing.T) {
	kp, err := devidp.GenerateKeypair(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, c *cli) { testAdminSSOCLI(t, c, kp) })
}

// txtValue finds the "Value" line domain add prints.
func txtValue(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Value" {
			return f[1]
		}
	}
	t.Fatalf("no TXT value in:\n%s", out)
	return ""
}

func testAdminSSOCLI(t *testing.T, c *cli, kp *samltest.Keypair) {
	dir := t.TempDir()
	c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
	c.ok("admin", "org", "create", "--name", "Beta", "--slug", "beta")
	c.ok("admin", "member", "add", "--org", "acme", "--email", "alice@corp.example", "--role", "owner")
	c.ok("admin", "member", "add", "--org", "acme", "--email", "bob@corp.example")

	// Domain: add prints the record to publish.
	out := c.ok("admin", "domain", "add", "--org", "acme", "--name", "Corp.Example")
	for _, want := range []string{"Name   corp.example", "Type   TXT", "Value  gatehouse-verification=", "domain verify --org acme --name corp.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("domain add lacks %q:\n%s", want, out)
		}
	}
	value := txtValue(t, out)

	// Not published: a clear one-line failure saying what is missing.
	dns, err := startDevDNS("127.0.0.1:0", map[string][]string{"unrelated.example.": {"v=spf1 -all"}})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	c.fails("No TXT record "+value+" found at corp.example", "admin", "domain", "verify", "--org", "acme", "--name", "corp.example", "--dns-resolver", dns.Addr())
	out = c.ok("admin", "domain", "list", "--org", "acme")
	if !strings.Contains(out, "pending") || !strings.Contains(out, "No TXT record") {
		t.Errorf("domain list after a failed check:\n%s", out)
	}

	// Published (devdns serves it): verified, with --dns-resolver …
	dns.Set("corp.example", "v=spf1 -all", value)
	out = c.ok("admin", "domain", "verify", "--org", "acme", "--name", "corp.example", "--dns-resolver", dns.Addr())
	if !strings.Contains(out, "Verified corp.example for acme") {
		t.Errorf("domain verify printed %q", out)
	}
	// … or with GATEHOUSE_DNS_RESOLVER, the dns.resolver setting.
	other := txtValue(t, c.ok("admin", "domain", "add", "--org", "acme", "--name", "eu.corp.example"))
	dns.Set("eu.corp.example", other)
	t.Setenv("GATEHOUSE_DNS_RESOLVER", dns.Addr())
	c.ok("admin", "domain", "verify", "--org", "acme", "--name", "eu.corp.example")
	var domains struct{ Domains []apiview.Domain }
	if err := json.Unmarshal([]byte(c.ok("admin", "domain", "list", "--org", "acme", "--json")), &domains); err != nil {
		t.Fatal(err)
	}
	if len(domains.Domains) != 2 || !domains.Domains[0].Verified || !domains.Domains[1].Verified || domains.Domains[0].TXTRecord.Value != value {
		t.Errorf("domain list --json = %+v", domains.Domains)
	}
	// Another organization cannot verify it while acme holds it.
	beta := txtValue(t, c.ok("admin", "domain", "add", "--org", "beta", "--name", "corp.example"))
	dns.Set("corp.example", value, beta)
	c.fails("already verified by another organization", "admin", "domain", "verify", "--org", "beta", "--name", "corp.example")
	c.ok("admin", "domain", "remove", "--org", "beta", "--name", "corp.example")

	// IdP from the development IdP's metadata file.
	dev, err := devidp.New(devidp.Config{BaseURL: "http://127.0.0.1:8081", Key: kp.Key, Cert: kp.Cert,
		Users: []devidp.User{{Email: "alice@corp.example", Password: "correct horse battery staple"}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	dev.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metadata", nil))
	metadataFile := filepath.Join(dir, "idp-metadata.xml")
	if err := os.WriteFile(metadataFile, rec.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.ok("admin", "idp", "add", "--org", "acme", "--name", "Corp IdP", "--metadata-file", metadataFile, "--map", "email=mail")
	for _, want := range []string{"Connected Corp IdP to acme (slug corp-idp", "/saml/corp-idp\n", "/saml/corp-idp/acs", "/saml/corp-idp/metadata",
		"idp sp-metadata --org acme --slug corp-idp", "test sign-in"} {
		if !strings.Contains(out, want) {
			t.Errorf("idp add lacks %q:\n%s", want, out)
		}
	}
	fp := saml.Fingerprint(kp.Cert)
	out = c.ok("admin", "idp", "show", "--org", "acme", "--slug", "corp-idp")
	for _, want := range []string{dev.EntityID(), dev.SSOURL(), fp, "metadata file", "email=mail", "never: complete one", "/saml/corp-idp/acs"} {
		if !strings.Contains(out, want) {
			t.Errorf("idp show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE") {
		t.Errorf("idp show prints a private key:\n%s", out)
	}
	if out := c.ok("admin", "idp", "sp-metadata", "--org", "acme", "--slug", "corp-idp"); !strings.Contains(out, "EntityDescriptor") || !strings.Contains(out, "/saml/corp-idp/acs") {
		t.Errorf("sp-metadata:\n%s", out)
	}

	// A manual connection, with a certificate rollover.
	certFile, cert2File := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing-2026.pem")
	kp2, err := samltest.NewKeypair("Manual IdP 2026", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, kp.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert2File, kp2.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("admin", "idp", "add", "--org", "acme", "--name", "Manual", "--entity-id", "https://idp.corp.example/",
		"--sso-url", "https://idp.corp.example/sso", "--cert-file", certFile, "--allow-sha1")
	if out := c.ok("admin", "idp", "cert", "add", "--org", "acme", "--slug", "manual", "--cert-file", cert2File); !strings.Contains(out, "2 signing certificate(s)") {
		t.Errorf("cert add printed:\n%s", out)
	}
	c.ok("admin", "idp", "cert", "remove", "--org", "acme", "--slug", "manual", "--fingerprint", fp)
	c.fails("only signing certificate", "admin", "idp", "cert", "remove", "--org", "acme", "--slug", "manual", "--fingerprint", saml.Fingerprint(kp2.Cert))
	if out := c.ok("admin", "idp", "update", "--org", "acme", "--slug", "manual", "--allow-sha1=false"); strings.Contains(out, "SHA-1") {
		t.Errorf("update --allow-sha1=false still warns:\n%s", out)
	}
	out = c.ok("admin", "idp", "list", "--org", "acme")
	if !strings.HasPrefix(out, "SLUG") || !strings.Contains(out, "corp-idp") || !strings.Contains(out, "manual") || !strings.Contains(out, "metadata xml") {
		t.Errorf("idp list:\n%s", out)
	}
	c.ok("admin", "idp", "remove", "--org", "acme", "--slug", "manual")

	// Enforcing SSO before a test sign-in is refused, and writes nothing.
	if out := c.ok("admin", "policy", "list", "--org", "acme"); !strings.Contains(out, "No default policy") {
		t.Errorf("policy list before any:\n%s", out)
	}
	c.fails("Run a test sign-in through Corp IdP before enforcing SSO. To enforce it anyway, add --force",
		"admin", "policy", "set", "--org", "acme", "--sso", "enforced", "--idp", "corp-idp")
	before := c.auditCount()
	c.fails("add --force", "admin", "policy", "set", "--org", "acme", "--sso", "enforced", "--idp", "corp-idp")
	c.fails("add --force", "admin", "policy", "set", "--org", "acme", "--name", "Engineering", "--sso", "enforced", "--idp", "corp-idp")
	if after := c.auditCount(); after != before {
		t.Errorf("refused policy changes wrote %d audit events", after-before)
	}

	// --force enforces it, audited as an override. (Enforcing SSO needs a
	// break-glass owner with a second factor, which is not this test's
	// subject.)
	breakGlassOwner(t, c, "acme")
	out = c.ok("admin", "policy", "set", "--org", "acme", "--sso", "enforced", "--idp", "corp-idp", "--force")
	if !strings.Contains(out, `"Default" now has SSO enforced through corp-idp (was SSO off)`) || !strings.Contains(out, "override is recorded") {
		t.Errorf("policy set --force printed:\n%s", out)
	}
	out = c.ok("admin", "policy", "list", "--org", "acme")
	if !strings.Contains(out, "Default") || !strings.Contains(out, "enforced") || !strings.Contains(out, "corp-idp") || !strings.Contains(out, "everyone else") {
		t.Errorf("policy list:\n%s", out)
	}
	var page apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "policy.update", "--json")), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].Details["override"] != "untested_connection" || page.Events[0].ActorType != "cli" {
		t.Errorf("policy.update events = %+v", page.Events)
	}

	// A named policy with a member.
	out = c.ok("admin", "policy", "set", "--org", "acme", "--name", "Break glass", "--sso", "off", "--mfa", "required")
	if !strings.Contains(out, `Created the policy "Break glass" for acme: SSO off, second factor required.`) {
		t.Errorf("policy set (new) printed %q", out)
	}
	c.ok("admin", "policy", "member", "add", "--org", "acme", "--policy", "Break glass", "--email", "alice@corp.example")
	var p apiview.Policy
	if err := json.Unmarshal([]byte(c.ok("admin", "policy", "show", "--org", "acme", "--name", "Break glass", "--json")), &p); err != nil {
		t.Fatal(err)
	}
	if p.SSO != "off" || len(p.Members) != 1 || p.Members[0] != "alice@corp.example" {
		t.Errorf("policy show --json = %+v", p)
	}
	if out := c.ok("admin", "policy", "show", "--org", "acme"); !strings.Contains(out, "enforced") || !strings.Contains(out, "corp-idp") {
		t.Errorf("policy show (default):\n%s", out)
	}
	c.fails("not a member", "admin", "policy", "member", "remove", "--org", "acme", "--policy", "Break glass", "--email", "bob@corp.example")
	c.ok("admin", "policy", "member", "remove", "--org", "acme", "--policy", "Break glass", "--email", "alice@corp.example")
	c.fails("default policy cannot be deleted", "admin", "policy", "delete", "--org", "acme", "--name", "default")
	c.fails("A policy uses this IdP connection", "admin", "idp", "remove", "--org", "acme", "--slug", "corp-idp")
	c.ok("admin", "policy", "delete", "--org", "acme", "--name", "Break glass")

	// Bad input fails with one line and writes nothing.
	before = c.auditCount()
	c.fails("--name:", "admin", "domain", "add", "--org", "acme", "--name", "not a domain")
	c.fails("already added corp.example", "admin", "domain", "add", "--org", "acme", "--name", "corp.example")
	c.fails("acme has no domain", "admin", "domain", "verify", "--org", "acme", "--name", "nope.example")
	c.fails("--dns-resolver must be host:port", "admin", "domain", "verify", "--org", "acme", "--name", "corp.example", "--dns-resolver", "localhost")
	c.fails("--metadata-url:", "admin", "idp", "add", "--org", "acme", "--name", "Nothing")
	c.fails("--metadata-file: "+filepath.Join(dir, "missing.xml"), "admin", "idp", "add", "--org", "acme", "--name", "X", "--metadata-file", filepath.Join(dir, "missing.xml"))
	c.fails("--metadata-file:", "admin", "idp", "add", "--org", "acme", "--name", "X", "--metadata-file", certFile)
	c.fails("--cert-file:", "admin", "idp", "add", "--org", "acme", "--name", "X", "--entity-id", "https://x.example/", "--sso-url", "https://x.example/sso", "--cert-file", metadataFile)
	c.fails("--map", "admin", "idp", "add", "--org", "acme", "--name", "X", "--metadata-file", metadataFile, "--map", "email")
	c.fails("--slug:", "admin", "idp", "add", "--org", "acme", "--name", "X", "--metadata-file", metadataFile, "--slug", "Bad Slug")
	c.fails("Already exists", "admin", "idp", "add", "--org", "beta", "--name", "X", "--metadata-file", metadataFile, "--slug", "corp-idp")
	c.fails("acme has no IdP connection", "admin", "idp", "show", "--org", "acme", "--slug", "nope")
	c.fails("beta has no IdP connection", "admin", "idp", "show", "--org", "beta", "--slug", "corp-idp")
	c.fails("has no metadata URL", "admin", "idp", "refresh", "--org", "acme", "--slug", "corp-idp")
	c.fails("nothing to change", "admin", "idp", "update", "--org", "acme", "--slug", "corp-idp")
	c.fails("--sso must be", "admin", "policy", "set", "--org", "acme", "--sso", "always")
	c.fails("--sso is required", "admin", "policy", "set", "--org", "acme")
	c.fails("--idp: acme has no IdP connection", "admin", "policy", "set", "--org", "acme", "--sso", "optional", "--idp", "nope")
	c.fails("--idp:", "admin", "policy", "set", "--org", "acme", "--name", "New", "--sso", "optional")
	c.fails("--policy: acme has no policy", "admin", "policy", "member", "add", "--org", "acme", "--policy", "nope", "--email", "bob@corp.example")
	c.fails("Not found", "admin", "policy", "member", "add", "--org", "acme", "--policy", "default", "--email", "nobody@corp.example")
	if after := c.auditCount(); after != before {
		t.Errorf("failed commands wrote %d audit events", after-before)
	}
}

func TestDevDNSFlags(t *testing.T) {
	for _, bad := range [][]string{nil, {"corp.example"}, {"corp.example="}, {"not a domain=x"}} {
		if _, err := parseDevDNSRecords(bad); err == nil {
			t.Errorf("parseDevDNSRecords(%q) accepted", bad)
		}
	}
	recs, err := parseDevDNSRecords([]string{"Corp.Example.=gatehouse-verification=abc", "corp.example=v=spf1 -all"})
	if err != nil || len(recs["corp.example."]) != 2 || recs["corp.example."][0] != "gatehouse-verification=abc" {
		t.Errorf("parseDevDNSRecords = %v, %v", recs, err)
	}
	for _, listen := range []string{"0.0.0.0:5353", "192.0.2.1:53", "localhost"} {
		if s, err := startDevDNS(listen, nil); err == nil {
			s.Close()
			t.Errorf("startDevDNS(%q) accepted a non-loopback or malformed address", listen)
		}
	}
}

// The policy settings flags reach the service, and show prints them.
func TestAdminPolicySettings(t *testing.T) {
	forEachBackend(t, testAdminPolicySettings)
}

func testAdminPolicySettings(t *testing.T, c *cli) {
	c.ok("admin", "org", "create", "--slug", "acme", "--name", "Acme")
	c.ok("admin", "policy", "set", "--org", "acme", "--name", "Break glass", "--sso", "off",
		"--mfa", "required", "--idle-timeout", "30m", "--max-lifetime", "8h", "--add-group", "gh-admins")
	out := c.ok("admin", "policy", "show", "--org", "acme", "--name", "Break glass")
	for _, want := range []string{"required", "30m0s", "8h0m0s", "gh-admins"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	c.fails("cannot be longer", "admin", "policy", "set", "--org", "acme", "--name", "Break glass", "--idle-timeout", "9h")
	c.fails("--idle-timeout", "admin", "policy", "set", "--org", "acme", "--name", "Break glass", "--idle-timeout", "soon")
	out = c.ok("admin", "policy", "set", "--org", "acme", "--name", "Break glass", "--remove-group", "gh-admins", "--failback", "denied")
	if !strings.Contains(out, "Updated") {
		t.Errorf("set answered %q", out)
	}
}
