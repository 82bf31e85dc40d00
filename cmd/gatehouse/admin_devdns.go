package main

import (
	"errors"
	"fmt"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/domain"
)

// devdns is the honest local path for domain verification: Gatehouse does
// not mark a domain verified without DNS, so on a laptop something has to
// answer the TXT query. This is a tiny authoritative server for exactly the
// records given; Gatehouse is pointed at it with dns.resolver. Like devidp,
// `serve` never includes it.

var devdnsCmd = &cobra.Command{
	Use:   "devdns --record DOMAIN=VALUE [--record …]",
	Short: "Serve domain-verification TXT records on this computer, for trying Gatehouse locally",
	Long: `Serve DNS TXT records on a loopback address, so domain verification can be
tried on this computer without publishing records in real DNS.

Gatehouse verifies a domain only by looking up its TXT record; there is no
switch that skips the check. To try SSO locally, add the domain, serve the
record it prints with this command, and point Gatehouse's resolver at it:

  gatehouse admin domain add --org acme --name corp.example
  gatehouse devdns --record corp.example=gatehouse-verification=…
  GATEHOUSE_DNS_RESOLVER=127.0.0.1:5353 gatehouse admin domain verify --org acme --name corp.example

(or set dns.resolver: 127.0.0.1:5353 in the configuration, so the console's
"Verify" button and ` + "`gatehouse serve`" + ` use it too). It answers TXT queries for the
names given and "no such domain" for everything else. It listens on loopback
addresses only and is a development tool: never point a production Gatehouse
at it.`,
	Example: `  gatehouse devdns --record corp.example=gatehouse-verification=3Yc2v9KqQ0eHkF1b7mW4xT8sRzLpN6aD
  gatehouse devdns --listen 127.0.0.1:5300 --record a.example=… --record b.example=…`,
	Args: cobra.NoArgs,
	RunE: runDevDNS,
}

func init() {
	f := devdnsCmd.Flags()
	f.String("listen", "127.0.0.1:5353", "loopback address to serve on (UDP and TCP)")
	f.StringArray("record", nil, "a TXT record as DOMAIN=VALUE (repeatable; several values per domain are fine)")
	rootCmd.AddCommand(devdnsCmd)
}

func runDevDNS(cmd *cobra.Command, _ []string) error {
	listen := flag(cmd, "listen")
	specs, _ := cmd.Flags().GetStringArray("record")
	records, err := parseDevDNSRecords(specs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := startDevDNS(listen, records)
	if err != nil {
		return err
	}
	defer s.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Development DNS server for domain verification — never for production.\n\n")
	fmt.Fprintf(out, "listening on %s (UDP and TCP)\n\n", s.Addr())
	names := make([]string, 0, len(records))
	for n := range records {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := [][]string{}
	for _, n := range names {
		for _, v := range records[n] {
			rows = append(rows, []string{strings.TrimSuffix(n, "."), "TXT", v})
		}
	}
	if err := table(out, []string{"NAME", "TYPE", "VALUE"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nPoint Gatehouse at it with GATEHOUSE_DNS_RESOLVER=%s (or dns.resolver in the configuration),\n", s.Addr())
	fmt.Fprintf(out, "or --dns-resolver %s on `gatehouse admin domain verify`. Stop with Ctrl-C.\n", s.Addr())
	<-ctx.Done()
	return nil
}

// parseDevDNSRecords reads DOMAIN=VALUE specs into FQDN → values.
func parseDevDNSRecords(specs []string) (map[string][]string, error) {
	if len(specs) == 0 {
		return nil, errors.New("--record is required: give the TXT record to serve as DOMAIN=VALUE, e.g. --record corp.example=gatehouse-verification=…")
	}
	out := map[string][]string{}
	for _, spec := range specs {
		name, value, ok := strings.Cut(spec, "=")
		value = strings.TrimSpace(value)
		if !ok || value == "" {
			return nil, fmt.Errorf("--record %q: write it as DOMAIN=VALUE, e.g. corp.example=gatehouse-verification=…", spec)
		}
		norm, err := domain.Normalize(name)
		if err != nil {
			return nil, fmt.Errorf("--record %q: %v", spec, err)
		}
		// A TXT string holds at most 255 bytes; longer values are split
		// into several strings, which resolvers join back.
		if len(value) > 4000 {
			return nil, fmt.Errorf("--record %q: the value is longer than 4000 characters", spec)
		}
		fq := dns.Fqdn(norm)
		out[fq] = append(out[fq], value)
	}
	return out, nil
}

// startDevDNS starts the server on listen (--listen), naming the flag in
// the errors about the address itself.
func startDevDNS(listen string, records map[string][]string) (*devdns.Server, error) {
	s, err := devdns.Start(listen, records)
	switch {
	case errors.Is(err, devdns.ErrNotHostPort):
		return nil, fmt.Errorf("--listen %q %w", listen, devdns.ErrNotHostPort)
	case errors.Is(err, devdns.ErrNotLoopback):
		return nil, fmt.Errorf("--listen %q: %w", listen, devdns.ErrNotLoopback)
	}
	return s, err
}
