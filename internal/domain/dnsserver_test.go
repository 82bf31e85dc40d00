package domain_test

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer is an in-process authoritative DNS server (github.com/miekg/dns)
// on 127.0.0.1, UDP and TCP on one port, answering TXT queries from a map
// the test controls. It truncates UDP answers to the client's advertised
// size as a real server does, so large answers make the resolver retry
// over TCP.
type dnsServer struct {
	addr string

	mu       sync.Mutex
	txt      map[string][][]string // FQDN → records, each a list of strings
	servfail map[string]bool

	queries    atomic.Int64
	tcpQueries atomic.Int64
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	s := &dnsServer{txt: map[string][][]string{}, servfail: map[string]bool{}}
	var pc net.PacketConn
	var ln net.Listener
	// Take a free UDP port, then the same port for TCP; another process may
	// hold that TCP port, so try a few times.
	for attempt := 0; ln == nil; attempt++ {
		if attempt == 20 {
			t.Fatal("no UDP+TCP port pair free on 127.0.0.1")
		}
		p, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen udp: %v", err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err != nil {
			_ = p.Close()
			continue
		}
		pc, ln = p, l
	}
	s.addr = pc.LocalAddr().String()
	handler := dns.HandlerFunc(s.serve)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("DNS server did not start")
		}
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// setTXT replaces the TXT records of name; each record is one or more strings.
func (s *dnsServer) setTXT(name string, records ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[dns.Fqdn(strings.ToLower(name))] = records
}

// addTXT adds one single-string TXT record to name.
func (s *dnsServer) addTXT(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fq := dns.Fqdn(strings.ToLower(name))
	s.txt[fq] = append(s.txt[fq], []string{value})
}

// setServfail makes queries for name fail with SERVFAIL.
func (s *dnsServer) setServfail(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail[dns.Fqdn(strings.ToLower(name))] = on
}

func (s *dnsServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)
	if overTCP {
		s.tcpQueries.Add(1)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	s.mu.Lock()
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		if s.servfail[name] {
			m.Rcode = dns.RcodeServerFailure
			continue
		}
		records, known := s.txt[name]
		if !known {
			m.Rcode = dns.RcodeNameError // NXDOMAIN
			continue
		}
		if q.Qtype != dns.TypeTXT {
			continue // NOERROR, no data
		}
		for _, rec := range records {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: rec,
			})
		}
	}
	s.mu.Unlock()
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if !overTCP {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// chunks splits v into strings of at most n bytes, as TXT records carry
// values longer than 255 bytes.
func chunks(v string, n int) []string {
	var out []string
	for len(v) > n {
		out = append(out, v[:n])
		v = v[n:]
	}
	return append(out, v)
}
