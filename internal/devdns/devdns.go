// Package devdns is a small authoritative DNS server that answers TXT
// queries from records held in memory, on a loopback address, over UDP and
// TCP on one port.
//
// Gatehouse verifies a domain only by looking its TXT record up, so
// something has to answer that query on a developer's machine
// (`gatehouse devdns`) and in tests, which then go through the same
// resolver path as production. Like a real server it truncates UDP answers
// to the size the client advertises, so a large answer makes the resolver
// retry over TCP. It is a development tool: `gatehouse serve` never starts
// it, and it refuses addresses other than loopback ones.
package devdns

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// The errors Start returns for an address it refuses, wrapped with the
// address; callers that took it from a flag can name the flag instead.
var (
	ErrNotHostPort = errors.New("must be host:port, e.g. 127.0.0.1:5353")
	ErrNotLoopback = errors.New("devdns listens on loopback addresses only (127.0.0.1, ::1, localhost)")
)

// maxTXTString is the longest character-string a TXT record holds;
// longer values are split into several, which resolvers join back.
const maxTXTString = 255

// Server is a running DNS server. Its methods may be called while it
// answers queries.
type Server struct {
	addr    string
	servers []*dns.Server

	mu       sync.Mutex
	records  map[string][][]string // FQDN → records, each a list of character-strings
	servfail map[string]bool       // FQDN → answer SERVFAIL

	queries    atomic.Int64
	tcpQueries atomic.Int64
}

// Start serves records (domain name → TXT values) on addr, a loopback
// host:port; port 0 picks a port free for both UDP and TCP. It answers
// "no such domain" for names it has no records for.
func Start(addr string, records map[string][]string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q %w", addr, ErrNotHostPort)
	}
	if !saml.IsLoopbackHost(host) {
		return nil, fmt.Errorf("%q: %w", addr, ErrNotLoopback)
	}
	// Take the UDP port, then the same port for TCP; with port 0 another
	// process may hold that TCP port, so try a few times.
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ln == nil; attempt++ {
		if attempt == 20 {
			return nil, fmt.Errorf("no port free for both UDP and TCP on %s", host)
		}
		p, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, fmt.Errorf("listen on %s (UDP): %w", addr, err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err != nil {
			_ = p.Close()
			if port != "0" {
				return nil, fmt.Errorf("listen on %s (TCP): %w", addr, err)
			}
			continue
		}
		pc, ln = p, l
	}
	s := &Server{addr: pc.LocalAddr().String(), records: map[string][][]string{}, servfail: map[string]bool{}}
	for name, values := range records {
		s.Set(name, values...)
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
			_, _ = pc.Close(), ln.Close()
			return nil, errors.New("the DNS server did not start")
		}
		s.servers = append(s.servers, srv)
	}
	return s, nil
}

// Addr is the host:port the server answers on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() {
	for _, srv := range s.servers {
		_ = srv.Shutdown()
	}
}

// Set replaces the TXT records of name, one record a value. With no values
// the name exists but has no records.
func (s *Server) Set(name string, values ...string) {
	records := make([][]string, 0, len(values))
	for _, v := range values {
		records = append(records, SplitTXT(v))
	}
	s.SetRecords(name, records...)
}

// Add adds one TXT record with value to name.
func (s *Server) Add(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fq := fqdn(name)
	s.records[fq] = append(s.records[fq], SplitTXT(value))
}

// SetRecords replaces the TXT records of name with records given as their
// character-strings, each at most 255 bytes: a value split where a DNS
// console might split it.
func (s *Server) SetRecords(name string, records ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[fqdn(name)] = records
}

// SetServfail makes queries for name fail with SERVFAIL (on) or be answered
// again (off).
func (s *Server) SetServfail(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail[fqdn(name)] = on
}

// Queries counts the queries answered, over UDP and TCP.
func (s *Server) Queries() int64 { return s.queries.Load() }

// TCPQueries counts the queries answered over TCP.
func (s *Server) TCPQueries() int64 { return s.tcpQueries.Load() }

// SplitTXT splits a TXT value into the character-strings of one record:
// pieces of at most 255 bytes.
func SplitTXT(v string) []string {
	var out []string
	for len(v) > maxTXTString {
		out = append(out, v[:maxTXTString])
		v = v[maxTXTString:]
	}
	return append(out, v)
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
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
		records, known := s.records[name]
		if !known {
			m.Rcode = dns.RcodeNameError // NXDOMAIN
			continue
		}
		if q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
			continue // the name exists, without records of that type
		}
		for _, rec := range records {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 5},
				Txt: rec,
			})
		}
	}
	s.mu.Unlock()
	opt := r.IsEdns0()
	if opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if !overTCP {
		size := dns.MinMsgSize
		if opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size) // sets TC, so the resolver retries over TCP
	}
	_ = w.WriteMsg(m)
}
