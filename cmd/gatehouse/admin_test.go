package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// cli runs the real command tree in-process against one database.
type cli struct {
	t       *testing.T
	dataDir string
	dbURL   string // "" for SQLite in dataDir
}

// resetFlags puts every flag back to its default: cobra keeps flag values
// between Execute calls, and one command's --invite must not leak into the next.
func resetFlags(c *cobra.Command) {
	reset := func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			_ = sv.Replace(nil)
		} else {
			_ = f.Value.Set(f.DefValue)
		}
		f.Changed = false
	}
	c.Flags().VisitAll(reset)
	c.PersistentFlags().VisitAll(reset)
	for _, sub := range c.Commands() {
		resetFlags(sub)
	}
}

// run executes `gatehouse <args>` and returns stdout, stderr and the error
// main would print before exiting 1.
func (c *cli) run(args ...string) (string, string, error) {
	c.t.Helper()
	resetFlags(rootCmd)
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	full := append([]string{}, args...)
	full = append(full, "--data-dir", c.dataDir)
	if c.dbURL != "" {
		full = append(full, "--database-url", c.dbURL)
	}
	rootCmd.SetArgs(full)
	err := rootCmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("gatehouse %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// fails runs a command that must fail with a one-line error containing want.
func (c *cli) fails(want string, args ...string) {
	c.t.Helper()
	out, _, err := c.run(args...)
	if err == nil {
		c.t.Fatalf("gatehouse %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		c.t.Errorf("gatehouse %s: error %q, want one line mentioning %q", strings.Join(args, " "), err, want)
	}
}

// auditCount counts the audit events of every chain.
func (c *cli) auditCount() int {
	c.t.Helper()
	var page apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--json", "--limit", "1000")), &page); err != nil {
		c.t.Fatal(err)
	}
	return len(page.Events)
}

// newCLI returns a cli on a database that `gatehouse migrate` just
// created, as `serve` would have: the admin commands open only a database
// that exists. dbURL "" is SQLite in a fresh data directory.
func newCLI(t *testing.T, dbURL string) *cli {
	t.Helper()
	c := &cli{t: t, dataDir: t.TempDir(), dbURL: dbURL}
	c.ok("migrate")
	return c
}

// forEachBackend runs test against a fresh SQLite database, then a fresh
// PostgreSQL one.
func forEachBackend(t *testing.T, test func(t *testing.T, c *cli)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, newCLI(t, ""))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, newCLI(t, sqltest.PostgresDatabaseURL(t)))
	})
}

func TestAdminCLI(t *testing.T) {
	forEachBackend(t, testAdminCLI)
}

func testAdminCLI(t *testing.T, c *cli) {
	osUser := "unknown"
	if u, err := user.Current(); err == nil {
		osUser = u.Username
	}

	// Organizations.
	out := c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
	if !strings.Contains(out, "slug acme") {
		t.Errorf("org create printed %q", out)
	}
	var org apiview.Organization
	if err := json.Unmarshal([]byte(c.ok("admin", "org", "create", "--name", "Beta Inc", "--json")), &org); err != nil || org.Slug != "beta-inc" {
		t.Errorf("org create --json = %+v (%v)", org, err)
	}
	out = c.ok("admin", "org", "list")
	if !strings.HasPrefix(out, "SLUG") || !strings.Contains(out, "acme") || !strings.Contains(out, "Beta Inc") {
		t.Errorf("org list:\n%s", out)
	}
	c.fails("Already exists", "admin", "org", "create", "--name", "Again", "--slug", "acme")

	// Members.
	out = c.ok("admin", "member", "add", "--org", "acme", "--email", "Alice@Acme.test", "--name", "Alice", "--role", "owner")
	if !strings.Contains(out, "alice@acme.test") || !strings.Contains(out, "owner") {
		t.Errorf("member add printed %q", out)
	}
	c.ok("admin", "member", "add", "--org", "acme", "--email", "bob@acme.test", "--invite")
	msgs, err := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox"))
	if err != nil || len(msgs) != 1 || msgs[0].To != "bob@acme.test" {
		t.Errorf("outbox = %+v (%v), want bob's invitation", msgs, err)
	}
	// --invite must not stick to the next command.
	c.ok("admin", "member", "add", "--org", "acme", "--email", "carol@acme.test")
	if msgs, _ := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox")); len(msgs) != 1 {
		t.Errorf("outbox has %d messages, want 1", len(msgs))
	}
	out = c.ok("admin", "member", "list", "--org", "acme")
	for _, want := range []string{"EMAIL", "alice@acme.test", "bob@acme.test", "carol@acme.test", "owner"} {
		if !strings.Contains(out, want) {
			t.Errorf("member list lacks %q:\n%s", want, out)
		}
	}
	var members struct{ Members []apiview.Member }
	if err := json.Unmarshal([]byte(c.ok("admin", "member", "list", "--org", "acme", "--json")), &members); err != nil || len(members.Members) != 3 {
		t.Errorf("member list --json = %+v (%v)", members, err)
	}

	out = c.ok("admin", "member", "role", "--org", "acme", "--email", "bob@acme.test", "--role", "admin")
	if !strings.Contains(out, "now admin") {
		t.Errorf("member role printed %q", out)
	}
	c.fails("owner", "admin", "member", "role", "--org", "acme", "--email", "alice@acme.test", "--role", "member")
	c.fails("owner", "admin", "member", "suspend", "--org", "acme", "--email", "alice@acme.test")
	if out := c.ok("admin", "member", "suspend", "--org", "acme", "--email", "bob@acme.test"); !strings.Contains(out, "Suspended bob@acme.test") {
		t.Errorf("suspend printed %q", out)
	}
	if out := c.ok("admin", "member", "reactivate", "--org", "acme", "--email", "bob@acme.test"); !strings.Contains(out, "Reactivated") {
		t.Errorf("reactivate printed %q", out)
	}
	if out := c.ok("admin", "session", "revoke", "--org", "acme", "--email", "bob@acme.test"); !strings.Contains(out, "Ended 0 session(s)") {
		t.Errorf("session revoke printed %q", out)
	}
	// Another organization's member is not reachable through acme.
	c.ok("admin", "member", "add", "--org", "beta-inc", "--email", "dan@beta.test")
	c.fails("Not found", "admin", "member", "suspend", "--org", "acme", "--email", "dan@beta.test")

	// API tokens.
	out = c.ok("admin", "token", "create", "--org", "acme", "--name", "ci")
	secret := ""
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "gh_") {
			secret = f
		}
	}
	if secret == "" || !strings.Contains(out, "shown only once") {
		t.Errorf("token create printed %q", out)
	}
	out = c.ok("admin", "token", "list", "--org", "acme")
	if !strings.Contains(out, "ci") || !strings.Contains(out, "active") || strings.Contains(out, secret) || strings.Contains(out, "gh_") {
		t.Errorf("token list:\n%s", out)
	}
	var toks struct{ Tokens []apiview.Token }
	if err := json.Unmarshal([]byte(c.ok("admin", "token", "list", "--org", "acme", "--json")), &toks); err != nil || len(toks.Tokens) != 1 || toks.Tokens[0].CreatedBy != "cli" {
		t.Fatalf("token list --json = %+v (%v)", toks, err)
	}
	c.ok("admin", "token", "revoke", "--org", "acme", "--id", toks.Tokens[0].ID)
	if out := c.ok("admin", "token", "list", "--org", "acme"); !strings.Contains(out, "revoked") {
		t.Errorf("token list after revoke:\n%s", out)
	}
	c.fails("Not found", "admin", "token", "revoke", "--org", "beta-inc", "--id", toks.Tokens[0].ID)

	// The audit log shows all of it, with the CLI and the OS user as actor.
	out = c.ok("admin", "audit", "list", "--org", "acme")
	for _, want := range []string{"SEQ", "organization.create", "account.create", "account.role_change", "account.suspend",
		"account.reactivate", "session.revoke_all", "api_token.create", "api_token.revoke", "cli:" + osUser} {
		if !strings.Contains(out, want) {
			t.Errorf("audit list lacks %q:\n%s", want, out)
		}
	}
	var page apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "api_token.*", "--since", "1h", "--json")), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].Action != "api_token.create" || page.Events[0].ActorType != "cli" || page.Events[0].ActorID != osUser {
		t.Errorf("audit list --action api_token.* = %+v", page.Events)
	}
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--since", "2099-01-01", "--json")), &page); err != nil || len(page.Events) != 0 {
		t.Errorf("audit list --since 2099 = %d events (%v)", len(page.Events), err)
	}
	// Paging: a short page names the cursor that continues it.
	_, errOut, err := c.run("admin", "audit", "list", "--org", "acme", "--limit", "2")
	if err != nil || !strings.Contains(errOut, "--after 2") {
		t.Errorf("audit list --limit 2: %v, stderr %q", err, errOut)
	}
	out = c.ok("admin", "audit", "list")
	if !strings.HasPrefix(out, "ORG") || !strings.Contains(out, "beta-inc") || !strings.Contains(out, "acme") {
		t.Errorf("audit list across organizations:\n%s", out)
	}

	// Export: one JSON object per line, as many as the log holds, and the
	// chain head last.
	out = c.ok("admin", "audit", "export", "--org", "acme")
	var all apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--json", "--limit", "1000")), &all); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	lines := 0
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %d: %v", lines+1, err)
		}
		lines++
	}
	if lines == 0 || lines != len(all.Events)+1 || !strings.Contains(out[strings.LastIndex(strings.TrimSpace(out), "\n"):], `"record":"head"`) {
		t.Errorf("export has %d lines, audit list %d events", lines, len(all.Events))
	}

	if out := c.ok("admin", "audit", "verify", "--org", "acme"); !strings.Contains(out, "verifies") {
		t.Errorf("audit verify printed %q", out)
	}

	// Bad input fails clearly before anything is written.
	before := c.auditCount()
	c.fails("--role", "admin", "member", "add", "--org", "acme", "--email", "eve@acme.test", "--role", "superuser")
	c.fails("--role", "admin", "member", "role", "--org", "acme", "--email", "bob@acme.test", "--role", "root")
	c.fails("--email is required", "admin", "member", "add", "--org", "acme")
	c.fails("--email", "admin", "member", "add", "--org", "acme", "--email", "not-an-email")
	c.fails("Not found", "admin", "member", "add", "--org", "nope", "--email", "eve@acme.test")
	c.fails("--since", "admin", "audit", "list", "--since", "yesterday")
	c.fails("--limit", "admin", "audit", "list", "--limit", "0")
	c.fails("--name is required", "admin", "token", "create", "--org", "acme")
	if after := c.auditCount(); after != before {
		t.Errorf("failed commands wrote %d audit events", after-before)
	}
	if err := json.Unmarshal([]byte(c.ok("admin", "member", "list", "--org", "acme", "--json")), &members); err != nil || len(members.Members) != 3 {
		t.Errorf("failed commands changed the members: %+v", members.Members)
	}

	// Tampering with the log makes verify exit non-zero.
	tamper(t, c, org.ID)
	out, _, err = c.run("admin", "audit", "verify", "--org", "beta-inc")
	if err == nil || !strings.Contains(out, "BROKEN") {
		t.Errorf("verify after tampering: err %v, output %q", err, out)
	}
}

// tamper rewrites one audit event behind Gatehouse's back.
func tamper(t *testing.T, c *cli, orgID string) {
	t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.DB().Exec("UPDATE audit_events SET actor_id = 'someone-else' WHERE org_id = '" + orgID + "' AND seq = 1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampered with %d rows", n)
	}
}

// audit list pages with --limit and --after, naming the next --after only
// while following it leads somewhere.
func TestAdminAuditListPaging(t *testing.T) {
	c := newCLI(t, "")
	c.ok("admin", "org", "create", "--name", "Acme", "--slug", "acme")
	c.ok("admin", "token", "create", "--org", "acme", "--name", "one")
	c.ok("admin", "token", "create", "--org", "acme", "--name", "two")
	var all apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--json")), &all); err != nil {
		t.Fatal(err)
	}
	n := len(all.Events)
	if n < 3 || all.NextAfter != nil {
		t.Fatalf("audit list --org acme = %d events, next_after %v", n, all.NextAfter)
	}
	var page apiview.AuditPage
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--json", "--limit", strconv.Itoa(n-1))), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != n-1 || page.NextAfter == nil || *page.NextAfter != all.Events[n-2].Seq {
		t.Fatalf("--limit %d = %d events, next_after %v", n-1, len(page.Events), page.NextAfter)
	}
	_, errOut, err := c.run("admin", "audit", "list", "--org", "acme", "--limit", strconv.Itoa(n-1))
	if want := "continue with --after " + strconv.FormatInt(*page.NextAfter, 10); err != nil || !strings.Contains(errOut, want) {
		t.Errorf("audit list --limit %d: stderr %q (%v), want %q", n-1, errOut, err, want)
	}
	// A page that is exactly full but the last one names no next page.
	if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--json", "--limit", strconv.Itoa(n))), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != n || page.NextAfter != nil {
		t.Errorf("--limit %d = %d events, next_after %v", n, len(page.Events), page.NextAfter)
	}
	c.fails("--limit must be from 1 to 1000", "admin", "audit", "list", "--limit", "1001")
}

// breakGlassOwner gives the organization slug a break-glass owner
// (lockouttest.BreakGlassOwner) with a real authenticator app enrolled
// through the MFA service under the data directory's secret key, so the
// CLI's lockout check (which asks the MFA services) lets enforcing SSO pass.
func breakGlassOwner(t *testing.T, c *cli, slug string) {
	t.Helper()
	url := c.dbURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
	}
	st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org, err := st.GetOrganizationBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	owner := new(lockouttest.Factors).BreakGlassOwner(t, st, org.ID)
	key, err := os.ReadFile(filepath.Join(c.dataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(key)))
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	svc := mfa.NewService(st, box, "Gatehouse", slog.New(slog.DiscardHandler), time.Now)
	mfatest.EnrolTOTP(t, svc, owner, time.Now())
}
