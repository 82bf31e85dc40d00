package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var recoveryCodesCmd = &cobra.Command{
	Use:   "recovery-codes",
	Short: "Organization recovery codes: sign an owner in at /recover without the IdP and without mail",
}

var recoveryCodesGenerateCmd = &cobra.Command{
	Use:   "generate --org slug",
	Short: "Generate ten new organization recovery codes (the old ones stop working)",
	Long: `Generate ten single-use organization recovery codes and print them once.
Each signs an owner in at /recover with their email address, without the IdP
and without mail; every use is audited and mailed to all admins. Gatehouse
keeps only their hashes: print them or store them in a password manager now.
Generating again voids the previous set.`,
	Args: cobra.NoArgs,
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		codes, err := a.OrgRecovery.Generate(ctx, org.ID)
		if err != nil {
			return err
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.RecoveryCodes{Codes: codes})
		}
		_, err = fmt.Fprintf(out, "Organization recovery codes for %s (shown only now; the previous codes no longer work):\n\n    %s\n\n"+
			"Keep them where you can reach them without your computer or your company's accounts. An owner signs in with one at /recover.\n",
			org.Slug, strings.Join(codes, "\n    "))
		return err
	}),
}

var recoveryCodesStatusCmd = &cobra.Command{
	Use:   "status --org slug",
	Short: "How many organization recovery codes are left",
	Args:  cobra.NoArgs,
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		st, err := a.OrgRecovery.Status(ctx, org.ID)
		if err != nil {
			return err
		}
		if !st.Generated {
			return report(cmd, out, apiview.RecoveryCodesStatusFrom(st), "%s has no recovery codes yet: run gatehouse admin recovery-codes generate --org %s\n", org.Slug, org.Slug)
		}
		return report(cmd, out, apiview.RecoveryCodesStatusFrom(st), "%d of 10 recovery codes of %s are unused (generated %s).\n",
			st.Left, org.Slug, st.GeneratedAt.UTC().Format("2 Jan 2006, 15:04 UTC"))
	}),
}

var breakGlassCmd = &cobra.Command{
	Use:   "break-glass --org slug",
	Short: "List the break-glass admins (SSO off, MFA required) and what is missing",
	Args:  cobra.NoArgs,
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		rep, err := a.BreakGlass.List(ctx, org.ID)
		if err != nil {
			return err
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.BreakGlassFrom(rep))
		}
		if len(rep.Admins) > 0 {
			rows := make([][]string, 0, len(rep.Admins))
			for _, ad := range rep.Admins {
				rows = append(rows, []string{ad.Email, string(ad.Role), ad.Policy, ad.SecondFactor})
			}
			if err := table(out, []string{"EMAIL", "ROLE", "POLICY", "SECOND FACTOR"}, rows); err != nil {
				return err
			}
		}
		for _, w := range rep.Warnings {
			fmt.Fprintln(out, "Warning: "+breakglass.Words(w))
		}
		return nil
	}),
}

func init() {
	addOrgFlag(recoveryCodesGenerateCmd, recoveryCodesStatusCmd, breakGlassCmd)
	recoveryCodesCmd.AddCommand(recoveryCodesGenerateCmd, recoveryCodesStatusCmd)
	adminCmd.AddCommand(recoveryCodesCmd, breakGlassCmd)
}
