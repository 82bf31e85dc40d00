package devdns_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/gatehouse-id/gatehouse/internal/devdns"
)

func start(t *testing.T, records map[string][]string) *devdns.Server {
	t.Helper()
	s, err := devdns.Start("127.0.0.1:0", records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// resolver asks s, as Gatehouse does with dns.resolver set: the Go
// resolver, retrying over TCP when a UDP answer is truncated.
func resolver(s *devdns.Server) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr())
	}}
}

// query sends one question over UDP and returns the raw answer.
func query(t *testing.T, s *devdns.Server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := new(dns.Client).Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func TestLookups(t *testing.T) {
	long := strings.Repeat("k", 300)
	s := start(t, map[string][]string{"Corp.Example": {"gatehouse-verification=abc", "v=spf1 -all"}})
	s.Add("corp.example.", long)
	s.Set("empty.example")
	s.SetRecords("split.example", []string{"gatehouse-", "verification=xyz"})

	r := resolver(s)
	for name, want := range map[string][]string{
		"CORP.example":  {"gatehouse-verification=abc", "v=spf1 -all", long},
		"split.example": {"gatehouse-verification=xyz"}, // the strings of one record are joined
	} {
		if got, err := r.LookupTXT(t.Context(), name); err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupTXT(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"other.example", dns.TypeTXT, dns.RcodeNameError},
		{"empty.example", dns.TypeTXT, dns.RcodeSuccess}, // the name exists, without records
		{"corp.example", dns.TypeA, dns.RcodeSuccess},    // records of another type only
	} {
		if m := query(t, s, c.name, c.qtype); m.Rcode != c.rcode || len(m.Answer) != 0 || !m.Authoritative {
			t.Errorf("%s %s = %s", dns.TypeToString[c.qtype], c.name, m)
		}
	}
	if m := query(t, s, "corp.example", dns.TypeTXT); len(m.Answer) != 3 || len(m.Answer[2].(*dns.TXT).Txt) != 2 {
		t.Errorf("a 300-byte value is not two character-strings:\n%s", m)
	}
}

func TestLargeAnswersGoOverTCP(t *testing.T) {
	s := start(t, nil)
	var values []string
	for range 4 {
		values = append(values, strings.Repeat("M", 600))
	}
	s.Set("long.example", values...)
	if m := query(t, s, "long.example", dns.TypeTXT); !m.Truncated {
		t.Fatalf("a %d-byte answer over UDP is not truncated", 4*600)
	}
	tcp := s.TCPQueries()
	got, err := resolver(s).LookupTXT(t.Context(), "long.example")
	if err != nil || len(got) != 4 || got[3] != values[3] {
		t.Fatalf("LookupTXT = %d records, %v", len(got), err)
	}
	if s.TCPQueries() == tcp || s.Queries() <= s.TCPQueries() {
		t.Errorf("queries %d, over TCP %d (was %d): the resolver did not retry over TCP", s.Queries(), s.TCPQueries(), tcp)
	}
}

func TestServfail(t *testing.T) {
	s := start(t, map[string][]string{"broken.example": {"x"}})
	s.SetServfail("Broken.Example", true)
	if m := query(t, s, "broken.example", dns.TypeTXT); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode = %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
	}
	s.SetServfail("broken.example", false)
	if m := query(t, s, "broken.example", dns.TypeTXT); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Errorf("after SERVFAIL is off: %s", m)
	}
}

func TestRefusedAddresses(t *testing.T) {
	for addr, want := range map[string]error{
		"0.0.0.0:5353":  devdns.ErrNotLoopback,
		"192.0.2.1:53":  devdns.ErrNotLoopback,
		"[::]:5353":     devdns.ErrNotLoopback,
		"localhost":     devdns.ErrNotHostPort,
		"127.0.0.1":     devdns.ErrNotHostPort,
		"example.com:0": devdns.ErrNotLoopback,
	} {
		s, err := devdns.Start(addr, nil)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, want) {
			t.Errorf("Start(%q) = %v, want %v", addr, err, want)
		}
	}
}

func TestSplitTXT(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{{0, []int{0}}, {255, []int{255}}, {256, []int{255, 1}}, {600, []int{255, 255, 90}}} {
		var got []int
		for _, p := range devdns.SplitTXT(strings.Repeat("x", c.n)) {
			got = append(got, len(p))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("SplitTXT(%d bytes) = %v, want %v", c.n, got, c.want)
		}
	}
}
