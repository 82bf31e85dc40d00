package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminTokenCmd = &cobra.Command{Use: "token", Short: "Create, list and revoke admin API tokens"}

var adminTokenCreateCmd = &cobra.Command{
	Use:   "create --org ORG --name NAME [--scope read|admin|owner] [--expires 90d]",
	Short: "Create an API token for /api/v1 (the secret is printed once)",
	Long: `Create an API token for /api/v1. The secret is printed once.

--scope limits what the token may do: read (GET only, changes nothing),
admin (the default: what an admin may do in the console) or owner (also
what only owners may: make or change owners, decide how owners sign in).

--expires makes the token stop working after that long (e.g. 30d, 90d,
8760h; at most five years); without it the token works until revoked.`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		spec := account.APITokenSpec{Name: flag(cmd, "name"), Scope: flag(cmd, "scope")}
		if e := flag(cmd, "expires"); e != "" {
			d, err := parseTTL("expires", e)
			if err != nil {
				return err
			}
			if d <= 0 {
				return fmt.Errorf("--expires %q: give how long the token should work, e.g. 90d; leave it out for no expiry", e)
			}
			spec.ExpiresAt = a.Now().Add(d)
		}
		secret, t, err := a.Accounts.CreateAPITokenSpec(ctx, org.ID, spec)
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.CreatedToken{Token: apiview.TokenFrom(t), Secret: secret})
		}
		fmt.Fprintf(out, "Created %s API token %q for %s (id %s).\n\n", t.Scope, t.Name, org.Slug, t.ID)
		fmt.Fprintf(out, "    %s\n\n", secret)
		fmt.Fprintln(out, "This secret is shown only once and cannot be recovered: store it now.")
		_, err = fmt.Fprintln(out, "Use it as: Authorization: Bearer <secret>")
		return err
	}),
}

var adminTokenListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's API tokens (never their secrets)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		toks, err := a.Accounts.ListAPITokens(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		return printList(cmd, out, "tokens", toks, apiview.TokenFrom,
			[]string{"ID", "NAME", "SCOPE", "STATUS", "CREATED", "LAST USED", "FROM", "EXPIRES", "CREATED BY"}, func(t storage.APIToken) []string {
				status := "active"
				switch {
				case !t.RevokedAt.IsZero():
					status = "revoked " + when(t.RevokedAt)
				case !t.ExpiresAt.IsZero() && !a.Now().Before(t.ExpiresAt):
					status = "expired"
				}
				return []string{t.ID, t.Name, t.Scope, status, when(t.CreatedAt), when(t.LastUsedAt), t.LastUsedIP, when(t.ExpiresAt), t.CreatedBy}
			})
	}),
}

var adminTokenRevokeCmd = &cobra.Command{
	Use:     "revoke --org ORG --id ID",
	Short:   "Revoke an API token; calls with it fail from then on",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "id"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		id := flag(cmd, "id")
		if err := a.Accounts.RevokeAPIToken(ctx, org.ID, id); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"revoked": id}, "Revoked API token %s of %s.\n", id, org.Slug)
	}),
}

func init() {
	adminTokenCreateCmd.Flags().String("name", "", "a name saying what the token is for, unique in the organization (required)")
	adminTokenCreateCmd.Flags().String("scope", storage.TokenScopeAdmin, "what the token may do: read, admin or owner")
	adminTokenCreateCmd.Flags().String("expires", "", "stop working after this long, e.g. 90d or 8760h (default: until revoked)")
	adminTokenRevokeCmd.Flags().String("id", "", "the token's ID, from `admin token list` (required)")
	addOrgFlag(adminTokenCreateCmd, adminTokenListCmd, adminTokenRevokeCmd)
	adminTokenCmd.AddCommand(adminTokenCreateCmd, adminTokenListCmd, adminTokenRevokeCmd)
	adminCmd.AddCommand(adminTokenCmd)
}
