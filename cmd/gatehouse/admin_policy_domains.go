package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminPolicyDomainCmd = &cobra.Command{
	Use:   "domain",
	Short: "Cover the accounts at a verified email domain with a policy",
	Long: `A policy can name verified email domains of its organization: every account
whose email is at the domain falls under the policy, unless it was put under a
policy by name (explicit member) or one of its IdP groups is named by a policy.
The order is: explicit member, IdP group, email domain, default. A domain is
named by at most one policy.

A change that would leave no owner able to sign in without the IdP, or take
the last break-glass owner of an organization that enforces SSO, is refused;
--force-reason makes it anyway, and the reason is recorded in the audit log.`,
}

var adminPolicyDomainAddCmd = &cobra.Command{
	Use:     "add --org ORG --policy NAME --domain DOMAIN",
	Short:   "Make a policy cover the accounts at a verified domain",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "policy", "domain"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		p, err := policyFlag(ctx, a, org, "policy", flag(cmd, "policy"))
		if err != nil {
			return err
		}
		if err := a.Policies.AddDomain(ctx, org.ID, p.ID, flag(cmd, "domain"), forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		return coverageReport(ctx, a, cmd, out, org, p, "The policy %q covers the accounts at %s now: %s.\n", flag(cmd, "domain"))
	}),
}

var adminPolicyDomainRemoveCmd = &cobra.Command{
	Use:     "remove --org ORG --policy NAME --domain DOMAIN",
	Short:   "Stop a policy covering the accounts at a domain (they fall to the default)",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "policy", "domain"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		p, err := policyFlag(ctx, a, org, "policy", flag(cmd, "policy"))
		if err != nil {
			return err
		}
		if err := a.Policies.RemoveDomain(ctx, org.ID, p.ID, flag(cmd, "domain"), forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		return coverageReport(ctx, a, cmd, out, org, p, "The policy %q no longer covers %s; it covers %s.\n", flag(cmd, "domain"))
	}),
}

// coverageReport prints what a domain change did and whom the policy
// covers afterwards.
func coverageReport(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, p storage.Policy, format, dom string) error {
	cov, err := a.Policies.Coverage(ctx, org.ID, p.ID)
	if err != nil {
		return cliErr(err)
	}
	return report(cmd, out, map[string]any{"policy_id": p.ID, "domains": cov.Domains, "covers": cov.Words(), "total": cov.Total},
		format, p.Name, dom, cov.Words())
}

func init() {
	addOrgFlag(adminPolicyDomainAddCmd, adminPolicyDomainRemoveCmd)
	addForceReasonFlag(adminPolicyDomainAddCmd, adminPolicyDomainRemoveCmd)
	for _, c := range []*cobra.Command{adminPolicyDomainAddCmd, adminPolicyDomainRemoveCmd} {
		c.Flags().String("policy", "", "the policy's name (required)")
		c.Flags().String("domain", "", "a domain the organization verified, e.g. corp.example (required)")
	}
	adminPolicyDomainCmd.AddCommand(adminPolicyDomainAddCmd, adminPolicyDomainRemoveCmd)
	adminPolicyCmd.AddCommand(adminPolicyDomainCmd)
}
