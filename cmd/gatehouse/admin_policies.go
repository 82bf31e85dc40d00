package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminPolicyCmd = &cobra.Command{
	Use:   "policy",
	Short: "Set authentication policies: who must sign in through SSO",
	Long: `Every managed account falls under exactly one authentication policy: a named
policy it was put under, else the organization's default policy ("default").

SSO is enforced, optional or off. Enforcing it through a connection nobody has
completed a test sign-in through is refused, because a wrong certificate or
entity ID would lock everyone out; --force enforces anyway, and the override is
recorded in the audit log.

A change that would leave no owner able to sign in without the IdP (every
owner under enforced SSO) is refused with an explanation; --force-reason makes
it anyway, and the reason is recorded in the audit log.`,
}

// ssoFlag checks --sso before anything is opened.
func ssoFlag(cmd *cobra.Command) (string, error) {
	switch v := flag(cmd, "sso"); v {
	case "":
		return "", nil // settings only: the SSO mode stays as it is
	case storage.SSOEnforced, storage.SSOOptional, storage.SSOOff:
		return v, nil
	default:
		return "", fmt.Errorf("--sso must be enforced, optional or off, not %q", v)
	}
}

// policyFlag resolves a policy name (or ID, or "default") within org.
func policyFlag(ctx context.Context, a *app.App, org storage.Organization, flagName, ref string) (storage.Policy, error) {
	p, err := a.Policies.Get(ctx, org.ID, ref)
	if errors.Is(err, account.ErrNotFound) {
		if policy.IsDefaultRef(ref) {
			return p, fmt.Errorf("%s has no default policy yet (it is stored, with SSO off, by the first policy set)", org.Slug)
		}
		return p, fmt.Errorf("--%s: %s has no policy %q (see: gatehouse admin policy list --org %s)", flagName, org.Slug, ref, org.Slug)
	}
	return p, cliErr(err)
}

func policyJSON(ctx context.Context, a *app.App, org storage.Organization, ps ...storage.Policy) ([]apiview.Policy, error) {
	return apiview.PoliciesFrom(ctx, a.Accounts, a.IdPs, a.Policies, org.ID, ps)
}

func connectionName(slug string) string {
	if slug == "" {
		return "no connection"
	}
	return slug
}

var adminPolicySetCmd = &cobra.Command{
	Use:   "set --org ORG [--name default] [--sso enforced|optional|off] [--idp SLUG] [--force] [--mfa required|optional] [--failback allowed|denied] [--idle-timeout D] [--max-lifetime D] [--failback-window DAYS] [--auto-failback-after D] [--add-group G] [--remove-group G]",
	Short: "Set a policy's SSO mode, IdP connection and settings (creates a named policy that does not exist)",
	Example: `  gatehouse admin policy set --org acme --sso enforced --idp contoso-entra
  gatehouse admin policy set --org acme --name "Break glass" --sso off
  gatehouse admin policy set --org acme --sso enforced --idp contoso-entra --force   # no test sign-in yet (audited)
  gatehouse admin policy set --org acme --name "Break glass" --mfa required --idle-timeout 30m --max-lifetime 8h
  gatehouse admin policy set --org acme --name Engineers --add-group eng@contoso --failback-window 14`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name").and(valid(ssoFlag)).and(valid(policySettingsFlags)).and(somethingToSet),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		sso, _ := ssoFlag(cmd)
		settings, _ := policySettingsFlags(cmd)
		var ssoPtr *string
		if sso != "" {
			ssoPtr = &sso
		}
		force := boolFlag(cmd, "force")
		name := strings.TrimSpace(flag(cmd, "name"))
		var connID *string
		var conn storage.IdPConnection
		if ref := flag(cmd, "idp"); ref != "" {
			c, err := a.IdPs.Find(ctx, org.ID, ref)
			if errors.Is(err, account.ErrNotFound) {
				return fmt.Errorf("--idp: %s has no IdP connection %q (see: gatehouse admin idp list --org %s)", org.Slug, ref, org.Slug)
			} else if err != nil {
				return err
			}
			conn, connID = c, &c.ID
		}

		// The default policy is stored first if need be; another name
		// that does not exist is created.
		before, err := a.Policies.GetForChange(ctx, org.ID, name)
		var p storage.Policy
		created := false
		switch {
		case err == nil:
			p, err = a.Policies.Update(ctx, org.ID, before.ID, policy.UpdateInput{SSO: ssoPtr, Connection: connID, Force: force, ForceReason: flag(cmd, "force-reason"), Settings: settings})
		case errors.Is(err, account.ErrNotFound):
			id := ""
			if connID != nil {
				id = *connID
			}
			if sso == "" {
				return fmt.Errorf("--sso: %s has no policy %q yet; give --sso to create it", org.Slug, name)
			}
			var lf []lockout.Force
			if reason := flag(cmd, "force-reason"); reason != "" {
				lf = []lockout.Force{{Reason: reason}}
			}
			p, err = a.Policies.CreateWith(ctx, org.ID, policy.CreateInput{Name: name, SSO: sso, Connection: id, Force: force,
				Settings: settings, Lockout: lf})
			created = true
		}
		if err != nil {
			return cliErr(err)
		}
		list, err := policyJSON(ctx, a, org, p)
		if err != nil {
			return err
		}
		if jsonOutput(cmd) {
			return printJSON(out, list[0])
		}
		slug := list[0].ConnectionSlug
		mode := "SSO " + p.SSO
		if p.SSO != storage.SSOOff {
			mode += " through " + connectionName(slug)
		}
		if created && storage.WithPolicyDefaults(p).MFA == storage.MFARequired {
			// README step 5 sets --mfa required: say it was taken.
			mode += ", second factor required"
		}
		switch {
		case created:
			fmt.Fprintf(out, "Created the policy %q for %s: %s.\n", p.Name, org.Slug, mode)
		case p.Version == before.Version && before.SSO == p.SSO && before.ConnectionID == p.ConnectionID:
			fmt.Fprintf(out, "The policy %q already has %s; nothing changed.\n", p.Name, mode)
		case before.SSO == p.SSO:
			fmt.Fprintf(out, "Updated the policy %q (%s).\n", p.Name, mode)
		default:
			fmt.Fprintf(out, "The policy %q now has %s (was SSO %s).\n", p.Name, mode, before.SSO)
		}
		if force && p.SSO == storage.SSOEnforced && connID != nil && conn.TestedAt.IsZero() {
			fmt.Fprintf(out, "Enforced without a completed test sign-in through %s (--force); the override is recorded in the audit log.\n", conn.Slug)
		}
		return nil
	}),
}

var adminPolicyListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's policies, the default first",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		ps, err := a.Policies.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		list, err := policyJSON(ctx, a, org, ps...)
		if err != nil {
			return err
		}
		err = printList(cmd, out, "policies", list, func(p apiview.Policy) apiview.Policy { return p },
			[]string{"NAME", "DEFAULT", "SSO", "IDP", "MEMBERS", "ID"}, func(p apiview.Policy) []string {
				def, members := "", strconv.Itoa(len(p.Members))
				if p.IsDefault {
					def, members = "yes", "everyone else"
				}
				return []string{p.Name, def, p.SSO, p.ConnectionSlug, members, p.ID}
			})
		if err != nil || jsonOutput(cmd) {
			return err
		}
		if len(list) == 0 || !list[0].IsDefault {
			fmt.Fprintln(out, "(No default policy is stored yet: everyone not under a named policy signs in with a password.)")
		}
		return nil
	}),
}

var adminPolicyShowCmd = &cobra.Command{
	Use:     "show --org ORG [--name default]",
	Short:   "Show a policy and its members",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		p, err := policyFlag(ctx, a, org, "name", flag(cmd, "name"))
		if err != nil {
			return err
		}
		list, err := policyJSON(ctx, a, org, p)
		if err != nil {
			return err
		}
		v := list[0]
		if jsonOutput(cmd) {
			return printJSON(out, v)
		}
		cov, err := a.Policies.Coverage(ctx, org.ID, p.ID)
		if err != nil {
			return cliErr(err)
		}
		covers := cov.Words()
		members := strings.Join(v.Members, ", ")
		if v.IsDefault {
			members = "everyone not under a named policy"
		} else if members == "" {
			members = "none"
		}
		fmt.Fprintf(out, "%s\n", cell(v.Name))
		kv(out, [][2]string{
			{"ID", v.ID},
			{"Default", map[bool]string{true: "yes", false: "no"}[v.IsDefault]},
			{"SSO", v.SSO},
			{"IdP connection", connectionName(v.ConnectionSlug)},
			{"Members", members},
			{"IdP groups", orNone(strings.Join(v.Groups, ", "))},
			{"Email domains", orNone(strings.Join(v.Domains, ", "))},
			{"Covers", covers},
			{"MFA", v.MFA},
			{"Failback", fmt.Sprintf("%s (window %d days)", v.Failback, v.FailbackWindowDays)},
			{"Idle timeout", orDeployment(p.IdleTimeout)},
			{"Max lifetime", orDeployment(p.MaxLifetime)},
			{"Automatic failback", map[bool]string{true: "off", false: "after " + p.AutoFailbackAfter.String()}[p.AutoFailbackAfter == 0]},
			{"Updated", when(p.UpdatedAt)},
		})
		return nil
	}),
}

var adminPolicyDeleteCmd = &cobra.Command{
	Use:     "delete --org ORG --name NAME",
	Short:   "Delete a named policy; its members fall back to the default policy",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		p, err := policyFlag(ctx, a, org, "name", flag(cmd, "name"))
		if err != nil {
			return err
		}
		if err := a.Policies.Delete(ctx, org.ID, p.ID, forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"deleted": p.ID}, "Deleted the policy %q; its members are under the default policy now.\n", p.Name)
	}),
}

var adminPolicyMemberCmd = &cobra.Command{Use: "member", Short: "Put members under a policy, or send them back to the default"}

var adminPolicyMemberAddCmd = &cobra.Command{
	Use:     "add --org ORG --policy NAME --email EMAIL",
	Short:   "Put a member under a policy (out of any other)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "policy", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		ref, policyID, shown := flag(cmd, "policy"), "", "the default policy"
		if !policy.IsDefaultRef(ref) {
			p, err := policyFlag(ctx, a, org, "policy", ref)
			if err != nil {
				return err
			}
			policyID, shown = p.ID, fmt.Sprintf("the policy %q", p.Name)
		}
		if err := a.Policies.SetMember(ctx, org.ID, m.Email, policyID, forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"email": m.Email, "policy_id": policyID}, "%s is now under %s.\n", m.Email, shown)
	}),
}

var adminPolicyMemberRemoveCmd = &cobra.Command{
	Use:     "remove --org ORG --policy NAME --email EMAIL",
	Short:   "Send a member of a policy back to the default policy",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "policy", "email"),
	RunE: withMember(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, m storage.Account) error {
		p, err := policyFlag(ctx, a, org, "policy", flag(cmd, "policy"))
		if err != nil {
			return err
		}
		if err := a.Policies.RemoveMember(ctx, org.ID, p.ID, m.Email, forceFlag(cmd)); err != nil {
			if errors.Is(err, account.ErrNotFound) {
				return fmt.Errorf("%s is not a member of the policy %q", m.Email, p.Name)
			}
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"email": m.Email, "policy_id": ""}, "%s left the policy %q and is under the default policy now.\n", m.Email, p.Name)
	}),
}

func init() {
	addOrgFlag(adminPolicySetCmd, adminPolicyListCmd, adminPolicyShowCmd, adminPolicyDeleteCmd)
	addMemberFlags(adminPolicyMemberAddCmd, adminPolicyMemberRemoveCmd)
	addForceReasonFlag(adminPolicySetCmd, adminPolicyDeleteCmd, adminPolicyMemberAddCmd, adminPolicyMemberRemoveCmd)
	adminPolicySetCmd.Flags().String("name", policy.DefaultRef, `the policy; "default" is the organization's default policy`)
	adminPolicySetCmd.Flags().String("sso", "", "enforced, optional or off (required)")
	adminPolicySetCmd.Flags().String("idp", "", "the IdP connection's slug (required unless SSO is off, or the policy has one)")
	addPolicySettingsFlags(adminPolicySetCmd)
	adminPolicySetCmd.Flags().Bool("force", false, "enforce SSO through a connection without a completed test sign-in (audited)")
	adminPolicyShowCmd.Flags().String("name", policy.DefaultRef, `the policy; "default" is the organization's default policy`)
	adminPolicyDeleteCmd.Flags().String("name", "", "the policy (required)")
	for _, c := range []*cobra.Command{adminPolicyMemberAddCmd, adminPolicyMemberRemoveCmd} {
		c.Flags().String("policy", "", `the policy's name ("default" for the default policy) (required)`)
	}
	adminPolicyMemberCmd.AddCommand(adminPolicyMemberAddCmd, adminPolicyMemberRemoveCmd)
	adminPolicyCmd.AddCommand(adminPolicySetCmd, adminPolicyListCmd, adminPolicyShowCmd, adminPolicyDeleteCmd, adminPolicyMemberCmd)
	adminCmd.AddCommand(adminPolicyCmd)
}
