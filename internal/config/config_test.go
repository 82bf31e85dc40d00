package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

func TestDefaultsLoadAndRunOnLocalhost(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.DataDir != "./gatehouse-data" || cfg.PublicURL != "http://localhost:8080" {
		t.Errorf("unexpected defaults: listen=%q data_dir=%q public_url=%q", cfg.Listen, cfg.DataDir, cfg.PublicURL)
	}
	// Loopback is reached by name: passkeys refuse an IP address.
	for listen, want := range map[string]string{"127.0.0.1:9000": "http://localhost:9000", "[::1]:9000": "http://localhost:9000",
		"127.0.0.2:9000": "http://localhost:9000"} {
		c, err := config.Load("", []string{"GATEHOUSE_LISTEN=" + listen})
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != want {
			t.Errorf("listen %s: public_url %q, want %q", listen, c.PublicURL, want)
		}
	}
	if cfg.Session.IdleTimeout != 8*time.Hour || cfg.Session.MaxLifetime != 7*24*time.Hour {
		t.Errorf("session defaults: %v / %v", cfg.Session.IdleTimeout, cfg.Session.MaxLifetime)
	}
	if cfg.Secure() {
		t.Error("http://127.0.0.1 must not be treated as secure")
	}
}

func TestYAMLThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	yaml := "listen: 0.0.0.0:9000\npublic_url: https://login.corp.example\nsession:\n  idle_timeout: 2h\nsmtp:\n  host: smtp.corp.example\n  from: Gatehouse <no-reply@corp.example>\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{
		"GATEHOUSE_SESSION_IDLE_TIMEOUT=3h",
		"GATEHOUSE_DATABASE_URL=postgres://db.internal/gatehouse",
		"GATEHOUSE_HTTP_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.7",
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:9000" || cfg.Session.IdleTimeout != 3*time.Hour ||
		cfg.DatabaseURL != "postgres://db.internal/gatehouse" || !cfg.Secure() {
		t.Errorf("env did not override YAML: %+v", cfg)
	}
	if got := strings.Join(cfg.HTTP.TrustedProxies, "|"); got != "10.0.0.0/8|192.0.2.7" {
		t.Errorf("trusted proxies = %q", got)
	}
}

func TestValidateReportsEveryProblemWithItsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	yaml := "listen: nowhere\npublic_url: http://login.corp.example\nlog:\n  level: loud\nsession:\n  idle_timeout: -1s\nthrottle:\n  account_limit: 0\nsmtp:\n  host: smtp.corp.example\n  security: plaintext\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, []string{"GATEHOUSE_TOKENS_RESET_TTL=soon", "GATEHOUSE_SESION_IDLE_TIMEOUT=1h"})
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := []string{"listen", "public_url", "log.level", "session.idle_timeout", "throttle.account_limit",
		"smtp.security", "tokens.reset_ttl", "GATEHOUSE_SESION_IDLE_TIMEOUT"}
	keys := map[string]bool{}
	for _, p := range ve.Problems {
		keys[p.Key] = true
	}
	for _, k := range want {
		if !keys[k] {
			t.Errorf("no problem reported for %s; got %v", k, ve.Problems)
		}
	}
}

func TestUnknownYAMLKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(path, []byte("sesion:\n  idle_timeout: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); err == nil || !strings.Contains(err.Error(), "sesion") {
		t.Fatalf("a misspelt key must be reported, got %v", err)
	}
}

// Every key must be documented, with its environment variable, in
// docs/OPERATIONS.md: operators read the reference, not the source.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys() {
		if !strings.Contains(string(doc), "`"+k+"`") || !strings.Contains(string(doc), config.EnvName(k)) {
			t.Errorf("docs/OPERATIONS.md does not document %s (%s)", k, config.EnvName(k))
		}
	}
}

// A misspelt key or a value of the wrong type does not stop the check:
// every problem in the file is reported with its key path, in words.
func TestYAMLMistakesAreReportedTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mistakes.yaml")
	yaml := "sesion:\n  idle_timeout: 1h\nsession:\n  idle_timeout: forever\nthrottle:\n  ip_limit: many\nlog:\n  level: loud\nsmtp:\n  security: ssl\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, nil)
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := map[string]string{
		"sesion":               "unknown setting",
		"session.idle_timeout": `"forever" is not a duration`,
		"throttle.ip_limit":    `"many" is not a whole number`,
		"log.level":            "must be debug, info, warn or error",
		"smtp.security":        "must be starttls, tls or none",
	}
	for _, p := range ve.Problems {
		if msg, ok := want[p.Key]; ok && strings.Contains(p.Message, msg) {
			delete(want, p.Key)
		}
		if strings.Contains(p.Message, "config.") || strings.Contains(p.Message, "!!str") {
			t.Errorf("%s: message shows Go internals: %s", p.Key, p.Message)
		}
	}
	for k, msg := range want {
		t.Errorf("no problem %q reported for %s; got %v", msg, k, ve.Problems)
	}
	if strings.Contains(err.Error(), "(1 problems)") {
		t.Error("bad plural")
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := config.ParsePrefixes([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::1/48"})
	if err != nil {
		t.Fatalf("ParsePrefixes: %v", err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/48"}
	if len(got) != len(want) {
		t.Fatalf("ParsePrefixes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("ParsePrefixes[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := config.ParsePrefixes([]string{"10.0.0.0/8", "not-an-address"}); err == nil {
		t.Fatal("ParsePrefixes accepted a bad entry")
	}
}

// An idle timeout shorter than twice the interval at which activity is
// recorded signs out people who are using Gatehouse all along: refused by
// name, with the reason in words.
func TestIdleTimeoutBelowTwiceTheTouchIntervalIsRefused(t *testing.T) {
	for _, c := range []struct {
		idle string
		ok   bool
	}{
		{"90s", false},
		{"1m", false},
		{"119s", false},
		{"2m", true},
		{"30m", true},
	} {
		t.Run(c.idle, func(t *testing.T) {
			_, err := config.Load("", []string{"GATEHOUSE_SESSION_IDLE_TIMEOUT=" + c.idle})
			if c.ok {
				if err != nil {
					t.Fatalf("idle_timeout %s refused: %v", c.idle, err)
				}
				return
			}
			var ve *config.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("idle_timeout %s accepted; want a validation error", c.idle)
			}
			found := false
			for _, p := range ve.Problems {
				if p.Key == "session.idle_timeout" && strings.Contains(p.Message, "signs out") && strings.Contains(p.Message, "2m0s") {
					found = true
				}
			}
			if !found {
				t.Fatalf("no plain session.idle_timeout problem for %s: %v", c.idle, ve.Problems)
			}
		})
	}
}

// The request deadline and the metrics listener are checked like every
// other setting: by key path, all at once.
func TestRequestTimeoutAndMetricsListenAreValidated(t *testing.T) {
	_, err := config.Load("", []string{"GATEHOUSE_HTTP_REQUEST_TIMEOUT=0s", "GATEHOUSE_METRICS_LISTEN=9090"})
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	keys := map[string]bool{}
	for _, p := range ve.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{"http.request_timeout", "metrics.listen"} {
		if !keys[k] {
			t.Errorf("no problem reported for %s; got %v", k, ve.Problems)
		}
	}
	_, err = config.Load("", []string{"GATEHOUSE_METRICS_LISTEN=127.0.0.1:8080"})
	if err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Errorf("metrics.listen equal to listen accepted: %v", err)
	}
	cfg, err := config.Load("", []string{"GATEHOUSE_METRICS_LISTEN=127.0.0.1:9090"})
	if err != nil || cfg.Metrics.Listen != "127.0.0.1:9090" || cfg.HTTP.RequestTimeout <= 0 {
		t.Errorf("metrics.listen 127.0.0.1:9090 = %+v, %v", cfg.Metrics, err)
	}
}

// A node stops trusting its session cache after a few missed polls of the
// invalidation feed: 2s by default, following session.poll_interval unless
// set, and never shorter than one poll (the cache would never be used).
func TestSessionStaleAfter(t *testing.T) {
	for _, tc := range []struct {
		env         []string
		poll, stale time.Duration
		problemKey  string
	}{
		{nil, 500 * time.Millisecond, 2 * time.Second, ""},
		{[]string{"GATEHOUSE_SESSION_POLL_INTERVAL=1s"}, time.Second, 4 * time.Second, ""},
		{[]string{"GATEHOUSE_SESSION_STALE_AFTER=5s"}, 500 * time.Millisecond, 5 * time.Second, ""},
		{[]string{"GATEHOUSE_SESSION_STALE_AFTER=400ms"}, 0, 0, "session.stale_after"},
		{[]string{"GATEHOUSE_SESSION_POLL_INTERVAL=-1s"}, 0, 0, "session.poll_interval"},
	} {
		cfg, err := config.Load("", tc.env)
		if tc.problemKey != "" {
			var ve *config.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.problemKey) {
				t.Errorf("%v: Load = %v, want a problem with %s", tc.env, err, tc.problemKey)
			}
			continue
		}
		if err != nil || cfg.Session.PollInterval != tc.poll || cfg.Session.StaleAfter != tc.stale {
			t.Errorf("%v: poll %v, stale %v, %v; want %v, %v", tc.env, cfg.Session.PollInterval, cfg.Session.StaleAfter, err, tc.poll, tc.stale)
		}
	}
}

func TestSessionCookieDomain(t *testing.T) {
	for _, tc := range []struct {
		env        []string
		problemKey string
	}{
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=example.com"}, ""},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=example.com"}, ""},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://a.b.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=b.example.com"}, ""},
		// Plain http: the __Secure- cookie would be refused by browsers.
		{[]string{"GATEHOUSE_PUBLIC_URL=http://localhost:8080", "GATEHOUSE_SESSION_COOKIE_DOMAIN=localhost.example"}, "session.cookie_domain"},
		// Not the public URL's domain: the cookie would never be set.
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=example.org"}, "session.cookie_domain"},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.notexample.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=example.com"}, "session.cookie_domain"},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=.example.com"}, "session.cookie_domain"},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=https://example.com"}, "session.cookie_domain"},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=Example.com"}, "session.cookie_domain"},
		{[]string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_SESSION_COOKIE_DOMAIN=com"}, "session.cookie_domain"},
	} {
		cfg, err := config.Load("", tc.env)
		if tc.problemKey != "" {
			var ve *config.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.problemKey) {
				t.Errorf("%v: Load = %v, want a problem with %s", tc.env, err, tc.problemKey)
			}
			continue
		}
		if err != nil || cfg.Session.CookieDomain == "" {
			t.Errorf("%v: Load = %v, cookie domain %q", tc.env, err, cfg.Session.CookieDomain)
		}
	}
}
