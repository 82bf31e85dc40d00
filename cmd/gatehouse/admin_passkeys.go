package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminPasskeysCmd = &cobra.Command{
	Use:   "passkeys",
	Short: "See who could sign in with a passkey if SSO went down, and remind those without one",
	Long: `People under a policy that enforces SSO and allows failback sign in only through
the IdP. If it is down, a passkey signs them in without email (which may be
down too). "readiness" shows who has one; "remind" mails those without one a
link to their account page, at most once per person per 7 days.`,
}

var adminPasskeysReadinessCmd = &cobra.Command{
	Use:   "readiness --org ORG [--without]",
	Short: "Count and list the people covered, with their passkeys",
	Example: `  gatehouse admin passkeys readiness --org acme
  gatehouse admin passkeys readiness --org acme --without --json`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		sum, err := a.Readiness.Summary(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		// The CLI prints everyone: it reads page after page.
		var all readiness.Page
		opt := readiness.ListOptions{WithoutOnly: boolFlag(cmd, "without"), Limit: 500}
		for {
			p, err := a.Readiness.List(ctx, org.ID, opt)
			if err != nil {
				return cliErr(err)
			}
			all.People = append(all.People, p.People...)
			if p.Next == "" {
				break
			}
			opt.After = p.Next
		}
		view := apiview.ReadinessPageFrom(sum, all)
		if jsonOutput(cmd) {
			return printJSON(out, view)
		}
		if len(sum.Policies) == 0 {
			fmt.Fprintln(out, "No policy enforces SSO and allows failback: nobody needs an emergency passkey.")
			return nil
		}
		names := make([]string, 0, len(sum.Policies))
		for _, p := range sum.Policies {
			names = append(names, p.Name)
		}
		fmt.Fprintf(out, "Policies: %s\n%d covered, %d with an emergency passkey, %d with any passkey, %d without\n\n",
			strings.Join(names, ", "), sum.Covered, sum.WithEmergency, sum.WithPasskey, sum.Without)
		rows := make([][]string, 0, len(view.People))
		for _, p := range view.People {
			reminded := "never"
			if p.LastRemindedAt != nil {
				reminded = p.LastRemindedAt.Format("2006-01-02 15:04 UTC")
			}
			rows = append(rows, []string{p.Email, p.PolicyName, strconv.Itoa(p.Passkeys), strconv.Itoa(p.EmergencyPasskeys), reminded})
		}
		return table(out, []string{"EMAIL", "POLICY", "PASSKEYS", "EMERGENCY", "REMINDED"}, rows)
	}),
}

var adminPasskeysRemindCmd = &cobra.Command{
	Use:   "remind --org ORG [--email EMAIL]... [--dry-run]",
	Short: "Mail people without a passkey a reminder to register one (once per 7 days)",
	Example: `  gatehouse admin passkeys remind --org acme --dry-run
  gatehouse admin passkeys remind --org acme
  gatehouse admin passkeys remind --org acme --email ada@acme.example`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		emails, _ := cmd.Flags().GetStringArray("email")
		var res apiview.ReminderResult
		if boolFlag(cmd, "dry-run") {
			p, err := a.Readiness.Preview(ctx, org.ID, emails)
			if err != nil {
				return cliErr(err)
			}
			res = apiview.ReminderResultFrom(p.ToMail, p.Skipped, p.NotCovered, true)
		} else {
			r, err := a.Readiness.Remind(ctx, org.ID, emails)
			if err != nil {
				return cliErr(err)
			}
			a.Readiness.Wait() // the process exits next: let the mails out first
			res = apiview.ReminderResultFrom(r.Mailed, r.Skipped, r.NotCovered, false)
		}
		if jsonOutput(cmd) {
			return printJSON(out, res)
		}
		verb := "Reminded"
		if res.DryRun {
			verb = "Would remind"
		}
		fmt.Fprintf(out, "%s %d: %s\n", verb, len(res.Mailed), strings.Join(res.Mailed, ", "))
		if len(res.Skipped) > 0 {
			fmt.Fprintf(out, "Skipped %d reminded in the last 7 days: %s\n", len(res.Skipped), strings.Join(res.Skipped, ", "))
		}
		if len(res.NotCovered) > 0 {
			fmt.Fprintf(out, "Not covered or already with a passkey: %s\n", strings.Join(res.NotCovered, ", "))
		}
		return nil
	}),
}

func init() {
	addOrgFlag(adminPasskeysReadinessCmd, adminPasskeysRemindCmd)
	adminPasskeysReadinessCmd.Flags().Bool("without", false, "list only the people without a passkey")
	adminPasskeysRemindCmd.Flags().StringArray("email", nil, "remind this person only (repeatable); default: everyone without a passkey")
	adminPasskeysRemindCmd.Flags().Bool("dry-run", false, "say who would be mailed; send and record nothing")
	adminPasskeysCmd.AddCommand(adminPasskeysReadinessCmd, adminPasskeysRemindCmd)
	adminCmd.AddCommand(adminPasskeysCmd)
}
