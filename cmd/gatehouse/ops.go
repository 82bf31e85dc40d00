package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// appOpen opens the app with the configured logger (JSON on stderr).
func appOpen(ctx context.Context, cfg config.Config) (*app.App, error) {
	return app.Open(ctx, cfg, app.NewLogger(cfg.Log, os.Stderr))
}

var migrateCmd = &cobra.Command{
	Use:   "migrate",
	Short: "Apply database migrations and exit (serve also does this at start)",
	Long: `Apply database migrations and exit. Like serve, and unlike the admin
commands, migrate creates the data directory and the SQLite database when
they are missing: preparing the database is what it is for.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		a, err := openAppWith(cmd, app.Options{})
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintln(cmd.OutOrStdout(), "database is migrated")
		return nil
	},
}

var configCmd = &cobra.Command{Use: "config", Short: "Configuration tools"}

var configValidateCmd = &cobra.Command{
	Use:   "validate",
	Short: "Check the configuration and report every problem at once",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		if _, err := loadConfig(cmd); err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
		return nil
	},
}

var recoverCmd = &cobra.Command{
	Use:   "recover --email admin@example.com",
	Short: "Issue a one-time admin sign-in link when every admin is locked out",
	Long: `Issue a one-time sign-in link for an owner or admin, valid for one hour,
working directly against the database. Use it on the server when no admin
can sign in. The link is recorded in the audit log.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		email, _ := cmd.Flags().GetString("email")
		if email == "" {
			return fmt.Errorf("--email is required: the owner or admin to sign in as")
		}
		a, err := openApp(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		link, err := a.Accounts.IssueRecoveryLink(cliContext(cmd.Context()), email)
		if err != nil {
			return fmt.Errorf("recover %s: %w", email, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "One-time admin sign-in link for %s (valid 1 hour, works once):\n\n    %s\n", email, link)
		return nil
	},
}

func init() {
	recoverCmd.Flags().String("email", "", "email of the owner or admin to sign in as")
	configCmd.AddCommand(configValidateCmd)
	rootCmd.AddCommand(migrateCmd, configCmd, recoverCmd)
}
