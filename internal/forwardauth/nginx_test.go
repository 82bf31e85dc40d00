package forwardauth_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// startNginx runs nginx (in the foreground, one process, everything in a
// temporary directory) with one server for wiki.acme.test on a free
// loopback port, whose body is the nginx configuration docs/OPERATIONS.md
// gives operators (after <!-- nginx-forward-auth -->) pointed at gatehouse
// and app. It returns the port.
func startNginx(t *testing.T, bin, gatehouse, app string) string {
	t.Helper()
	dir := t.TempDir()
	addr, port := freeLoopback(t)
	snippet := strings.NewReplacer("https://login.example.com", gatehouse, "http://127.0.0.1:3000", app).
		Replace(docSnippet(t, "nginx-forward-auth", "nginx"))
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
	runProxy(t, "nginx", dir, "nginx.conf", conf, addr, nil, bin, "-p", dir, "-e", "stderr", "-c", "{config}")
	return port
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
