package forwardauth_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// startCaddy runs caddy in the foreground with the Caddyfile site block
// docs/OPERATIONS.md gives operators (after <!-- caddy-forward-auth -->),
// pointed at gatehouse and app, serving wiki.acme.test and open.acme.test
// over plain HTTP on a free loopback port; everything it writes (its data
// and config directories) stays in a temporary directory, and it has no
// admin endpoint. It returns the port.
func startCaddy(t *testing.T, bin, gatehouse, app string) string {
	t.Helper()
	dir := t.TempDir()
	addr, port := freeLoopback(t)
	snippet := docSnippet(t, "caddy-forward-auth", "caddyfile")
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
	env := append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir+"/data", "XDG_CONFIG_HOME="+dir+"/config")
	runProxy(t, "caddy", dir, "Caddyfile", conf, addr, env, bin, "run", "--config", "{config}", "--adapter", "caddyfile")
	return port
}

// A real Caddy with forward_auth in front of a small app, configured with
// the documented snippet, passes checkProxy's cases.
func TestCaddyForwardAuth(t *testing.T) {
	bin := testenv.CaddyPath(t)
	g := startGatehouse(t, "")
	port := startCaddy(t, bin, g.URL, testApp(t))
	checkProxy(t, g, port)
}
