package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Problem is one invalid setting.
type Problem struct {
	Key     string // key path, e.g. "session.idle_timeout"
	Message string
}

func (p Problem) String() string { return p.Key + ": " + p.Message }

// ValidationError lists every problem found.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.String()
	}
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid configuration (%d %s):\n%s", len(e.Problems), noun, strings.Join(lines, "\n"))
}

// Validate returns every problem with c; none means it is usable.
func (c Config) Validate() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "must be host:port, e.g. 127.0.0.1:8080 (%q)", c.Listen)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("public_url", "must be an absolute http(s) URL, e.g. https://login.example.com (%q)", c.PublicURL)
	} else {
		if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
			add("public_url", "must use https unless the host is localhost or a loopback address: session cookies need the Secure flag")
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			add("public_url", "must be an origin without a path, query or fragment (%q)", c.PublicURL)
		}
	}
	if c.DataDir == "" {
		add("data_dir", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		add("database_url", "must start with postgres://, postgresql:// or sqlite:// (or be empty for SQLite in data_dir)")
	}
	if strings.TrimSpace(c.ProductName) == "" {
		add("product_name", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error (%q)", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "must be json or text (%q)", c.Log.Format)
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			add(fmt.Sprintf("http.trusted_proxies[%d]", i), "must be an IP address or CIDR (%q)", p)
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, "must be a positive duration such as 30m or 8h (%s)", d)
		}
	}
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)
	positive("http.request_timeout", c.HTTP.RequestTimeout)
	positive("session.idle_timeout", c.Session.IdleTimeout)
	positive("session.max_lifetime", c.Session.MaxLifetime)
	if c.Session.IdleTimeout > 0 && c.Session.IdleTimeout < 2*SessionTouchInterval {
		// Activity is written at most once per touch interval, so a person
		// active all along can look idle for almost a whole interval; an
		// idle timeout that short signs active people out.
		add("session.idle_timeout", "must be at least %s: a session's last activity is recorded at most once every %s, "+
			"so a shorter idle timeout signs out people who are using Gatehouse (%s)", 2*SessionTouchInterval, SessionTouchInterval, c.Session.IdleTimeout)
	}
	if c.Session.IdleTimeout > c.Session.MaxLifetime && c.Session.MaxLifetime > 0 {
		add("session.idle_timeout", "must not exceed session.max_lifetime (%s > %s)", c.Session.IdleTimeout, c.Session.MaxLifetime)
	}
	c.validateCookieDomain(add)
	positive("session.poll_interval", c.Session.PollInterval)
	positive("session.stale_after", c.Session.StaleAfter)
	if c.Session.StaleAfter > 0 && c.Session.StaleAfter <= c.Session.PollInterval {
		// Shorter than one poll, the cache would never be trusted.
		add("session.stale_after", "must exceed session.poll_interval (%s ≤ %s)", c.Session.StaleAfter, c.Session.PollInterval)
	}
	positive("tokens.setup_ttl", c.Tokens.SetupTTL)
	positive("tokens.reset_ttl", c.Tokens.ResetTTL)
	positive("tokens.invite_ttl", c.Tokens.InviteTTL)
	if c.Tokens.ResetTTL > 24*time.Hour {
		add("tokens.reset_ttl", "must be at most 24h: a reset link is a password (%s)", c.Tokens.ResetTTL)
	}
	positive("emergency.default_duration", c.Emergency.DefaultDuration)
	positive("emergency.max_duration", c.Emergency.MaxDuration)
	positive("emergency.auto_end_grace", c.Emergency.AutoEndGrace)
	if c.Emergency.DefaultDuration > c.Emergency.MaxDuration {
		add("emergency.default_duration", "must not exceed emergency.max_duration (%s > %s)", c.Emergency.DefaultDuration, c.Emergency.MaxDuration)
	}
	positive("oidc.access_token_ttl", c.OIDC.AccessTokenTTL)
	positive("oidc.id_token_ttl", c.OIDC.IDTokenTTL)
	positive("oidc.refresh_token_ttl", c.OIDC.RefreshTokenTTL)
	positive("oidc.code_ttl", c.OIDC.CodeTTL)
	if c.OIDC.CodeTTL > 10*time.Minute {
		// RFC 6749 §4.1.2: a code lives 10 minutes at most.
		add("oidc.code_ttl", "must be at most 10m: an authorization code is short-lived (%s)", c.OIDC.CodeTTL)
	}
	if c.OIDC.KeyRotation < time.Hour {
		add("oidc.key_rotation", "must be at least 1h, or relying parties refetch keys constantly (%s)", c.OIDC.KeyRotation)
	}
	hasRS := false
	for i, alg := range c.OIDC.KeyAlgorithms {
		switch alg {
		case "RS256":
			hasRS = true
		case "ES256":
		default:
			add(fmt.Sprintf("oidc.key_algorithms[%d]", i), "must be RS256 or ES256 (%q)", alg)
		}
	}
	if !hasRS {
		add("oidc.key_algorithms", "must include RS256, which every relying party accepts")
	}
	positive("throttle.window", c.Throttle.Window)
	positive("throttle.base_delay", c.Throttle.BaseDelay)
	positive("throttle.max_delay", c.Throttle.MaxDelay)
	if c.Throttle.AccountLimit < 1 {
		add("throttle.account_limit", "must be at least 1 (%d)", c.Throttle.AccountLimit)
	}
	if c.Throttle.IPLimit < 1 {
		add("throttle.ip_limit", "must be at least 1 (%d)", c.Throttle.IPLimit)
	}
	if c.Throttle.DeviceLimit < 1 {
		add("throttle.device_limit", "must be at least 1 (%d)", c.Throttle.DeviceLimit)
	}
	if c.Passwords.MaxConcurrentHashes < 1 {
		add("passwords.max_concurrent_hashes", "must be at least 1 (%d)", c.Passwords.MaxConcurrentHashes)
	}
	positive("passwords.hash_wait", c.Passwords.HashWait)
	if c.Passwords.HashWait > 30*time.Second {
		add("passwords.hash_wait", "must be at most 30s: a request waiting longer is better told to come back (%s)", c.Passwords.HashWait)
	}
	if c.Throttle.MaxDelay > time.Hour {
		add("throttle.max_delay", "must be at most 1h so throttling never becomes a lockout (%s)", c.Throttle.MaxDelay)
	}
	switch c.SMTP.Security {
	case "starttls", "tls", "none":
	default:
		add("smtp.security", "must be starttls, tls or none (%q)", c.SMTP.Security)
	}
	if c.SMTP.Host != "" {
		if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
			add("smtp.port", "must be between 1 and 65535 (%d)", c.SMTP.Port)
		}
		if c.SMTP.From == "" {
			add("smtp.from", "must be set when smtp.host is set")
		}
		if c.SMTP.Security == "none" && !IsLoopbackHost(c.SMTP.Host) {
			add("smtp.security", "none is allowed only for a relay on localhost; use starttls or tls")
		}
		if c.SMTP.Username != "" && c.SMTP.Password == "" {
			add("smtp.password", "must be set when smtp.username is set")
		}
	}
	if c.SecretKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.SecretKey); err != nil || len(k) != 32 {
			add("secret_key", "must be the base64 encoding of 32 random bytes (openssl rand -base64 32)")
		}
	}
	if c.DNS.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.DNS.Resolver); err != nil {
			add("dns.resolver", "must be host:port, e.g. 127.0.0.1:53 (%q)", c.DNS.Resolver)
		}
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			add("metrics.listen", "must be host:port, e.g. 127.0.0.1:9090, or empty to serve /metrics on listen (%q)", c.Metrics.Listen)
		} else if c.Metrics.Listen == c.Listen {
			add("metrics.listen", "must differ from listen (%q): leave it empty to serve /metrics there", c.Metrics.Listen)
		}
	}
	positive("saml.metadata_refresh", c.SAML.MetadataRefresh)
	if c.Health.ProbeInterval < 0 {
		add("health.probe_interval", "must be a duration such as 1m, or 0 to disable probing (%s)", c.Health.ProbeInterval)
	}
	positive("health.window", c.Health.Window)
	if c.Health.FailurePercent < 1 || c.Health.FailurePercent > 99 {
		add("health.failure_percent", "must be a whole number from 1 to 99 (%d)", c.Health.FailurePercent)
	}
	if c.Health.MinAttempts < 1 {
		add("health.min_attempts", "must be at least 1 (%d)", c.Health.MinAttempts)
	}
	if c.Health.UnreachableAfter < 1 {
		add("health.unreachable_after", "must be at least 1 (%d)", c.Health.UnreachableAfter)
	}
	for i, p := range c.SAML.MetadataAllowedNetworks {
		if _, err := ParsePrefix(p); err != nil {
			add(fmt.Sprintf("saml.metadata_allowed_networks[%d]", i), "must be an IP address or CIDR (%q)", p)
		}
	}
	return ps
}

// IsLoopbackHost reports whether host is localhost or a loopback address,
// where plain-HTTP development is allowed.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// ParsePrefix parses a CIDR or a single address (as a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParsePrefixes parses every entry of ss with ParsePrefix, stopping at the
// first that does not parse (Validate reports each of them by key).
func ParsePrefixes(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Secure reports whether cookies must carry the Secure flag (https).
func (c Config) Secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// validateCookieDomain checks session.cookie_domain: a bare lowercase DNS
// name (no scheme, port, leading dot or IP address) that is public_url's
// host or a parent of it, on an https public_url (the __Secure- cookie it
// selects is refused by browsers over plain http).
func (c Config) validateCookieDomain(add func(key, format string, args ...any)) {
	d := c.Session.CookieDomain
	if d == "" {
		return
	}
	const key = "session.cookie_domain"
	if d != strings.ToLower(d) || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") ||
		!strings.Contains(d, ".") || strings.ContainsAny(d, ":/ \t@*") || net.ParseIP(d) != nil {
		add(key, "must be a lowercase domain name such as example.com, without a leading dot, scheme or port (%q)", d)
		return
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Scheme != "https" {
		add(key, "requires an https public_url: the shared cookie is __Secure- and carries the Secure flag")
		return
	}
	host := strings.ToLower(u.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		add(key, "must be public_url's host (%s) or a domain it is under (%q)", host, d)
	}
}
