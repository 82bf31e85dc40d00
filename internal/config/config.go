// Package config is Gatehouse's typed configuration: a schema with
// defaults, loaded from an optional YAML file and GATEHOUSE_* environment
// variables, and validated with every problem reported at once by key path.
package config

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. The yaml tag of each field is its key;
// the environment variable is GATEHOUSE_ followed by the key path in upper
// case joined by "_" (session.idle_timeout → GATEHOUSE_SESSION_IDLE_TIMEOUT).
type Config struct {
	// Listen is the address the HTTP server binds.
	Listen string `yaml:"listen"`
	// PublicURL is the URL people and apps reach Gatehouse at; links in
	// mails and the cookie's Secure flag derive from it. Default:
	// http://<listen>.
	PublicURL string `yaml:"public_url"`
	// DataDir holds the SQLite database and the development mail outbox.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL selects the database: empty for SQLite in DataDir, or
	// postgres://… for PostgreSQL.
	DatabaseURL string `yaml:"database_url"`
	// ProductName is shown on sign-in pages before the organization is known
	// and more than one organization exists.
	ProductName string `yaml:"product_name"`
	// SecretKey (base64 of 32 random bytes) encrypts secrets at rest, such
	// as the SP private keys of IdP connections. Empty: a key is generated
	// once into <data_dir>/secret.key. Nodes sharing a PostgreSQL database
	// must share this key.
	SecretKey string `yaml:"secret_key"`

	Log      LogConfig      `yaml:"log"`
	HTTP     HTTPConfig     `yaml:"http"`
	Session  SessionConfig  `yaml:"session"`
	Tokens   TokensConfig   `yaml:"tokens"`
	Throttle ThrottleConfig `yaml:"throttle"`
	// Passwords bounds the memory and CPU password hashing may take.
	Passwords PasswordsConfig `yaml:"passwords"`
	SMTP      SMTPConfig      `yaml:"smtp"`
	DNS       DNSConfig       `yaml:"dns"`
	SAML      SAMLConfig      `yaml:"saml"`
	Metrics   MetricsConfig   `yaml:"metrics"`
	// Health tunes SSO health: probes, incidents (internal/health).
	Health HealthConfig `yaml:"health"`
	// Emergency bounds emergency (failback) mode (internal/emergency).
	Emergency EmergencyConfig `yaml:"emergency"`
	// OIDC tunes the OpenID Provider (internal/oidc).
	OIDC OIDCConfig `yaml:"oidc"`
}

// OIDCConfig tunes the OpenID Provider apps sign in through. An app may
// set shorter or longer token lifetimes of its own; these are the
// deployment's.
type OIDCConfig struct {
	// AccessTokenTTL bounds an access token. Access tokens are opaque and
	// checked on every use, so revocation is immediate whatever this is.
	AccessTokenTTL time.Duration `yaml:"access_token_ttl"`
	// IDTokenTTL bounds an ID token.
	IDTokenTTL time.Duration `yaml:"id_token_ttl"`
	// RefreshTokenTTL bounds a refresh token (each use rotates it and
	// starts a new one); it never outlives the Gatehouse session behind it.
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	// CodeTTL is how long an authorization code may wait for redemption.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// KeyRotation is how long a signing key signs before a new one takes
	// over; the old one stays published until tokens it signed expired.
	KeyRotation time.Duration `yaml:"key_rotation"`
	// KeyAlgorithms are the algorithms signing keys are kept for: RS256
	// always (every relying party must accept it), ES256 for apps that ask.
	KeyAlgorithms []string `yaml:"key_algorithms"`
}

// HealthConfig tunes SSO health monitoring and incidents.
type HealthConfig struct {
	// ProbeInterval is how often each connection's IdP (metadata URL, else
	// SSO endpoint) is probed; 0 disables probing.
	ProbeInterval time.Duration `yaml:"probe_interval"`
	// Window is how far back the failure ratio looks, and how long a cause
	// must be clear before an incident ends.
	Window time.Duration `yaml:"window"`
	// FailurePercent: an incident opens when more than this percentage of
	// the window's sign-ins failed.
	FailurePercent int `yaml:"failure_percent"`
	// MinAttempts is how many sign-ins the window needs before the ratio
	// counts.
	MinAttempts int `yaml:"min_attempts"`
	// UnreachableAfter: an incident opens after this many failed probes or
	// metadata refreshes in a row.
	UnreachableAfter int `yaml:"unreachable_after"`
}

// EmergencyConfig bounds emergency (failback) mode.
type EmergencyConfig struct {
	// DefaultDuration is how long an emergency lasts when its starter
	// gives no duration.
	DefaultDuration time.Duration `yaml:"default_duration"`
	// MaxDuration caps an emergency's length from its start, extensions
	// included: failback is time-boxed, never a way to leave SSO for good.
	MaxDuration time.Duration `yaml:"max_duration"`
	// AutoEndGrace is how long an incident must have been over before an
	// emergency automatic failback started for it ends.
	AutoEndGrace time.Duration `yaml:"auto_end_grace"`
}

// MetricsConfig places the Prometheus endpoint.
type MetricsConfig struct {
	// Listen, when set, is a separate address (e.g. 127.0.0.1:9090) that
	// serves /metrics, and the main listener stops serving it. Empty keeps
	// /metrics on the main listener.
	Listen string `yaml:"listen"`
}

// DNSConfig selects the resolver used to verify domain ownership.
type DNSConfig struct {
	// Resolver is host:port of a DNS server; empty uses the system's.
	Resolver string `yaml:"resolver"`
}

// SAMLConfig tunes single sign-on.
type SAMLConfig struct {
	// MetadataRefresh is how often metadata fetched from a URL is refreshed;
	// a failed refresh keeps the last good copy.
	MetadataRefresh time.Duration `yaml:"metadata_refresh"`
	// MetadataAllowedNetworks lists non-public networks (CIDRs) that IdP
	// metadata URLs may point to, e.g. an intranet ADFS farm. Without it,
	// metadata is never fetched from loopback, private or link-local
	// addresses, so an organization admin cannot aim the server at
	// internal services.
	MetadataAllowedNetworks []string `yaml:"metadata_allowed_networks"`
}

// LogConfig controls structured logs.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// HTTPConfig controls the HTTP server.
type HTTPConfig struct {
	// TrustedProxies lists CIDRs of reverse proxies whose X-Forwarded-For is
	// believed (comma-separated in the environment).
	TrustedProxies  []string      `yaml:"trusted_proxies"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RequestTimeout is the deadline of every request: the database work
	// it does is cancelled then, and the client gets 503 with the request
	// ID instead of waiting on a database that does not answer.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// SessionConfig sets session lifetimes and how each node keeps its session
// cache honest.
type SessionConfig struct {
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	// PollInterval is how often each node reads the invalidation feed; a
	// revocation reaches every node within about this long.
	PollInterval time.Duration `yaml:"poll_interval"`
	// StaleAfter is how long a node trusts its session cache without a
	// successful read of the feed; past it every request is checked
	// against the database. Default: StaleFactor × PollInterval.
	StaleAfter time.Duration `yaml:"stale_after"`
	// CookieDomain, when set (e.g. "example.com"), scopes the session
	// cookie to that domain and its subdomains, so apps behind a reverse
	// proxy that asks /auth/verify on app.example.com see the session.
	// The cookie is then named "__Secure-gatehouse_session" (a __Host-
	// cookie cannot carry a Domain). Requires an https public_url whose
	// host is the domain or under it. Empty (the default): a host-only
	// "__Host-gatehouse_session" cookie.
	CookieDomain string `yaml:"cookie_domain"`
}

// SessionCacheTTL bounds how long a node's cached session is trusted
// without reading it again, for changes that reach the database without an
// invalidation (a safety net, not an operator setting).
const SessionCacheTTL = 30 * time.Second

// StaleFactor derives session.stale_after from session.poll_interval when
// it is not set: a few missed polls are a cut-off, one is a hiccup.
const StaleFactor = 4

// TokensConfig sets one-time link lifetimes.
type TokensConfig struct {
	SetupTTL  time.Duration `yaml:"setup_ttl"`
	ResetTTL  time.Duration `yaml:"reset_ttl"`
	InviteTTL time.Duration `yaml:"invite_ttl"`
}

// ThrottleConfig tunes brute-force protection of password sign-in.
type ThrottleConfig struct {
	Window       time.Duration `yaml:"window"`
	AccountLimit int           `yaml:"account_limit"`
	IPLimit      int           `yaml:"ip_limit"`
	BaseDelay    time.Duration `yaml:"base_delay"`
	MaxDelay     time.Duration `yaml:"max_delay"`
	// DeviceLimit is the failed sign-ins a device cookie may make before it
	// is delayed and, while delayed, trusted no more.
	DeviceLimit int `yaml:"device_limit"`
}

// PasswordsConfig bounds concurrent argon2id runs: each holds 19 MiB for
// tens of milliseconds, so the bound caps the memory a burst of sign-ins
// can take at about MaxConcurrentHashes × 19 MiB.
type PasswordsConfig struct {
	// MaxConcurrentHashes is how many passwords are hashed or checked at
	// once; default GOMAXPROCS (more cannot run faster).
	MaxConcurrentHashes int `yaml:"max_concurrent_hashes"`
	// HashWait is how long a request waits for a free slot before it is
	// answered 503 with Retry-After.
	HashWait time.Duration `yaml:"hash_wait"`
}

// SMTPConfig configures outgoing mail. With no host, mail goes to the
// development outbox (logged and written under DataDir/outbox).
type SMTPConfig struct {
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	From        string `yaml:"from"`
	Security    string `yaml:"security"` // starttls, tls or none
	RootCAsFile string `yaml:"root_cas_file"`
	ServerName  string `yaml:"server_name"`
}

// SessionTouchInterval is how often a session's last-seen time is written
// (at most once per interval, so activity costs no write per request).
// Idle expiry reads that time, so session.idle_timeout must leave room for
// it: see Validate.
const SessionTouchInterval = time.Minute

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		Listen:      "127.0.0.1:8080",
		DataDir:     "./gatehouse-data",
		ProductName: "Gatehouse",
		Log:         LogConfig{Level: "info", Format: "json"},
		HTTP:        HTTPConfig{ShutdownTimeout: 10 * time.Second, RequestTimeout: 30 * time.Second},
		Session: SessionConfig{IdleTimeout: 8 * time.Hour, MaxLifetime: 7 * 24 * time.Hour,
			PollInterval: 500 * time.Millisecond},
		Tokens: TokensConfig{SetupTTL: time.Hour, ResetTTL: 30 * time.Minute, InviteTTL: 7 * 24 * time.Hour},
		Throttle: ThrottleConfig{Window: 15 * time.Minute, AccountLimit: 5, IPLimit: 5,
			BaseDelay: time.Second, MaxDelay: 15 * time.Minute, DeviceLimit: 5},
		Passwords: PasswordsConfig{MaxConcurrentHashes: max(runtime.GOMAXPROCS(0), 1), HashWait: 5 * time.Second},
		SMTP:      SMTPConfig{Port: 587, Security: "starttls", From: "Gatehouse <no-reply@localhost>"},
		SAML:      SAMLConfig{MetadataRefresh: 24 * time.Hour},
		Health: HealthConfig{ProbeInterval: time.Minute, Window: 15 * time.Minute, FailurePercent: 50,
			MinAttempts: 5, UnreachableAfter: 3},
		Emergency: EmergencyConfig{DefaultDuration: 4 * time.Hour, MaxDuration: 72 * time.Hour, AutoEndGrace: 15 * time.Minute},
		OIDC: OIDCConfig{AccessTokenTTL: 10 * time.Minute, IDTokenTTL: time.Hour, RefreshTokenTTL: 8 * time.Hour,
			CodeTTL: time.Minute, KeyRotation: 720 * time.Hour, KeyAlgorithms: []string{"RS256", "ES256"}},
	}
}

// Load reads the YAML file at path (none when empty), applies GATEHOUSE_*
// variables from environ (os.Environ() format), fills derived defaults and
// validates. A validation failure is a *ValidationError listing every problem.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	var problems []Problem
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		ps, err := decodeYAML(f, &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
		problems = ps
	}
	problems = append(problems, applyEnv(&cfg, environ)...)
	cfg.fillDerived()
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		return cfg, &ValidationError{Problems: problems}
	}
	return cfg, nil
}

// decodeYAML reads the file into cfg key by key, so that every unknown key
// and every value of the wrong type is reported with its key path, and the
// rest of the file still applies (Validate then reports its problems too).
// Only a file that is not YAML at all is a single error.
func decodeYAML(r io.Reader, cfg *Config) ([]Problem, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var ps []Problem
	decodeNode(doc.Content[0], reflect.ValueOf(cfg).Elem(), "", &ps)
	return ps, nil
}

func decodeNode(n *yaml.Node, v reflect.Value, prefix string, ps *[]Problem) {
	at := func(key string) string {
		if prefix == "" {
			return key
		}
		return prefix + "." + key
	}
	if n.Kind != yaml.MappingNode {
		where := prefix
		if where == "" {
			where = "(top level)"
		}
		*ps = append(*ps, Problem{Key: where, Message: fmt.Sprintf("line %d: must be a mapping of keys to values", n.Line)})
		return
	}
	fields := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			fields[tag] = v.Field(i)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		f, ok := fields[key]
		if !ok {
			*ps = append(*ps, Problem{Key: at(key), Message: fmt.Sprintf("line %d: unknown setting (misspelt?)", n.Content[i].Line)})
			continue
		}
		if f.Kind() == reflect.Struct {
			decodeNode(val, f, at(key), ps)
			continue
		}
		tmp := reflect.New(f.Type())
		if err := val.Decode(tmp.Interface()); err != nil {
			*ps = append(*ps, Problem{Key: at(key), Message: fmt.Sprintf("line %d: %s", val.Line, describe(f.Type(), val.Value))})
			continue
		}
		f.Set(tmp.Elem())
	}
}

// describe says in words what a value of type t should look like.
func describe(t reflect.Type, got string) string {
	switch {
	case t == durationType:
		return fmt.Sprintf("%q is not a duration such as 30m or 8h", got)
	case t.Kind() == reflect.Int:
		return fmt.Sprintf("%q is not a whole number", got)
	case t.Kind() == reflect.Slice:
		return "must be a list, e.g. [10.0.0.0/8]"
	default:
		return fmt.Sprintf("%q is not a valid value", got)
	}
}

// fillDerived sets defaults that depend on other settings.
func (c *Config) fillDerived() {
	if c.PublicURL == "" && c.Listen != "" {
		c.PublicURL = "http://" + c.Listen
		// A loopback address is reached as localhost: passkeys (WebAuthn)
		// need a domain name, and browsers and go-webauthn refuse an IP.
		if host, port, err := net.SplitHostPort(c.Listen); err == nil {
			if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
				c.PublicURL = "http://" + net.JoinHostPort("localhost", port)
			}
		}
	}
	if c.Session.StaleAfter == 0 && c.Session.PollInterval > 0 {
		c.Session.StaleAfter = StaleFactor * c.Session.PollInterval
	}
}
