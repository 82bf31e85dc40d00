package forwardauth_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// caddySnippet is the Caddyfile site block docs/OPERATIONS.md gives
// operators (the block after <!-- caddy-forward-auth -->), so the test
// runs exactly what the documentation says.
func caddySnippet(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- caddy-forward-auth -->\\s*```caddyfile\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/OPERATIONS.md has no Caddy forward-auth snippet")
	}
	return string(m[1])
}

// startCaddy runs caddy in the foreground with the documented site block,
// pointed at gatehouse and app, serving wiki.acme.test and open.acme.test
// over plain HTTP on a free loopback port; everything it writes (its data
// and config directories) stays in a temporary directory, and it has no
// admin endpoint. It returns the port.
func startCaddy(t *testing.T, bin, gatehouse, app string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	snippet := caddySnippet(t)
	site := fmt.Sprintf("http://wiki.acme.test:%[1]s, http://open.acme.test:%[1]s {\n\tbind 127.0.0.1", port)
	for _, s := range []string{"wiki.example.com {", "https://login.example.com", "127.0.0.1:3000"} {
		if !strings.Contains(snippet, s) {
			t.Fatalf("the Caddy snippet no longer contains %q; update the test", s)
		}
	}
	snippet = strings.NewReplacer("wiki.example.com {", site, "https://login.example.com", gatehouse,
		"127.0.0.1:3000", strings.TrimPrefix(app, "http://")).Replace(snippet)
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %[1]s/data
	log {
		output stderr
		level WARN
	}
}

%[2]s`, dir, snippet)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir+"/data", "XDG_CONFIG_HOME="+dir+"/config")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
	}
	// exited closes when caddy has exited, waitErr says how (a channel
	// receive would leave nothing for the cleanup after a failed start).
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("caddy output:\n%s\nCaddyfile:\n%s", stderr.String(), conf)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return port
		}
		select {
		case <-exited:
			t.Fatalf("caddy exited: %v\n%s\nCaddyfile:\n%s", waitErr, stderr.String(), conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not listen on %s within 10s:\n%s", addr, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling step
	}
}

// A real Caddy with forward_auth in front of a small app, configured with
// the documented snippet, passes checkProxy's cases.
func TestCaddyForwardAuth(t *testing.T) {
	bin := testenv.CaddyPath(t)
	g := startGatehouse(t, "")
	port := startCaddy(t, bin, g.URL, testApp(t))
	checkProxy(t, g, port)
}
