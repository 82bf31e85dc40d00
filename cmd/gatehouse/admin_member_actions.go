package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// What an admin does to one member from the member page, for the command
// line: rename, resend the invitation, mail a reset link, delete.

var adminMemberRenameCmd = &cobra.Command{
	Use:     "rename --org ORG --email EMAIL --name NAME",
	Short:   `Change a member's display name ("" clears it)`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		m, err := a.Accounts.SetDisplayName(ctx, org.ID, m.ID, flag(cmd, "name"))
		if err != nil {
			return cliErr(err)
		}
		return report(cmd, out, apiview.MemberFrom(m), "%s is now shown as %q.\n", m.Email, m.DisplayName)
	}),
}

var adminMemberResendInviteCmd = &cobra.Command{
	Use:     "resend-invite --org ORG --email EMAIL",
	Short:   "Mail a new invitation to a member who has never signed in (older links stop working)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		if err := a.Accounts.ResendInvitation(ctx, org.ID, m.ID); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"sent": true}, "A new invitation is on its way to %s.\n", m.Email)
	}),
}

var adminMemberSendResetCmd = &cobra.Command{
	Use:     "send-reset --org ORG --email EMAIL",
	Short:   `Mail a member the "Forgot password" reset link (older links stop working)`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		if err := a.Accounts.SendPasswordReset(ctx, org.ID, m.ID); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"sent": true}, "A password-reset link is on its way to %s.\n", m.Email)
	}),
}

var adminMemberDeleteCmd = &cobra.Command{
	Use: "delete --org ORG --email EMAIL --yes",
	Short: "Delete a member for good: their sessions end, their account, SSO links, second factors and passkeys go " +
		"(the audit log keeps its past events); never the last owner",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		if yes, _ := cmd.Flags().GetBool("yes"); !yes {
			return errors.New("deleting " + m.Email + " cannot be undone: pass --yes to confirm (to stop them signing in for a while, use `member suspend`)")
		}
		if err := a.Accounts.DeleteMember(ctx, org.ID, m.ID, forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"deleted": m.ID}, "Deleted %s; their sessions ended.\n", m.Email)
	}),
}

func init() {
	adminMemberRenameCmd.Flags().String("name", "", "the new display name")
	adminMemberDeleteCmd.Flags().Bool("yes", false, "confirm the deletion")
	addForceReasonFlag(adminMemberDeleteCmd)
	addMemberFlags(adminMemberRenameCmd, adminMemberResendInviteCmd, adminMemberSendResetCmd, adminMemberDeleteCmd)
	adminMemberCmd.AddCommand(adminMemberRenameCmd, adminMemberResendInviteCmd, adminMemberSendResetCmd, adminMemberDeleteCmd)
}
