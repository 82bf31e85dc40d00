package drill

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// Harness is one running Gatehouse, assembled as `gatehouse serve`
// assembles it, with the things around it a drill needs: a clock the test
// moves, an in-process DNS server (domain verification) and the
// development IdP on a server of its own that can be stopped and
// restarted.
type Harness struct {
	t *testing.T
	// App is the assembled Gatehouse: every service the server uses.
	App *app.App
	// Clock is every service's clock (and the IdP's); Advance moves it.
	Clock *testenv.Clock
	// URL is Gatehouse's public URL, http://localhost:PORT (passkeys need
	// a host name, WebAuthn refuses IP addresses).
	URL string
	// DNS answers the TXT lookups of domain verification.
	DNS *devdns.Server
	// IdP is the development IdP.
	IdP *IdPServer
	// Admin is the context set-up acts in: the operator's CLI on the
	// server, as `gatehouse admin …` runs.
	Admin context.Context

	outbox string
}

// forEachBackend runs fn as the subtests "sqlite" and "postgres", each
// with a fresh Gatehouse; the postgres subtest skips with a one-line
// reason without GATEHOUSE_TEST_POSTGRES_DSN (or fails under
// GATEHOUSE_TEST_REQUIRE_ALL=1, see internal/testenv).
func forEachBackend(t *testing.T, users []devidp.User, fn func(t *testing.T, h *Harness)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newHarness(t, "", users)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newHarness(t, sqltest.PostgresDatabaseURL(t), users)) })
}

// newHarness starts the IdP (with users), the DNS server and Gatehouse on
// databaseURL ("" is SQLite in the data directory, as serve's default).
func newHarness(t *testing.T, databaseURL string, users []devidp.User) *Harness {
	t.Helper()
	h := &Harness{
		t:     t,
		Clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second)),
		Admin: authz.AsCLI(context.Background(), "drill"),
	}
	var err error
	if h.DNS, err = devdns.Start("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.DNS.Close)
	h.IdP = startIdP(t, users, h.Clock.Now)

	// The listener comes first: its port is part of the public URL, which
	// the services put into links, SP metadata and the WebAuthn origin.
	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	h.URL = "http://localhost:" + port

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = databaseURL
	cfg.PublicURL = h.URL
	cfg.Listen = ts.Listener.Addr().String()
	cfg.DNS.Resolver = h.DNS.Addr()
	cfg.Session.StaleAfter = config.StaleFactor * cfg.Session.PollInterval // as config.Load derives it
	if ps := cfg.Validate(); len(ps) > 0 {
		t.Fatalf("drill config is invalid: %v", ps)
	}
	h.outbox = filepath.Join(cfg.DataDir, "outbox") // app's mailer without SMTP

	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		log = app.NewLogger(config.LogConfig{Level: "debug", Format: "text"}, os.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.OpenWith(ctx, cfg, log, app.Options{Now: h.Clock.Now})
	if err != nil {
		t.Fatalf("app.OpenWith: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h.App = a
	handler, err := server.Handler(a)
	if err != nil {
		t.Fatalf("server.Handler: %v", err)
	}
	ts.Config.Handler = handler
	ts.Start()
	t.Cleanup(ts.Close)

	// serve runs these; the session loop polls for revocations made on
	// other nodes. The loops on a one-minute ticker (health, SSO purge,
	// metadata refresh) are driven by hand: see HealthPass.
	bg, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Sessions.Run(bg); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return h
}

// Advance moves every service's clock (and the IdP's) forward by d.
func (h *Harness) Advance(d time.Duration) { h.Clock.Advance(d) }

// HealthPass does what the health loop (health.Service.Run) does on each
// tick, at the drill's clock: probe every IdP, count abandoned sign-ins
// and open or close incidents, check certificate expiry.
func (h *Harness) HealthPass() {
	h.t.Helper()
	ctx := context.Background()
	if err := h.App.Health.ProbeAll(ctx); err != nil {
		h.t.Fatalf("health probe: %v", err)
	}
	if err := h.App.Health.Evaluate(ctx, h.Clock.Now()); err != nil {
		h.t.Fatalf("health evaluation: %v", err)
	}
	if err := h.App.Health.CheckCertificates(ctx, h.Clock.Now()); err != nil {
		h.t.Fatalf("certificate check: %v", err)
	}
}

// Mails returns every message Gatehouse has sent, oldest first, after
// waiting for mail sent in the background.
func (h *Harness) Mails() []mail.Message {
	h.t.Helper()
	h.App.Accounts.Wait()
	msgs, err := mail.ReadOutbox(h.outbox)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

// MailsTo returns the messages to addr whose subject contains subject.
func (h *Harness) MailsTo(addr, subject string) []mail.Message {
	h.t.Helper()
	var out []mail.Message
	for _, m := range h.Mails() {
		if strings.EqualFold(m.To, addr) && strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

// Metric reads one sample from GET /metrics, as Prometheus scrapes it:
// name with labels written as in the exposition format, e.g.
// `connection="dev-idp"` ("" for none). A sample not exported yet is 0.
func (h *Harness) Metric(name, labels string) float64 {
	h.t.Helper()
	res, err := http.Get(h.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	page := readPage(h.t, res)
	if page.Status != http.StatusOK {
		h.t.Fatalf("GET /metrics: %d", page.Status)
	}
	series := name
	if labels != "" {
		series += "{" + labels + "}"
	}
	for _, line := range strings.Split(page.Body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				h.t.Fatalf("metric line %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// IdPServer is the development IdP on a server of its own, at a fixed
// address, so the drill can stop it (an outage) and start it again (the
// IdP is back) with the same signing key and URLs.
type IdPServer struct {
	*devidp.IdP
	t        *testing.T
	addr     string
	srv      *http.Server
	requests atomic.Int64
}

func startIdP(t *testing.T, users []devidp.User, now func() time.Time) *IdPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &IdPServer{t: t, addr: ln.Addr().String()}
	kp, err := devidp.GenerateKeypair(now())
	if err != nil {
		t.Fatal(err)
	}
	if s.IdP, err = devidp.New(devidp.Config{BaseURL: "http://" + s.addr, Users: users, Key: kp.Key, Cert: kp.Cert, Now: now}); err != nil {
		t.Fatal(err)
	}
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *IdPServer) serve(ln net.Listener) {
	inner := s.IdP.Handler()
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		inner.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
}

// Origin is the IdP's origin, which its forms post from.
func (s *IdPServer) Origin() string { return "http://" + s.addr }

// Requests counts the requests that reached the IdP, from browsers and
// from Gatehouse alike.
func (s *IdPServer) Requests() int64 { return s.requests.Load() }

// Stop takes the IdP down: its port refuses connections, as an IdP whose
// service is down or unreachable from the network. Stopping twice is fine.
func (s *IdPServer) Stop() {
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// Restart brings the IdP back at the same address with the same key:
// Gatehouse's trust in it is unchanged.
func (s *IdPServer) Restart() {
	s.t.Helper()
	if s.srv != nil {
		s.t.Fatal("the IdP is already running")
	}
	// The port was ours a moment ago; poll briefly in case the kernel
	// has not released it yet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("restart the IdP on %s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused reports whether err is a refused connection (nobody listening).
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
