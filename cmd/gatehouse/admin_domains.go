package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
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
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org", "name") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		d, err := a.Domains.Add(ctx, org.ID, flag(cmd, "name"))
		if err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, adminapi.DomainFrom(a.Domains, d))
		}
		fmt.Fprintf(out, "Added %s to %s (id %s). To prove the organization owns it, publish this DNS record:\n\n", d.Name, org.Slug, d.ID)
		printTXTRecord(out, adminapi.DomainFrom(a.Domains, d).TXTRecord)
		fmt.Fprintf(out, "\nKeep it published. Then run:\n\n    gatehouse admin domain verify --org %s --name %s\n", org.Slug, d.Name)
		return nil
	}),
}

func printTXTRecord(out io.Writer, r adminapi.TXTRecord) {
	fmt.Fprintf(out, "    Name   %s\n    Type   %s\n    Value  %s\n", r.Name, r.Type, r.Value)
}

var adminDomainVerifyCmd = &cobra.Command{
	Use:   "verify --org ORG --name DOMAIN [--dns-resolver HOST:PORT]",
	Short: "Look the domain's TXT record up now and mark it verified",
	Args:  cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "org", "name"); err != nil {
			return err
		}
		if r := flag(cmd, "dns-resolver"); r != "" {
			if _, _, err := net.SplitHostPort(r); err != nil {
				return fmt.Errorf("--dns-resolver must be host:port, e.g. 127.0.0.1:5353, not %q", r)
			}
		}
		return nil
	},
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		svc := a.Domains
		if r := flag(cmd, "dns-resolver"); r != "" {
			svc = domain.New(a.Store, r, a.Log, a.Now)
		}
		d, err := domainFlag(ctx, svc, org, flag(cmd, "name"))
		if err != nil {
			return err
		}
		wasVerified := !d.VerifiedAt.IsZero()
		if d, err = svc.Verify(ctx, org.ID, d.ID); err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, adminapi.DomainFrom(svc, d))
		}
		if wasVerified {
			_, err = fmt.Fprintf(out, "%s was already verified for %s (since %s).\n", d.Name, org.Slug, when(d.VerifiedAt))
			return err
		}
		_, err = fmt.Fprintf(out, "Verified %s for %s: its accounts are now managed by the organization.\n", d.Name, org.Slug)
		return err
	}),
}

var adminDomainListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's domains and their TXT records",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		ds, err := a.Domains.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		list := make([]adminapi.Domain, 0, len(ds))
		for _, d := range ds {
			list = append(list, adminapi.DomainFrom(a.Domains, d))
		}
		if jsonOutput(cmd) {
			return printJSON(out, map[string]any{"domains": list})
		}
		rows := make([][]string, 0, len(list))
		for i, d := range list {
			status := "pending"
			if d.Verified {
				status = "verified"
			}
			rows = append(rows, []string{d.Name, status, when(ds[i].VerifiedAt), when(ds[i].LastCheckedAt), d.TXTRecord.Value, d.LastError})
		}
		return table(out, []string{"NAME", "STATUS", "VERIFIED", "LAST CHECK", "TXT RECORD", "LAST ERROR"}, rows)
	}),
}

var adminDomainRemoveCmd = &cobra.Command{
	Use:     "remove --org ORG --name DOMAIN",
	Short:   "Remove a domain: its accounts are no longer managed by the organization",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "org", "name") },
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		org, err := orgFlag(ctx, a, cmd)
		if err != nil {
			return err
		}
		d, err := domainFlag(ctx, a.Domains, org, flag(cmd, "name"))
		if err != nil {
			return err
		}
		if err := a.Domains.Remove(ctx, org.ID, d.ID); err != nil {
			return cliErr(err)
		}
		if jsonOutput(cmd) {
			return printJSON(out, map[string]any{"removed": adminapi.DomainFrom(a.Domains, d)})
		}
		_, err = fmt.Fprintf(out, "Removed %s from %s.\n", d.Name, org.Slug)
		return err
	}),
}

// domainFlag resolves a domain name (or ID) within org.
func domainFlag(ctx context.Context, svc *domain.Service, org storage.Organization, ref string) (storage.Domain, error) {
	d, err := adminapi.FindDomain(ctx, svc, org.ID, ref)
	if errors.Is(err, domain.ErrNotFound) {
		return d, fmt.Errorf("%s has no domain %q (see: gatehouse admin domain list --org %s)", org.Slug, ref, org.Slug)
	}
	return d, cliErr(err)
}

func init() {
	for _, c := range []*cobra.Command{adminDomainAddCmd, adminDomainVerifyCmd, adminDomainListCmd, adminDomainRemoveCmd} {
		c.Flags().String("org", "", "organization slug or ID (required)")
		if c != adminDomainListCmd {
			c.Flags().String("name", "", "the domain, e.g. corp.example (required)")
		}
	}
	adminDomainVerifyCmd.Flags().String("dns-resolver", "", "DNS server to ask, host:port (default: dns.resolver from the configuration, else the system's)")
	adminDomainCmd.AddCommand(adminDomainAddCmd, adminDomainVerifyCmd, adminDomainListCmd, adminDomainRemoveCmd)
	adminCmd.AddCommand(adminDomainCmd)
}
