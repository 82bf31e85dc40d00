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
)

// docSnippet is the code block of language lang that docs/OPERATIONS.md
// gives operators after <!-- marker -->, so a proxy test runs exactly what
// the documentation says.
func docSnippet(t *testing.T, marker, lang string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- " + regexp.QuoteMeta(marker) + " -->\\s*```" + regexp.QuoteMeta(lang) + "\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/OPERATIONS.md has no %s snippet", marker)
	}
	return string(m[1])
}

// freeLoopback returns a loopback address no one listens on (for the proxy
// to take) and its port.
func freeLoopback(t *testing.T) (addr, port string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	_, port, _ = net.SplitHostPort(addr)
	return addr, port
}

// runProxy writes conf to dir/file, starts the proxy with args (in which
// "{config}" stands for that file's path), stops it when the test ends, and
// returns once it listens on addr. name labels its output, which is logged
// with conf when the test fails.
func runProxy(t *testing.T, name, dir, file, conf, addr string, env []string, bin string, args ...string) {
	t.Helper()
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if a == "{config}" {
			args[i] = path
		}
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	// exited closes when the proxy has exited, waitErr says how (a channel
	// receive would leave nothing for the cleanup after a failed start).
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s\nconfig:\n%s", name, stderr.String(), conf)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %v\n%s\nconfig:\n%s", name, waitErr, stderr.String(), conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 10s:\n%s", name, addr, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling step
	}
}

// testApp starts the app behind the proxy: it answers with the
// X-Gatehouse-* headers and the path it received, and returns its URL.
func testApp(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Groups", "X-Gatehouse-Org"} {
			fmt.Fprintf(w, "%s: %s\n", h, r.Header.Get(h))
		}
		fmt.Fprintf(w, "path: %s\n", r.URL.RequestURI())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// checkProxy drives a real proxy on 127.0.0.1:port, configured with a
// documented forward-auth snippet in front of testApp, as a browser would:
// a signed-in person reaches the app with Gatehouse's headers (and cannot
// forge them, even the ones Gatehouse sends empty), a signed-out browser is
// sent to Gatehouse's login page with the URL it asked for, and a person
// outside the app's groups gets 403. The proxy must serve the hosts
// wiki.acme.test (restricted to group eng) and open.acme.test (no group
// restriction) on that port.
func checkProxy(t *testing.T, g *gh, port string) {
	t.Helper()
	host, openHost := "wiki.acme.test:"+port, "open.acme.test:"+port
	org := g.org("acme")
	g.app(org, "Wiki", []string{host}, "eng")
	g.app(org, "Open", []string{openHost})
	in, inTok := g.member(org, "eng", "R&D, Berlin")
	_, outTok := g.member(org, "sales")
	none, noneTok := g.member(org)

	get := func(host, token, path string, extra map[string]string) (*http.Response, string) {
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
	res, body := get(host, inTok, "/docs/page?q=1", map[string]string{"X-Gatehouse-User": "forged", "X-Gatehouse-Groups": "admins"})
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
	// Someone in no group, on an app open to everyone: Gatehouse's groups
	// header is empty, and the browser's own value must not survive that.
	res, body = get(openHost, noneTok, "/", map[string]string{"X-Gatehouse-Groups": "admins"})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "X-Gatehouse-User: "+none.ID+"\n") ||
		!strings.Contains(body, "X-Gatehouse-Groups: \n") {
		t.Errorf("signed in, no groups: %d, the app saw:\n%s", res.StatusCode, body)
	}

	// Not signed in: to Gatehouse's login page, coming back here.
	res, _ = get(host, "", "/docs/page?q=1&r=2", map[string]string{"X-Gatehouse-User": "forged"})
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
	res, body = get(host, outTok, "/", nil)
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, "X-Gatehouse-User") {
		t.Errorf("outside the groups: %d\n%s", res.StatusCode, body)
	}
}
