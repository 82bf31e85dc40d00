package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running gatehouse process whose stdout is read line by line.
type proc struct {
	cmd   *exec.Cmd
	lines chan string // stdout, closed at its end
	done  chan error  // cmd.Wait's result
}

// startProc starts cmd; it is killed when the test ends, if still running.
func startProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

// signal sends sig and requires a clean exit within timeout.
func (p *proc) signal(t *testing.T, sig os.Signal, timeout time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("gatehouse %s exited with %v after %v", p.cmd.Args[1], err, sig)
		}
	case <-time.After(timeout):
		t.Fatalf("gatehouse %s did not stop within %v of %v", p.cmd.Args[1], timeout, sig)
	}
}

// node is a running `gatehouse serve` process.
type node struct {
	*proc
	base string
}

func startNode(t *testing.T, env ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), append([]string{"GATEHOUSE_LISTEN=" + addr, "GATEHOUSE_LOG_LEVEL=warn"}, env...)...)
	cmd.Stderr = &testWriter{t}
	n := &node{proc: startProc(t, cmd), base: "http://" + addr}
	// Ready when /readyz answers 200.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a subprocess: there is nothing to wait on
	}
}

// stop sends SIGTERM and requires a clean exit within the 10 s shutdown
// budget (15 s, for a slow machine); it returns the rest of stdout.
func (n *node) stop(t *testing.T) string {
	t.Helper()
	n.signal(t, syscall.SIGTERM, 15*time.Second)
	var out strings.Builder
	for l := range n.lines {
		out.WriteString(l + "\n")
	}
	return out.String()
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("serve: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var setupLinkRE = regexp.MustCompile(`https?://\S+/setup\?token=[A-Za-z0-9_-]+`)
var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// completeSetup creates the first owner through the real set-up page.
func completeSetup(t *testing.T, link string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("set-up page: status %d, no CSRF field:\n%s", resp.StatusCode, body)
	}
	u, _ := url.Parse(link)
	form := url.Values{
		"csrf_token": {string(m[1])}, "token": {u.Query().Get("token")},
		"org_name": {"Acme Corp"}, "display_name": {"Olive Owner"}, "email": {"olive@acme.example"},
		"password": {"correct horse battery staple"}, "confirm": {"correct horse battery staple"},
	}
	req, _ := http.NewRequest(http.MethodPost, u.Scheme+"://"+u.Host+"/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "olive@acme.example") {
		t.Fatalf("completing set-up: status %d\n%s", resp.StatusCode, body)
	}
}

// The newcomer's path: first start prints the link; the link creates the
// owner; a restart prints nothing; SIGTERM stops cleanly.
func runFirstStart(t *testing.T, env ...string) {
	n := startNode(t, env...)
	var link string
	var printed strings.Builder
	deadline := time.After(10 * time.Second)
	for link == "" {
		select {
		case l, ok := <-n.lines:
			if !ok {
				t.Fatal("serve closed stdout without printing a set-up link")
			}
			printed.WriteString(l + "\n")
			link = setupLinkRE.FindString(l)
		case <-deadline:
			t.Fatal("no first-admin link printed within 10 s")
		}
	}
	// Beside the JSON log (stderr), a line for the operator on stdout: where
	// Gatehouse answers, and that set-up is pending.
	// The default public URL follows the listen address, by name.
	servingLine := func(n *node) (string, string) {
		addr := strings.TrimPrefix(n.base, "http://")
		_, port, _ := net.SplitHostPort(addr)
		return "Gatehouse is serving http://localhost:" + port + " (listening on " + addr + ").", "http://localhost:" + port
	}
	serving, _ := servingLine(n)
	if !strings.Contains(printed.String(), serving) || !strings.Contains(printed.String(), "Set-up is pending") {
		t.Errorf("first start printed, before its link:\n%s\nwant %q and set-up pending", printed.String(), serving)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/login"} {
		resp, err := http.Get(n.base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	completeSetup(t, link)
	resp, err := http.Get(n.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"gatehouse_http_request_duration_seconds_bucket", `gatehouse_signins_total{method="setup",result="success"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	n.stop(t)

	again := startNode(t, env...)
	out := again.stop(t)
	if setupLinkRE.MatchString(out) {
		t.Fatalf("a second start printed a new set-up link although an owner exists:\n%s", out)
	}
	serving, public := servingLine(again)
	if !strings.Contains(out, serving) || !strings.Contains(out, "Set-up is done: sign in at "+public+"/login") {
		t.Errorf("a restart printed:\n%s\nwant %q and set-up done", out, serving)
	}
}

func TestServeSQLite(t *testing.T) {
	runFirstStart(t, "GATEHOUSE_DATA_DIR="+t.TempDir())
}

func TestServePostgres(t *testing.T) {
	// A fresh, unmigrated database, dropped when the test ends.
	dbURL := sqltest.PostgresDatabaseURL(t)
	runFirstStart(t, "GATEHOUSE_DATA_DIR="+t.TempDir(), "GATEHOUSE_DATABASE_URL="+dbURL)
}

func TestConfigValidateReportsAllProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("listen: nowhere\nlog:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "config", "validate", "--config", path).CombinedOutput()
	if err == nil {
		t.Fatalf("invalid config accepted:\n%s", out)
	}
	for _, key := range []string{"listen:", "log.level:"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("output lacks %s:\n%s", key, out)
		}
	}
}

// With metrics.listen set, /metrics answers on that address only: the
// public listener no longer shows traffic figures to anyone who asks.
func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	metricsAddr := freeAddr(t)
	n := startNode(t, "GATEHOUSE_DATA_DIR="+t.TempDir(), "GATEHOUSE_METRICS_LISTEN="+metricsAddr)
	defer n.stop(t)
	status := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(n.base + "/metrics"); got != http.StatusNotFound {
		t.Errorf("main listener /metrics = %d, want 404", got)
	}
	if got := status("http://" + metricsAddr + "/metrics"); got != http.StatusOK {
		t.Errorf("metrics listener /metrics = %d, want 200", got)
	}
	if got := status("http://" + metricsAddr + "/login"); got != http.StatusNotFound {
		t.Errorf("metrics listener serves /login: %d, want 404", got)
	}
}

// An idle timeout the activity writes cannot keep up with is refused by
// `config validate`, by key, in words.
func TestConfigValidateRefusesAnIdleTimeoutThatSignsActivePeopleOut(t *testing.T) {
	cmd := exec.Command(binary, "config", "validate")
	cmd.Env = append(os.Environ(), "GATEHOUSE_SESSION_IDLE_TIMEOUT=90s")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "session.idle_timeout:") || !strings.Contains(string(out), "signs out") {
		t.Fatalf("idle_timeout 90s: err %v\n%s", err, out)
	}
}
