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

// nginxSnippet is the nginx configuration docs/OPERATIONS.md gives
// operators (the block after <!-- nginx-forward-auth -->), so the test runs
// exactly what the documentation says.
func nginxSnippet(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- nginx-forward-auth -->\\s*```nginx\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/OPERATIONS.md has no nginx forward-auth snippet")
	}
	return string(m[1])
}

// startNginx runs nginx (in the foreground, one process, everything in
// dir) with one server for host on a free loopback port, whose body is
// the documented snippet pointed at gatehouse and app. It returns the port.
func startNginx(t *testing.T, bin, gatehouse, app string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	snippet := strings.NewReplacer("https://login.example.com", gatehouse, "http://127.0.0.1:3000", app).Replace(nginxSnippet(t))
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen %[2]s;
		server_name wiki.acme.test;
%[3]s
	}
}
`, dir, addr, snippet)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-p", dir, "-e", "stderr", "-c", path)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	// exited closes when nginx has exited, waitErr says how (a channel
	// receive would leave nothing for the cleanup after a failed start).
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nginx output:\n%s", stderr.String())
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
			t.Fatalf("nginx exited: %v\n%s\nconfig:\n%s", waitErr, stderr.String(), conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s within 10s:\n%s", addr, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling step
	}
}

// A real nginx with auth_request in front of a small app, configured with
// the documented snippet, passes checkProxy's cases.
func TestNginxAuthRequest(t *testing.T) {
	bin := testenv.NginxPath(t)
	g := startGatehouse(t, "")
	app := testApp(t)
	port := startNginx(t, bin, g.URL, app)
	checkProxy(t, g, port)
}
