package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The admin commands work directly against the database (through
// openApp), not through the HTTP API, so an operator can still manage
// Gatehouse on the server when the web side is down or misconfigured. They
// call the same services as the console and the API, so the same rules and
// audit events apply; the actor is "cli" with the OS user name.

var adminCmd = &cobra.Command{
	Use:   "admin",
	Short: "Manage organizations, members, sessions, API tokens, SSO and the audit log from the server",
	Long: `Manage Gatehouse directly against its database: organizations, members,
sessions, API tokens, email domains, SAML IdP connections, authentication
policies and the audit log. These commands work on the server even when the
web interface is down. Every change is written to the
audit log with the actor "cli" and your operating-system user name.

Output is a table for people; add --json for scripts.`,
}

func init() {
	adminCmd.PersistentFlags().Bool("json", false, "print JSON instead of a table")
	rootCmd.AddCommand(adminCmd)
}

// adminRun is the shape of every admin subcommand once the app is open:
// ctx carries the CLI actor, out is stdout.
type adminRun func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error

// withApp opens the app for the duration of one command.
func withApp(fn adminRun) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		a, err := openApp(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(cliContext(cmd.Context()), a, cmd, cmd.OutOrStdout())
	}
}

// orgRun is an admin subcommand on the organization --org names.
type orgRun func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error

// withOrg opens the app and resolves --org before fn runs.
func withOrg(fn orgRun) func(cmd *cobra.Command, args []string) error {
	return withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		return fn(ctx, a, cmd, out, org)
	})
}

// memberRun is an admin subcommand on the member --email names in org.
type memberRun func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error

// withMember is withOrg that also resolves --email before fn runs.
func withMember(fn memberRun) func(cmd *cobra.Command, args []string) error {
	return withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		m, err := memberFlag(ctx, a, cmd, org)
		if err != nil {
			return err
		}
		return fn(ctx, a, cmd, out, org, m)
	})
}

// addOrgFlag gives each command the --org flag withOrg reads.
func addOrgFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().String("org", "", "organization slug or ID (required)")
	}
}

// addMemberFlags gives each command --org and the member's --email, as
// withMember reads them.
func addMemberFlags(cmds ...*cobra.Command) {
	addOrgFlag(cmds...)
	for _, c := range cmds {
		c.Flags().String("email", "", "the member's email (required)")
	}
}

func jsonOutput(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// report prints v with --json, else the sentence format makes of args.
func report(cmd *cobra.Command, out io.Writer, v any, format string, args ...any) error {
	if jsonOutput(cmd) {
		return printJSON(out, v)
	}
	_, err := fmt.Fprintf(out, format, args...)
	return err
}

// printList prints items with --json as {"<key>": [their API form]},
// else as a table, one row an item.
func printList[T, J any](cmd *cobra.Command, out io.Writer, key string, items []T, toJSON func(T) J, header []string, row func(T) []string) error {
	if jsonOutput(cmd) {
		list := make([]J, 0, len(items))
		for _, it := range items {
			list = append(list, toJSON(it))
		}
		return printJSON(out, map[string]any{key: list})
	}
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
	}
	return table(out, header, rows)
}

// table writes rows under a header, aligned with tabwriter. Cells are
// sanitized: a tab or newline in a display name must not break the table,
// and control characters must not reach the terminal.
func table(out io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// when formats a time for a table: UTC, to the second; "-" when unset.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// requireFlags reports the first missing required string flag in the
// words an operator reads, before anything is opened.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		v, _ := cmd.Flags().GetString(n)
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("--%s is required", n)
		}
	}
	return nil
}

// preRun checks a command's flags before anything is opened.
type preRun func(cmd *cobra.Command, args []string) error

// requires is the PreRunE of a command whose string flags names must be given.
func requires(names ...string) preRun {
	return func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, names...) }
}

// and runs check once p has passed.
func (p preRun) and(check func(cmd *cobra.Command) error) preRun {
	return func(cmd *cobra.Command, args []string) error {
		if err := p(cmd, args); err != nil {
			return err
		}
		return check(cmd)
	}
}

// valid turns a flag parser into a check of the flag, for preRun.and.
func valid[T any](parse func(cmd *cobra.Command) (T, error)) func(cmd *cobra.Command) error {
	return func(cmd *cobra.Command) error {
		_, err := parse(cmd)
		return err
	}
}

func flag(cmd *cobra.Command, name string) string {
	v, _ := cmd.Flags().GetString(name)
	return v
}

// orgFlag resolves --org (a slug or an ID).
func orgFlag(ctx context.Context, a *app.App, cmd *cobra.Command) (storage.Organization, error) {
	ref := flag(cmd, "org")
	o, err := a.Accounts.GetOrganization(ctx, ref)
	return o, cliErr(err)
}

// memberFlag resolves --email within org.
func memberFlag(ctx context.Context, a *app.App, cmd *cobra.Command, org storage.Organization) (storage.Account, error) {
	m, err := a.Accounts.GetMember(ctx, org.ID, flag(cmd, "email"))
	return m, cliErr(err)
}

// fieldFlags maps the services' input field names to the flags that feed them.
var fieldFlags = map[string]string{
	"email": "email", "display_name": "name", "name": "name", "role": "role", "slug": "slug",
	"org_id": "org", "organization": "org", "id": "id", "account_id": "email",
	"metadata_url": "metadata-url", "metadata_xml": "metadata-file", "entity_id": "entity-id",
	"sso_url": "sso-url", "certificates": "cert-file", "certificate": "cert-file",
	"name_id_format": "name-id-format", "attribute_map": "map", "sso": "sso", "connection": "idp",
	"force_reason": "force-reason",
}

// addForceReasonFlag adds --force-reason to commands whose change the
// lockout check may refuse.
func addForceReasonFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().String("force-reason", "", "make the change even if no owner could sign in without the IdP afterwards; the reason is recorded in the audit log")
	}
}

// forceFlag is the lockout.Force --force-reason asks for.
func forceFlag(cmd *cobra.Command) lockout.Force {
	return lockout.Force{Reason: flag(cmd, "force-reason")}
}

// cliErr names the flag at fault in an invalid-input error; service error
// texts are already sentences for people, so they are kept as they are.
func cliErr(err error) error {
	if errors.Is(err, policy.ErrUntestedConnection) {
		// Also an input error, but the flag is not at fault: say how to
		// override instead.
		return fmt.Errorf("%s To enforce it anyway, add --force; the override is recorded in the audit log.", err)
	}
	if errors.Is(err, lockout.ErrLockout) {
		return fmt.Errorf("%s To make it anyway, add --force-reason \"why\".", err)
	}
	var invalid *account.InvalidInputError
	if errors.As(err, &invalid) {
		if f, ok := fieldFlags[invalid.Field]; ok {
			return fmt.Errorf("--%s: %s", f, invalid.Message)
		}
	}
	var domainInvalid *domain.InvalidInputError
	if errors.As(err, &domainInvalid) {
		if domainInvalid.Field == "force_reason" {
			return fmt.Errorf("--force-reason: %s", domainInvalid.Message)
		}
		return fmt.Errorf("--name: %s", domainInvalid.Message)
	}
	return err
}
