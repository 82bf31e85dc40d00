package main

import (
	"errors"
	"fmt"
	"net"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/saml"
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

// devDNS is a running development DNS server.
type devDNS struct {
	addr    string
	servers []*dns.Server

	mu      sync.Mutex
	records map[string][]string // FQDN → values
}

// startDevDNS serves records on listen, a loopback host:port (port 0
// picks a port free for both UDP and TCP).
func startDevDNS(listen string, records map[string][]string) (*devDNS, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q must be host:port, e.g. 127.0.0.1:5353", listen)
	}
	if !saml.IsLoopbackHost(host) {
		return nil, fmt.Errorf("--listen %q: devdns listens on loopback addresses only (127.0.0.1, ::1, localhost)", listen)
	}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ln == nil; attempt++ {
		if attempt == 20 {
			return nil, fmt.Errorf("no port free for both UDP and TCP on %s", host)
		}
		p, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, fmt.Errorf("listen on %s (UDP): %w", listen, err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err != nil {
			_ = p.Close()
			if port != "0" {
				return nil, fmt.Errorf("listen on %s (TCP): %w", listen, err)
			}
			continue
		}
		pc, ln = p, l
	}
	s := &devDNS{addr: pc.LocalAddr().String(), records: map[string][]string{}}
	for n, vs := range records {
		s.records[n] = append([]string(nil), vs...)
	}
	handler := dns.HandlerFunc(s.serve)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			s.Close()
			return nil, errors.New("the DNS server did not start")
		}
		s.servers = append(s.servers, srv)
	}
	return s, nil
}

// Addr is the host:port the server answers on.
func (s *devDNS) Addr() string { return s.addr }

// Set replaces the TXT values of name.
func (s *devDNS) Set(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[dns.Fqdn(strings.ToLower(name))] = values
}

// Close stops the server.
func (s *devDNS) Close() {
	for _, srv := range s.servers {
		_ = srv.Shutdown()
	}
}

func (s *devDNS) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	s.mu.Lock()
	for _, q := range r.Question {
		values, known := s.records[strings.ToLower(q.Name)]
		if !known {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
			continue // the name exists, without records of that type
		}
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 5},
				Txt: chunk(v, 255),
			})
		}
	}
	s.mu.Unlock()
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size) // sets TC, so the resolver retries over TCP
	}
	_ = w.WriteMsg(m)
}

// chunk splits v into TXT character-strings of at most n bytes.
func chunk(v string, n int) []string {
	var out []string
	for len(v) > n {
		out = append(out, v[:n])
		v = v[n:]
	}
	return append(out, v)
}
