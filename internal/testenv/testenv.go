// Package testenv decides what a test does when a real component it needs
// (PostgreSQL, Chromium, nginx, Caddy) is absent: on a bare machine it
// skips with a one-line reason, so `go test ./...` passes anywhere; under
// CI, which sets GATEHOUSE_TEST_REQUIRE_ALL=1 after installing everything,
// it fails instead, so no check is silently skipped there.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireAll reports whether missing components must fail tests.
func RequireAll() bool { return os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" }

// Missing skips t (or fails it under GATEHOUSE_TEST_REQUIRE_ALL=1) because
// the named component is not available.
func Missing(t testing.TB, component, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s is required (GATEHOUSE_TEST_REQUIRE_ALL=1) but unavailable: %s", component, reason)
	}
	t.Skipf("skipping: %s unavailable: %s", component, reason)
}

// PostgresDSN returns GATEHOUSE_TEST_POSTGRES_DSN, or skips/fails t.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if dsn == "" {
		Missing(t, "PostgreSQL", "GATEHOUSE_TEST_POSTGRES_DSN is not set")
	}
	return dsn
}

// ChromiumPath returns the path of a Chromium binary, or skips/fails t.
// GATEHOUSE_TEST_CHROMIUM overrides the search.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium", "no chromium binary on PATH (apt-get install -y chromium)")
	return ""
}

// NginxPath returns the path of an nginx binary (Debian's package:
// apt-get install -y nginx), or skips/fails t. GATEHOUSE_TEST_NGINX
// overrides the search.
func NginxPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_NGINX"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	Missing(t, "nginx", "no nginx binary on PATH or at /usr/sbin/nginx (apt-get install -y nginx)")
	return ""
}

// CaddyPath returns the path of a caddy binary (Debian's package:
// apt-get install -y caddy), or skips/fails t. GATEHOUSE_TEST_CADDY
// overrides the search.
func CaddyPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_CADDY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("caddy"); err == nil {
		return p
	}
	Missing(t, "Caddy", "no caddy binary on PATH (apt-get install -y caddy)")
	return ""
}
