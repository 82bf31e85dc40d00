package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminDomainCmd = &cobra.Command{
	Use:   "domain",
	Short: "Claim and verify the email domains an organization manages (DNS TXT record)",
	Long: `An organization proves it owns an email domain by publishing a DNS TXT record
at the domain. Accounts of a verified domain are managed by the organization:
only then can SSO be enforced for them.

  gatehouse admin domain add --org acme --name corp.example     prints the record
  (publish it at your DNS provider)
  gatehouse admin domain verify --org acme --name corp.example

Verification always looks the record up in DNS, through the system resolver or
the one in dns.resolver (GATEHOUSE_DNS_RESOLVER, or --dns-resolver here). To try
it on this computer, serve the record with ` + "`gatehouse devdns`" + `.`,
}

var adminDomainAddCmd = &cobra.Command{
	Use:     "add --org ORG --name DOMAIN",
	Short:   "Claim a domain and print the TXT record to publish",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		d, err := a.Domains.Add(ctx, org.ID, flag(cmd, "name"))
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, apiview.DomainFrom(a.Domains, d))
		}
		fmt.Fprintf(out, "Added %s to %s (id %s). To prove the organization owns it, publish this DNS record:\n\n", d.Name, org.Slug, d.ID)
		printTXTRecord(out, apiview.DomainFrom(a.Domains, d).TXTRecord)
		fmt.Fprintf(out, "\nKeep it published. Then run:\n\n    gatehouse admin domain verify --org %s --name %s\n", org.Slug, d.Name)
		return nil
	}),
}

func printTXTRecord(out io.Writer, r apiview.TXTRecord) {
	fmt.Fprintf(out, "    Name   %s\n    Type   %s\n    Value  %s\n", r.Name, r.Type, r.Value)
}

var adminDomainVerifyCmd = &cobra.Command{
	Use:   "verify --org ORG --name DOMAIN [--dns-resolver HOST:PORT]",
	Short: "Look the domain's TXT record up now and mark it verified",
	Args:  cobra.NoArgs,
	PreRunE: requires("org", "name").and(func(cmd *cobra.Command) error {
		if r := flag(cmd, "dns-resolver"); r != "" {
			if _, _, err := net.SplitHostPort(r); err != nil {
				return fmt.Errorf("--dns-resolver must be host:port, e.g. 127.0.0.1:5353, not %q", r)
			}
		}
		return nil
	}),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		svc := a.Domains
		if r := flag(cmd, "dns-resolver"); r != "" {
			svc = domain.New(a.Store, r, a.Log, a.Now)
		}
		d, err := domainFlag(ctx, svc, org, flag(cmd, "name"))
		if err != nil {
			return err
		}
		wasVerified := !d.VerifiedAt.IsZero()
		if d, err = svc.Verify(ctx, org.ID, d.ID, forceFlag(cmd)); err != nil {
			return cliErr(err)
		}
		if wasVerified {
			return report(cmd, out, apiview.DomainFrom(svc, d), "%s was already verified for %s (since %s).\n", d.Name, org.Slug, when(d.VerifiedAt))
		}
		return report(cmd, out, apiview.DomainFrom(svc, d), "Verified %s for %s: its accounts are now managed by the organization.\n", d.Name, org.Slug)
	}),
}

var adminDomainListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's domains and their TXT records",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		ds, err := a.Domains.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		toJSON := func(d storage.Domain) apiview.Domain { return apiview.DomainFrom(a.Domains, d) }
		return printList(cmd, out, "domains", ds, toJSON,
			[]string{"NAME", "STATUS", "VERIFIED", "LAST CHECK", "TXT RECORD", "LAST ERROR"}, func(d storage.Domain) []string {
				status := "pending"
				if !d.VerifiedAt.IsZero() {
					status = "verified"
				}
				return []string{d.Name, status, when(d.VerifiedAt), when(d.LastCheckedAt), a.Domains.TXTRecord(d), d.LastError}
			})
	}),
}

var adminDomainRemoveCmd = &cobra.Command{
	Use:     "remove --org ORG --name DOMAIN",
	Short:   "Remove a domain: its accounts are no longer managed by the organization",
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		d, err := domainFlag(ctx, a.Domains, org, flag(cmd, "name"))
		if err != nil {
			return err
		}
		if err := a.Domains.Remove(ctx, org.ID, d.ID); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"removed": apiview.DomainFrom(a.Domains, d)}, "Removed %s from %s.\n", d.Name, org.Slug)
	}),
}

// domainFlag resolves a domain name (or ID) within org.
func domainFlag(ctx context.Context, svc *domain.Service, org storage.Organization, ref string) (storage.Domain, error) {
	d, err := svc.Find(ctx, org.ID, ref)
	if errors.Is(err, domain.ErrNotFound) {
		return d, fmt.Errorf("%s has no domain %q (see: gatehouse admin domain list --org %s)", org.Slug, ref, org.Slug)
	}
	return d, cliErr(err)
}

func init() {
	addOrgFlag(adminDomainAddCmd, adminDomainVerifyCmd, adminDomainListCmd, adminDomainRemoveCmd)
	for _, c := range []*cobra.Command{adminDomainAddCmd, adminDomainVerifyCmd, adminDomainRemoveCmd} {
		c.Flags().String("name", "", "the domain, e.g. corp.example (required)")
	}
	addForceReasonFlag(adminDomainVerifyCmd)
	adminDomainVerifyCmd.Flags().String("dns-resolver", "", "DNS server to ask, host:port (default: dns.resolver from the configuration, else the system's)")
	adminDomainCmd.AddCommand(adminDomainAddCmd, adminDomainVerifyCmd, adminDomainListCmd, adminDomainRemoveCmd)
	adminCmd.AddCommand(adminDomainCmd)
}
