package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// --- organizations ---

var adminOrgCmd = &cobra.Command{Use: "org", Short: "Create and list organizations"}

var adminOrgCreateCmd = &cobra.Command{
	Use:     "create --name NAME [--slug SLUG]",
	Short:   "Create an organization",
	Args:    cobra.NoArgs,
	PreRunE: requires("name"),
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		o, err := a.Accounts.CreateOrganization(ctx, flag(cmd, "name"), flag(cmd, "slug"))
		if err != nil {
			return cliErr(err)
		}
		return report(cmd, out, apiview.OrganizationFrom(o), "Created organization %q: slug %s, id %s\n", o.Name, o.Slug, o.ID)
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
		return printList(cmd, out, "organizations", orgs, apiview.OrganizationFrom,
			[]string{"SLUG", "NAME", "ID", "CREATED"}, func(o storage.Organization) []string {
				return []string{o.Slug, o.Name, o.ID, when(o.CreatedAt)}
			})
	}),
}

// --- members ---

var adminMemberCmd = &cobra.Command{Use: "member", Short: "Add, list, promote, suspend and reactivate members"}

var adminMemberAddCmd = &cobra.Command{
	Use:     "add --org ORG --email EMAIL [--name NAME] [--role member|admin|owner] [--invite]",
	Short:   "Add a member to an organization (--invite mails a set-password link)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email").and(valid(roleFlag)),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		role, _ := roleFlag(cmd)
		invite, _ := cmd.Flags().GetBool("invite")
		m, err := a.Accounts.AddMember(ctx, org.ID, account.MemberInput{
			Email: flag(cmd, "email"), DisplayName: flag(cmd, "name"), Role: role, Invite: invite,
		})
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.MemberFrom(m))
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
	r, err := apiview.ParseRole("role", flag(cmd, "role"))
	if err != nil {
		return "", fmt.Errorf("--role must be member, admin or owner, not %q", flag(cmd, "role"))
	}
	return r, nil
}

var adminMemberListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's members",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		ms, err := a.Accounts.ListMembers(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		return printList(cmd, out, "members", ms, apiview.MemberFrom,
			[]string{"EMAIL", "NAME", "ROLE", "STATUS", "PASSWORD", "ID"}, func(m storage.Account) []string {
				pw := "no"
				if m.PasswordHash != "" {
					pw = "yes"
				}
				return []string{m.Email, m.DisplayName, string(m.Role), string(m.Status), pw, m.ID}
			})
	}),
}

var adminMemberRoleCmd = &cobra.Command{
	Use:     "role --org ORG --email EMAIL --role member|admin|owner",
	Short:   "Grant or revoke admin (or ownership); the last owner cannot be demoted",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email", "role").and(valid(roleFlag)),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		role, _ := roleFlag(cmd)
		before := m.Role
		m, err := a.Accounts.SetRole(ctx, org.ID, m.ID, role, forceFlag(cmd))
		if err != nil {
			return cliErr(err)
		}
		if before == m.Role {
			return report(cmd, out, apiview.MemberFrom(m), "%s is already %s; nothing changed.\n", m.Email, m.Role)
		}
		return report(cmd, out, apiview.MemberFrom(m), "%s is now %s (was %s).\n", m.Email, m.Role, before)
	}),
}

func statusCommand(use, short string, status storage.AccountStatus) *cobra.Command {
	return &cobra.Command{
		Use:     use + " --org ORG --email EMAIL",
		Short:   short,
		Args:    cobra.NoArgs,
		PreRunE: requires("org", "email"),
		RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
			before := m.Status
			m, err := a.Accounts.SetStatus(ctx, org.ID, m.ID, status, forceFlag(cmd))
			if err != nil {
				return cliErr(err)
			}
			switch {
			case before == m.Status:
				return report(cmd, out, apiview.MemberFrom(m), "%s is already %s; nothing changed.\n", m.Email, m.Status)
			case status == storage.StatusSuspended:
				return report(cmd, out, apiview.MemberFrom(m), "Suspended %s; their sessions were ended.\n", m.Email)
			default:
				return report(cmd, out, apiview.MemberFrom(m), "Reactivated %s.\n", m.Email)
			}
		}),
	}
}

var (
	adminMemberSuspendCmd    = statusCommand("suspend", "Suspend a member and end their sessions", storage.StatusSuspended)
	adminMemberReactivateCmd = statusCommand("reactivate", "Reactivate a suspended member", storage.StatusActive)
)

// adminMemberResetFactorsCmd is the way back for someone who lost the
// device holding their second factors: everything goes, they are signed
// out, and they set up new ones at their next sign-in.
var adminMemberResetFactorsCmd = &cobra.Command{
	Use:     "reset-factors --org ORG --email EMAIL",
	Short:   "Remove a member's authenticator app, recovery codes and passkeys and sign them out (they set up new ones at their next sign-in)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		res, err := a.MFA.ResetFactors(ctx, org.ID, m.ID, mfa.AllFactors)
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.FactorResetFrom(res))
		}
		app := "no authenticator app"
		if res.TOTPRemoved {
			app = "their authenticator app"
		}
		fmt.Fprintf(out, "Reset the sign-in methods of %s: removed %s, %d recovery code(s) and %d passkey(s); ended %d session(s).\n",
			m.Email, app, res.RecoveryCodes, res.Passkeys, res.SessionsRevoked)
		fmt.Fprintf(out, "They were mailed about it, and will set up new ones at their next sign-in.\n")
		return nil
	}),
}

// --- sessions ---

var adminSessionCmd = &cobra.Command{Use: "session", Short: "End members' sessions"}

var adminSessionRevokeCmd = &cobra.Command{
	Use:     "revoke --org ORG --email EMAIL",
	Short:   "Sign a member out everywhere",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		n, err := a.Accounts.RevokeSessions(ctx, org.ID, m.ID)
		if err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"revoked": n}, "Ended %d session(s) of %s.\n", n, m.Email)
	}),
}

func init() {
	adminOrgCreateCmd.Flags().String("name", "", "organization name, shown on sign-in pages (required)")
	adminOrgCreateCmd.Flags().String("slug", "", "URL-safe short name (default: derived from --name)")
	adminOrgCmd.AddCommand(adminOrgCreateCmd, adminOrgListCmd)

	adminMemberAddCmd.Flags().String("name", "", "display name")
	adminMemberAddCmd.Flags().String("role", "member", "member, admin or owner")
	adminMemberAddCmd.Flags().Bool("invite", false, "mail an invitation with a set-password link")
	adminMemberRoleCmd.Flags().String("role", "", "member, admin or owner (required)")
	addForceReasonFlag(adminMemberRoleCmd, adminMemberSuspendCmd, adminMemberReactivateCmd)
	addOrgFlag(adminMemberListCmd)
	addMemberFlags(adminMemberAddCmd, adminMemberRoleCmd, adminMemberSuspendCmd, adminMemberReactivateCmd, adminSessionRevokeCmd,
		adminMemberResetFactorsCmd)
	adminMemberCmd.AddCommand(adminMemberAddCmd, adminMemberListCmd, adminMemberRoleCmd,
		adminMemberSuspendCmd, adminMemberReactivateCmd, adminMemberResetFactorsCmd)
	adminSessionCmd.AddCommand(adminSessionRevokeCmd)
	adminCmd.AddCommand(adminOrgCmd, adminMemberCmd, adminSessionCmd)
}
