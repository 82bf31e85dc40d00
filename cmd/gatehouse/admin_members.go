package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// --- organizations ---

var adminOrgCmd = &cobra.Command{Use: "org", Short: "Create and list organizations"}

var adminOrgCreateCmd = &cobra.Command{
	Use:     "create --name NAME [--slug SLUG]",
	Short:   "Create an organization",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "name") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		o, err := a.Accounts.CreateOrganization(ctx, flag(cmd, "name"), flag(cmd, "slug"))
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, adminapi.OrganizationFrom(o))
		}
		_, err = fmt.Fprintf(out, "Created organization %q: slug %s, id %s\n", o.Name, o.Slug, o.ID)
		return err
	}),
}

var adminOrgListCmd = &cobra.Command{
	Use:   "list",
	Short: "List organizations",
	Args:  cobra.NoArgs,
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		orgs, err := a.Accounts.ListOrganizations(ctx)
		if err != nil {
			return err
		}
		if jsonOutput(cmd) {
			list := make([]adminapi.Organization, 0, len(orgs))
			for _, o := range orgs {
				list = append(list, adminapi.OrganizationFrom(o))
			}
			return printJSON(out, map[string]any{"organizations": list})
		}
		rows := make([][]string, 0, len(orgs))
		for _, o := range orgs {
			rows = append(rows, []string{o.Slug, o.Name, o.ID, when(o.CreatedAt)})
		}
		return table(out, []string{"SLUG", "NAME", "ID", "CREATED"}, rows)
	}),
}

// --- members ---

var adminMemberCmd = &cobra.Command{Use: "member", Short: "Add, list, promote, suspend and reactivate members"}

var adminMemberAddCmd = &cobra.Command{
	Use:   "add --org ORG --email EMAIL [--name NAME] [--role member|admin|owner] [--invite]",
	Short: "Add a member to an organization (--invite mails a set-password link)",
	Args:  cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "org", "email"); err != nil {
			return err
		}
		_, err := roleFlag(cmd)
		return err
	},
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		role, _ := roleFlag(cmd)
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		invite, _ := cmd.Flags().GetBool("invite")
		m, err := a.Accounts.AddMember(ctx, org.ID, account.MemberInput{
			Email: flag(cmd, "email"), DisplayName: flag(cmd, "name"), Role: role, Invite: invite,
		})
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, adminapi.MemberFrom(m))
		}
		fmt.Fprintf(out, "Added %s to %s as %s (id %s).\n", m.Email, org.Slug, m.Role, m.ID)
		if invite {
			fmt.Fprintf(out, "An invitation with a set-password link was sent to %s.\n", m.Email)
			if a.Config.SMTP.Host == "" {
				fmt.Fprintf(out, "No SMTP server is configured: the message is in %s.\n", filepath.Join(a.Config.DataDir, "outbox"))
			}
		} else {
			fmt.Fprintln(out, "They have no password yet: they can sign in through SSO, or set one with \"Forgot password\".")
		}
		return nil
	}),
}

// roleFlag checks --role (default member) without opening anything, so a
// typo fails before any change.
func roleFlag(cmd *cobra.Command) (storage.Role, error) {
	r, err := adminapi.ParseRole("role", flag(cmd, "role"))
	if err != nil {
		return "", fmt.Errorf("--role must be member, admin or owner, not %q", flag(cmd, "role"))
	}
	return r, nil
}

var adminMemberListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's members",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		ms, err := a.Accounts.ListMembers(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			list := make([]adminapi.Member, 0, len(ms))
			for _, m := range ms {
				list = append(list, adminapi.MemberFrom(m))
			}
			return printJSON(out, map[string]any{"members": list})
		}
		rows := make([][]string, 0, len(ms))
		for _, m := range ms {
			pw := "no"
			if m.PasswordHash != "" {
				pw = "yes"
			}
			rows = append(rows, []string{m.Email, m.DisplayName, string(m.Role), string(m.Status), pw, m.ID})
		}
		return table(out, []string{"EMAIL", "NAME", "ROLE", "STATUS", "PASSWORD", "ID"}, rows)
	}),
}

var adminMemberRoleCmd = &cobra.Command{
	Use:   "role --org ORG --email EMAIL --role member|admin|owner",
	Short: "Grant or revoke admin (or ownership); the last owner cannot be demoted",
	Args:  cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "org", "email", "role"); err != nil {
			return err
		}
		_, err := roleFlag(cmd)
		return err
	},
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		role, _ := roleFlag(cmd)
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		m, err := memberFlag(ctx, a, cmd, org)
		if err != nil {
			return err
		}
		before := m.Role
		if m, err = a.Accounts.SetRole(ctx, org.ID, m.ID, role); err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, adminapi.MemberFrom(m))
		}
		if before == m.Role {
			_, err = fmt.Fprintf(out, "%s is already %s; nothing changed.\n", m.Email, m.Role)
			return err
		}
		_, err = fmt.Fprintf(out, "%s is now %s (was %s).\n", m.Email, m.Role, before)
		return err
	}),
}

func statusCommand(use, short string, status storage.AccountStatus) *cobra.Command {
	return &cobra.Command{
		Use:     use + " --org ORG --email EMAIL",
		Short:   short,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org", "email") },
		RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
			org, err := orgFlag(ctx, a, cmd)
			if err != nil {
				return err
			}
			m, err := memberFlag(ctx, a, cmd, org)
			if err != nil {
				return err
			}
			before := m.Status
			if m, err = a.Accounts.SetStatus(ctx, org.ID, m.ID, status); err != nil {
				return cliErr(err)
			}
			if jsonOutput(cmd) {
				return printJSON(out, adminapi.MemberFrom(m))
			}
			switch {
			case before == m.Status:
				_, err = fmt.Fprintf(out, "%s is already %s; nothing changed.\n", m.Email, m.Status)
			case status == storage.StatusSuspended:
				_, err = fmt.Fprintf(out, "Suspended %s; their sessions were ended.\n", m.Email)
			default:
				_, err = fmt.Fprintf(out, "Reactivated %s.\n", m.Email)
			}
			return err
		}),
	}
}

var (
	adminMemberSuspendCmd    = statusCommand("suspend", "Suspend a member and end their sessions", storage.StatusSuspended)
	adminMemberReactivateCmd = statusCommand("reactivate", "Reactivate a suspended member", storage.StatusActive)
)

// --- sessions ---

var adminSessionCmd = &cobra.Command{Use: "session", Short: "End members' sessions"}

var adminSessionRevokeCmd = &cobra.Command{
	Use:     "revoke --org ORG --email EMAIL",
	Short:   "Sign a member out everywhere",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org", "email") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		m, err := memberFlag(ctx, a, cmd, org)
		if err != nil {
			return err
		}
		n, err := a.Accounts.RevokeSessions(ctx, org.ID, m.ID)
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, map[string]any{"revoked": n})
		}
		_, err = fmt.Fprintf(out, "Ended %d session(s) of %s.\n", n, m.Email)
		return err
	}),
}

func init() {
	adminOrgCreateCmd.Flags().String("name", "", "organization name, shown on sign-in pages (required)")
	adminOrgCreateCmd.Flags().String("slug", "", "URL-safe short name (default: derived from --name)")
	adminOrgCmd.AddCommand(adminOrgCreateCmd, adminOrgListCmd)

	adminMemberAddCmd.Flags().String("email", "", "the member's email (required)")
	adminMemberAddCmd.Flags().String("name", "", "display name")
	adminMemberAddCmd.Flags().String("role", "member", "member, admin or owner")
	adminMemberAddCmd.Flags().Bool("invite", false, "mail an invitation with a set-password link")
	adminMemberRoleCmd.Flags().String("email", "", "the member's email (required)")
	adminMemberRoleCmd.Flags().String("role", "", "member, admin or owner (required)")
	adminMemberSuspendCmd.Flags().String("email", "", "the member's email (required)")
	adminMemberReactivateCmd.Flags().String("email", "", "the member's email (required)")
	adminSessionRevokeCmd.Flags().String("email", "", "the member's email (required)")
	for _, c := range []*cobra.Command{adminMemberAddCmd, adminMemberListCmd, adminMemberRoleCmd,
		adminMemberSuspendCmd, adminMemberReactivateCmd, adminSessionRevokeCmd} {
		c.Flags().String("org", "", "organization slug or ID (required)")
	}
	adminMemberCmd.AddCommand(adminMemberAddCmd, adminMemberListCmd, adminMemberRoleCmd,
		adminMemberSuspendCmd, adminMemberReactivateCmd)
	adminSessionCmd.AddCommand(adminSessionRevokeCmd)
	adminCmd.AddCommand(adminOrgCmd, adminMemberCmd, adminSessionCmd)
}
