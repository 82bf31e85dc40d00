package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminAppCmd = &cobra.Command{
	Use:   "app",
	Short: "Register the apps people sign in to through Gatehouse (OpenID Connect, forward-auth)",
	Long: `Apps are registered per organization. An OpenID Connect app lists its redirect
URIs (matched exactly); a site behind nginx, Traefik or Caddy that asks
/auth/verify lists its hosts. A confidential app gets a client secret, printed
once: Gatehouse keeps only its hash.

  gatehouse admin app add --org acme --name Grafana \
      --redirect-uri https://grafana.example.com/login/generic_oauth --scope email --scope groups
  gatehouse admin app add --org acme --name Wiki --host wiki.example.com
  gatehouse admin app add --org acme --name "Mobile app" --public --redirect-uri com.example.app:/cb`,
}

// appFieldFlags maps the apps service's input fields to the flags.
var appFieldFlags = map[string]string{
	"name": "name", "redirect_uris": "redirect-uri", "post_logout_redirect_uris": "post-logout-uri",
	"scopes": "scope", "groups": "group", "hosts": "host", "signing_alg": "signing-alg",
	"access_token_ttl": "access-token-ttl", "id_token_ttl": "id-token-ttl", "refresh_token_ttl": "refresh-token-ttl",
	"public": "public",
}

// appErr names the flag at fault in an apps input error.
func appErr(err error) error {
	if f, ok := appFieldFlags[errs.FieldOf(err)]; ok && errs.KindOf(err) != errs.Internal {
		return fmt.Errorf("--%s: %s", f, err.Error())
	}
	return cliErr(err)
}

// addAppSettingFlags gives add and update the flags of an app's settings.
func addAppSettingFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArray("redirect-uri", nil, "an exact redirect URI (repeatable)")
	f.StringArray("post-logout-uri", nil, "an exact post-logout redirect URI (repeatable)")
	f.StringArray("host", nil, "a host[:port] the app is served on behind a reverse proxy using /auth/verify (repeatable)")
	f.StringArray("scope", nil, "a scope the app may ask for: profile, email, groups, offline_access (repeatable; openid is implied)")
	f.StringArray("group", nil, "admit only people in this IdP group (repeatable; none: everyone)")
	f.String("signing-alg", "", "ID token signature: RS256 (default) or ES256")
	f.String("access-token-ttl", "", "access token lifetime, 1m–24h (default: the deployment's)")
	f.String("id-token-ttl", "", "ID token lifetime, 1m–24h (default: the deployment's)")
	f.String("refresh-token-ttl", "", "refresh token lifetime, 1h–90d (default: the deployment's)")
}

// parseTTL reads a lifetime flag: a Go duration (90m, 12h) or days (30d);
// "" and "0" are the deployment's default.
func parseTTL(name, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("--%s: %q is not a lifetime such as 15m, 12h or 30d", name, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--%s: %q is not a lifetime such as 15m, 12h or 30d", name, v)
	}
	return d, nil
}

// applyAppFlags writes the setting flags given on cmd onto in; on update
// only the flags given change anything (a list flag given replaces the
// list; --host "" empties it).
func applyAppFlags(cmd *cobra.Command, in *apps.Input) error {
	f := cmd.Flags()
	for _, l := range []struct {
		flag string
		dst  *[]string
	}{{"redirect-uri", &in.RedirectURIs}, {"post-logout-uri", &in.PostLogoutRedirectURIs}, {"host", &in.Hosts},
		{"scope", &in.Scopes}, {"group", &in.Groups}} {
		if f.Changed(l.flag) {
			*l.dst, _ = f.GetStringArray(l.flag)
		}
	}
	for _, d := range []struct {
		flag string
		dst  *time.Duration
	}{{"access-token-ttl", &in.AccessTokenTTL}, {"id-token-ttl", &in.IDTokenTTL}, {"refresh-token-ttl", &in.RefreshTokenTTL}} {
		if f.Changed(d.flag) {
			v, err := parseTTL(d.flag, flag(cmd, d.flag))
			if err != nil {
				return err
			}
			*d.dst = v
		}
	}
	if f.Changed("signing-alg") {
		in.SigningAlg = strings.ToUpper(flag(cmd, "signing-alg"))
	}
	return nil
}

// checkAppFlags checks the lifetimes before anything is opened.
func checkAppFlags(cmd *cobra.Command) error { return applyAppFlags(cmd, &apps.Input{}) }

var adminAppAddCmd = &cobra.Command{
	Use:     "add --org ORG --name NAME (--redirect-uri URI | --host HOST)… [--public]",
	Short:   "Register an app and print its client ID, its secret (once) and the issuer",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name").and(checkAppFlags),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		in := apps.Input{Name: flag(cmd, "name"), Public: boolFlag(cmd, "public")}
		if err := applyAppFlags(cmd, &in); err != nil {
			return err
		}
		created, secret, err := a.Apps.Create(ctx, org.ID, in)
		if err != nil {
			return appErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.AppCreated{App: apiview.AppFrom(created), ClientSecret: secret,
				Issuer: a.Apps.Issuer(), Discovery: a.Apps.DiscoveryURL()})
		}
		fmt.Fprintf(out, "Registered %s for %s (id %s).\n\n", cell(created.Name), org.Slug, created.ID)
		rows := [][2]string{{"Client ID", created.ClientID}}
		if secret != "" {
			rows = append(rows, [2]string{"Client secret", secret})
		} else {
			rows = append(rows, [2]string{"Client secret", "none (public app: use PKCE S256)"})
		}
		rows = append(rows, [2]string{"Issuer", a.Apps.Issuer()}, [2]string{"Discovery URL", a.Apps.DiscoveryURL()})
		kv(out, rows)
		if secret != "" {
			fmt.Fprintf(out, "\nCopy the client secret now: it will not be shown again. Gatehouse keeps only its hash;\n"+
				"if it is lost, run: gatehouse admin app rotate-secret --org %s --app %s\n", org.Slug, strconv.Quote(created.Name))
		}
		return nil
	}),
}

// appCommand builds an app subcommand on the app --app names.
func appCommand(use, short string, fn func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, ap storage.App) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Args:    cobra.NoArgs,
		PreRunE: requires("org", "app"),
		RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
			ref := flag(cmd, "app")
			ap, err := a.Apps.Get(ctx, org.ID, ref)
			if errors.Is(err, account.ErrNotFound) {
				return fmt.Errorf("%s has no app %q (see: gatehouse admin app list --org %s)", org.Slug, ref, org.Slug)
			}
			if err != nil {
				return cliErr(err)
			}
			return fn(ctx, a, cmd, out, org, ap)
		}),
	}
	addOrgFlag(cmd)
	cmd.Flags().String("app", "", "the app's name or ID (required)")
	return cmd
}

var adminAppListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's apps",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		list, err := a.Apps.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		return printList(cmd, out, "apps", list, apiview.AppFrom,
			[]string{"NAME", "TYPE", "CLIENT ID", "REDIRECT URIS", "HOSTS", "GROUPS"}, func(ap storage.App) []string {
				v := apiview.AppFrom(ap)
				return []string{ap.Name, v.Type, ap.ClientID, strings.Join(ap.RedirectURIs, " "), strings.Join(ap.Hosts, " "), strings.Join(ap.Groups, ",")}
			})
	}),
}

func printApp(cmd *cobra.Command, out io.Writer, a *app.App, ap storage.App) error {
	v := apiview.AppFrom(ap)
	if jsonOutput(cmd) {
		return printJSON(out, v)
	}
	ttl := func(d time.Duration) string {
		if d == 0 {
			return "deployment default"
		}
		return d.String()
	}
	fmt.Fprintf(out, "%s (id %s)\n\n", cell(ap.Name), ap.ID)
	kv(out, [][2]string{
		{"Type", v.Type}, {"Client ID", ap.ClientID}, {"Issuer", a.Apps.Issuer()},
		{"Redirect URIs", strings.Join(ap.RedirectURIs, " ")}, {"Post-logout URIs", strings.Join(ap.PostLogoutRedirectURIs, " ")},
		{"Scopes", strings.Join(append([]string{"openid"}, ap.Scopes...), " ")},
		{"Groups", strings.Join(ap.Groups, ", ")}, {"Hosts", strings.Join(ap.Hosts, " ")},
		{"Access tokens", ttl(ap.AccessTokenTTL)}, {"ID tokens", ttl(ap.IDTokenTTL)}, {"Refresh tokens", ttl(ap.RefreshTokenTTL)},
		{"Signing", ap.SigningAlg}, {"Created", when(ap.CreatedAt)}, {"Updated", when(ap.UpdatedAt)},
	})
	return nil
}

var adminAppShowCmd = appCommand("show --org ORG --app NAME", "Show an app's settings (never its secret)",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, ap storage.App) error {
		return printApp(cmd, out, a, ap)
	})

var adminAppUpdateCmd = appCommand("update --org ORG --app NAME [--name NEW] [settings…]",
	"Change an app's settings; a list flag given replaces that list",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, ap storage.App) error {
		in := apps.InputOf(ap)
		if cmd.Flags().Changed("name") {
			in.Name = flag(cmd, "name")
		}
		if err := applyAppFlags(cmd, &in); err != nil {
			return err
		}
		updated, err := a.Apps.Update(ctx, org.ID, ap.ID, in)
		if err != nil {
			return appErr(err)
		}
		if !jsonOutput(cmd) {
			fmt.Fprintf(out, "Updated %s.\n\n", cell(updated.Name))
		}
		return printApp(cmd, out, a, updated)
	})

var adminAppRemoveCmd = appCommand("remove --org ORG --app NAME", "Remove an app: its client ID and tokens stop working",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, ap storage.App) error {
		if err := a.Apps.Delete(ctx, org.ID, ap.ID); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"removed": apiview.AppFrom(ap)}, "Removed %s from %s.\n", cell(ap.Name), org.Slug)
	})

var adminAppRotateCmd = appCommand("rotate-secret --org ORG --app NAME", "Give a confidential app a new client secret, printed once; the old one stops working",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, ap storage.App) error {
		secret, err := a.Apps.RotateSecret(ctx, org.ID, ap.ID)
		if err != nil {
			return cliErr(err)
		}
		return report(cmd, out, apiview.AppSecret{ClientID: ap.ClientID, ClientSecret: secret},
			"New client secret for %s (client ID %s):\n\n    %s\n\nCopy it now: it will not be shown again. The old secret no longer works.\n",
			cell(ap.Name), ap.ClientID, secret)
	})

func init() {
	addOrgFlag(adminAppAddCmd, adminAppListCmd)
	adminAppAddCmd.Flags().String("name", "", "the app's name, unique in the organization (required)")
	adminAppAddCmd.Flags().Bool("public", false, "a public client (single-page or native app): no secret, PKCE required")
	addAppSettingFlags(adminAppAddCmd)
	adminAppUpdateCmd.Flags().String("name", "", "a new name")
	addAppSettingFlags(adminAppUpdateCmd)
	adminAppUpdateCmd.PreRunE = requires("org", "app").and(checkAppFlags)
	adminAppCmd.AddCommand(adminAppAddCmd, adminAppListCmd, adminAppShowCmd, adminAppUpdateCmd, adminAppRemoveCmd, adminAppRotateCmd)
	adminCmd.AddCommand(adminAppCmd)
}
