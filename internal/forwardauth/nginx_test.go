package forwardauth_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
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
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s\nconfig:\n%s", err, stderr.String(), conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s within 10s:\n%s", addr, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling step
	}
}

// A real nginx with auth_request in front of a small app, configured with
// the documented snippet: a signed-in person reaches the app with
// Gatehouse's headers (and cannot forge them), a signed-out browser is
// sent to Gatehouse's login page with the URL it asked for, and a person
// outside the app's groups gets 403.
func TestNginxAuthRequest(t *testing.T) {
	bin := testenv.NginxPath(t)
	g := startGatehouse(t, "")
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Groups", "X-Gatehouse-Org"} {
			fmt.Fprintf(w, "%s: %s\n", h, r.Header.Get(h))
		}
		fmt.Fprintf(w, "path: %s\n", r.URL.RequestURI())
	}))
	t.Cleanup(appSrv.Close)
	port := startNginx(t, bin, g.URL, appSrv.URL)
	host := "wiki.acme.test:" + port

	org := g.org("acme")
	g.app(org, "Wiki", []string{host}, "eng")
	in, inTok := g.member(org, "eng", "R&D, Berlin")
	_, outTok := g.member(org, "sales")

	get := func(token, path string, extra map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		if token != "" {
			req.AddCookie(&http.Cookie{Name: g.App.Sessions.CookieName(), Value: token})
		}
		res, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	// Allowed: the app sees who it is, not what the browser claimed.
	res, body := get(inTok, "/docs/page?q=1", map[string]string{"X-Gatehouse-User": "forged", "X-Gatehouse-Groups": "admins"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		"X-Gatehouse-User: " + in.ID + "\n", "X-Gatehouse-Email: " + in.Email + "\n",
		"X-Gatehouse-Groups: R&D%2C Berlin,eng\n", "X-Gatehouse-Org: acme\n", "path: /docs/page?q=1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the app saw:\n%s\nwant %q", body, want)
		}
	}

	// Not signed in: to Gatehouse's login page, coming back here.
	res, _ = get("", "/docs/page?q=1&r=2", map[string]string{"X-Gatehouse-User": "forged"})
	want := g.URL + "/login?return_to=" + url.QueryEscape("http://"+host+"/docs/page?q=1&r=2")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("signed out: %d to %q, want 302 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	// The login page takes that return URL (a registered app's).
	login, err := noRedirects.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(login.Body)
	login.Body.Close()
	if login.StatusCode != http.StatusOK || !strings.Contains(string(lb), `value="http://`+host+`/docs/page?q=1&amp;r=2"`) {
		t.Errorf("login page: %d, return_to not carried:\n%s", login.StatusCode, lb)
	}

	// Not in the app's groups: 403, and the app never sees the request.
	res, body = get(outTok, "/", nil)
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, "X-Gatehouse-User") {
		t.Errorf("outside the groups: %d\n%s", res.StatusCode, body)
	}
}
