package adminapi_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer is an in-process DNS server (github.com/miekg/dns) on
// 127.0.0.1 over UDP, answering TXT queries from a map the test controls
// and NXDOMAIN for any other name: domain verification goes through a real
// resolver path, as in production.
type dnsServer struct {
	addr string
	mu   sync.Mutex
	txt  map[string][]string // FQDN → single-string records
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	s := &dnsServer{addr: pc.LocalAddr().String(), txt: map[string][]string{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("DNS server did not start")
	}
	t.Cleanup(func() { _ = srv.Shutdown() })
	return s
}

// addTXT publishes a TXT record at name.
func (s *dnsServer) addTXT(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fq := dns.Fqdn(strings.ToLower(name))
	s.txt[fq] = append(s.txt[fq], value)
}

func (s *dnsServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	s.mu.Lock()
	for _, q := range r.Question {
		records, known := s.txt[strings.ToLower(q.Name)]
		if !known {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range records {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{v},
			})
		}
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}
