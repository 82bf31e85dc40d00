package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// stallProxy forwards TCP to a real database until Stall is called; from
// then on it accepts connections and reads what is sent, but forwards
// nothing and answers nothing: a database that is up but never responds.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	done    chan struct{}

	mu    sync.Mutex
	conns []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, done: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) Stall() { p.stalled.Store(true) }

func (p *stallProxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		if p.stalled.Load() {
			continue // accepted, never answered
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(up)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst until the proxy stalls; what arrives after that
// is swallowed.
func (p *stallProxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines may log into while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With PostgreSQL accepting connections but never answering, an API call
// hung for 199 s and the sign-in page for 90 s, and the abandoned page was
// logged as 200. Now both end at http.request_timeout with 503 and the
// request ID, and the access log says 503.
func TestStalledDatabaseAnswers503AtTheDeadline(t *testing.T) {
	dbURL := sqltest.PostgresDatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = u.String()
	cfg.HTTP.RequestTimeout = time.Second
	logs := &syncBuffer{}
	a, err := app.Open(t.Context(), cfg, app.NewLogger(cfg.Log, logs))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx := reqctx.With(context.Background(), reqctx.Info{ActorType: "system", ActorID: "test"})
	org, err := a.Accounts.CreateOrganization(ctx, "Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accounts.AddMember(ctx, org.ID, account.MemberInput{Email: "owner@acme.test", Role: storage.RoleOwner,
		Password: "correct horse battery staple 42"}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := a.Accounts.CreateAPIToken(ctx, org.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.Handler(a)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// Before the stall the API answers: the setup is sound.
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		// Generous: the point is that the answer comes, and what it is.
		client := &http.Client{Timeout: 2 * time.Minute}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	if resp, body := get("/api/v1/members"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the stall: %d %s", resp.StatusCode, body)
	}

	// Pooled connections and new ones alike stop getting answers.
	proxy.Stall()
	resp, body := get("/api/v1/members")
	id := resp.Header.Get("X-Request-ID")
	var apiErr struct {
		Error struct{ Code, Message string }
	}
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(body, &apiErr) != nil ||
		apiErr.Error.Code != "request_timeout" || !strings.Contains(apiErr.Error.Message, id) {
		t.Fatalf("API on a stalled database: %d %s (request ID %q)", resp.StatusCode, body, id)
	}

	resp, body = get("/login")
	pageID := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), pageID) {
		t.Fatalf("sign-in page on a stalled database: %d %s (request ID %q)", resp.StatusCode, body, pageID)
	}

	for _, want := range []struct{ id, path string }{{id, "/api/v1/members"}, {pageID, "/login"}} {
		line := accessLine(logs.String(), want.id)
		if !strings.Contains(line, `"status":503`) {
			t.Errorf("access log for %s does not record 503: %q\nlogs:\n%s", want.path, line, logs.String())
		}
	}
}

// accessLine returns the access log line of the request with id.
func accessLine(logs, id string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"http request"`) && strings.Contains(l, id) {
			return l
		}
	}
	return ""
}
