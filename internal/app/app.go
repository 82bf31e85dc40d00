// Package app assembles a running Gatehouse from its configuration: the
// database, the mailer and the services. `serve`, the admin CLI and the
// end-to-end tests all build on it, so they share one wiring.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/deployment"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// App is an assembled Gatehouse.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Store    storage.Store
	Mailer   mail.Sender
	Accounts *account.Service
	Sessions *session.Service
	Domains  *domain.Service
	IdPs     *idp.Service
	Policies *policy.Service
	// Emergencies runs emergency (failback) mode.
	Emergencies *emergency.Service
	// Audit reads the audit log for the console, the API and the CLI.
	Audit  *audit.Service
	SSO    *sso.Service
	SignIn *signin.Engine
	// BreakGlass lists the break-glass admins; OrgRecovery generates and
	// redeems organization recovery codes.
	BreakGlass  *breakglass.Service
	OrgRecovery *orgrecovery.Service
	// Health watches SSO connections (outcomes, probes, incidents,
	// certificate expiry); its Run loop is started by serve.
	Health *health.Service
	// Passkeys registers and verifies passkeys; nil when the public URL
	// is an IP address, where WebAuthn cannot work.
	Passkeys *mfa.Passkeys
	// MFA: authenticator apps and personal recovery codes.
	MFA *mfa.Service
	// Readiness lists who has a passkey for emergencies and reminds
	// those without one.
	Readiness *readiness.Service
	// Apps registers the applications people sign in to through
	// Gatehouse (OIDC clients, forward-auth sites).
	Apps *apps.Service
	// OIDC is the OpenID Provider; its Run loop (signing-key rotation,
	// purge) is started by serve.
	OIDC *oidc.Provider
	// Deployment records the public URL the server runs at (serve) and
	// reads it back (the CLI).
	Deployment *deployment.Service
	// RecordedPublicURL is the public URL the server recorded, when
	// Options.PreferRecordedPublicURL found one; Config.PublicURL is then
	// the same.
	RecordedPublicURL string
	// SecretKey encrypts secrets at rest (see config secret_key).
	SecretKey []byte
	Registry  *prometheus.Registry
	Metrics   *metrics.Metrics
	Now       func() time.Time

	sql          *sqlstore.Store
	existingOnly bool
}

// HasSecondFactor reports whether the account has an authenticator app or
// a passkey: what makes a break-glass admin's MFA step passable.
func (a *App) HasSecondFactor(ctx context.Context, accountID string) (bool, error) {
	return mfa.HasSecondFactor(a.MFA, a.Passkeys)(ctx, accountID)
}

// NewLogger builds the JSON (or text) slog logger the config asks for,
// tagging every line logged with a request context with its request ID.
func NewLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(reqctx.LogHandler(h))
}

// DatabaseURL is the database the config selects: PostgreSQL when
// database_url is set, otherwise SQLite at <data_dir>/gatehouse.db.
func DatabaseURL(cfg config.Config) (string, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", fmt.Errorf("app: data dir: %w", err)
	}
	return "sqlite://" + filepath.Join(dir, "gatehouse.db"), nil
}

// Options adjusts how OpenWith assembles the app. The zero value is what
// serve and the CLI use (Open).
type Options struct {
	// Now replaces time.Now as every service's clock. It must be set
	// before the services are built, because each takes its clock at
	// construction: end-to-end tests (internal/drill) move time by hand.
	Now func() time.Time
	// ExistingOnly opens only a database that is already there: no data
	// directory, SQLite file or secret key is created, and a missing one is
	// an *NoDatabaseError naming where it looked. The admin commands set it,
	// because one run from the wrong directory must not leave an empty
	// database behind and then report the organization as unknown.
	ExistingOnly bool
	// PreferRecordedPublicURL builds the services on the public URL the
	// server recorded at its last start (App.RecordedPublicURL) rather than
	// on the configuration's, so the CLI prints addresses the server
	// answers on. Without a recorded one, the configuration's stays.
	PreferRecordedPublicURL bool
}

// Open connects to the database, applies migrations and builds the services.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return OpenWith(ctx, cfg, log, Options{})
}

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	dbURL, err := DatabaseURL(cfg)
	if err != nil {
		return nil, err
	}
	if opts.ExistingOnly {
		if err := checkExisting(cfg, dbURL); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		// The data directory holds the SQLite file and the outbox, both secret.
		return nil, fmt.Errorf("app: create data dir %s: %w", cfg.DataDir, err)
	}
	// A database that accepts connections but never answers must fail the
	// start with a reason, not hang it: the first contact gets the same
	// deadline as a request.
	octx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.HTTP.RequestTimeout > 0 {
		octx, cancel = context.WithTimeout(ctx, cfg.HTTP.RequestTimeout)
	}
	st, err := sqlstore.Open(octx, dbURL, log)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("app: open database: %w", err)
	}
	if opts.ExistingOnly {
		if ok, err := st.HasSchema(ctx); err != nil || !ok {
			st.Close()
			return nil, &NoDatabaseError{DataDir: absDir(cfg.DataDir), Missing: redactURL(dbURL),
				What: "Gatehouse schema (the database is empty)"}
		}
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("app: migrate database: %w", err)
	}
	a := &App{Config: cfg, Log: log, Store: st, sql: st, Now: time.Now, existingOnly: opts.ExistingOnly}
	if opts.Now != nil {
		a.Now = opts.Now
	}
	a.Deployment = deployment.New(st, log, a.Now)
	if opts.PreferRecordedPublicURL {
		recorded, ok, err := a.Deployment.PublicURL(ctx)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
		if ok {
			a.RecordedPublicURL = recorded
			a.Config.PublicURL = recorded
		}
	}
	if err := a.build(); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build() error {
	cfg := a.Config
	key, err := loadSecretKey(cfg, a.Log, !a.existingOnly)
	if err != nil {
		return err
	}
	a.SecretKey = key
	if cfg.SMTP.Host != "" {
		m, err := mail.NewSMTP(mail.SMTPConfig{
			Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
			From: cfg.SMTP.From, Security: cfg.SMTP.Security, RootCAsFile: cfg.SMTP.RootCAsFile, ServerName: cfg.SMTP.ServerName,
		}, a.Log)
		if err != nil {
			return fmt.Errorf("app: smtp: %w", err)
		}
		a.Mailer = m
	} else {
		a.Mailer = &mail.Outbox{Dir: filepath.Join(cfg.DataDir, "outbox"), Log: a.Log}
	}
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Metrics = metrics.New(a.Registry)
	a.Accounts = account.New(a.Store, a.Mailer, account.Config{
		PublicURL: strings.TrimRight(cfg.PublicURL, "/"),
		SetupTTL:  cfg.Tokens.SetupTTL, ResetTTL: cfg.Tokens.ResetTTL, InviteTTL: cfg.Tokens.InviteTTL,
		Throttle: account.ThrottleConfig{
			Window: cfg.Throttle.Window, AccountLimit: cfg.Throttle.AccountLimit, IPLimit: cfg.Throttle.IPLimit,
			BaseDelay: cfg.Throttle.BaseDelay, MaxDelay: cfg.Throttle.MaxDelay, DeviceLimit: cfg.Throttle.DeviceLimit,
		},
		Hashing:   account.HashingConfig{MaxConcurrent: cfg.Passwords.MaxConcurrentHashes, Wait: cfg.Passwords.HashWait},
		SecretKey: a.SecretKey,
	}, a.Log, a.Now)
	a.Sessions = session.New(a.Store, session.Config{
		IdleTimeout: cfg.Session.IdleTimeout, MaxLifetime: cfg.Session.MaxLifetime, Secure: cfg.Secure(),
		CookieDomain:  cfg.Session.CookieDomain,
		TouchInterval: config.SessionTouchInterval,
		PollInterval:  cfg.Session.PollInterval, StaleAfter: cfg.Session.StaleAfter,
	}, a.Log, a.Now)
	box, err := secretbox.New(a.SecretKey)
	if err != nil {
		return err
	}
	a.MFA = mfa.NewService(a.Store, box, cfg.ProductName, a.Log, a.Now)
	a.MFA.Backoff = mfa.BackoffFrom(cfg.Throttle)
	a.MFA.SetMailer(a.Mailer) // an admin's reset of someone's factors is mailed to them
	a.Domains = domain.New(a.Store, cfg.DNS.Resolver, a.Log, a.Now)
	allowed, err := config.ParsePrefixes(cfg.SAML.MetadataAllowedNetworks)
	if err != nil {
		return fmt.Errorf("app: saml.metadata_allowed_networks: %w", err)
	}
	a.IdPs = idp.New(a.Store, box, idp.Config{
		PublicURL: strings.TrimRight(cfg.PublicURL, "/"), MetadataRefresh: cfg.SAML.MetadataRefresh,
		MetadataAllowedNetworks: allowed,
	}, a.Log, a.Now)
	a.Policies = policy.New(a.Store, a.Log, a.Now)
	// Emergency mode: Route asks it whether failback is in force, passwords
	// set are classified by it, and reset mail during an emergency is gated.
	a.Emergencies = emergency.NewService(a.Store, notify.New(a.Store, a.Mailer, a.Log), cfg.Emergency, a.Log, a.Now)
	a.Policies.SetEmergencies(a.Emergencies)
	a.Emergencies.SetSessionCache(a.Sessions.Forget)
	a.Accounts.SetPasswordOrigin(a.Emergencies.PasswordOrigin)
	a.Accounts.SetResetGate(a.Emergencies.ResetGate)
	a.Audit = audit.NewService(a.Store)
	a.SSO = sso.New(a.Store, a.IdPs, a.Log, a.Now, sso.Options{})
	a.OrgRecovery = orgrecovery.New(a.Store, notify.New(a.Store, a.Mailer, a.Log), a.Log, a.Now)
	a.Health = health.New(a.Store, notify.New(a.Store, a.Mailer, a.Log), a.Metrics, health.Config{
		ProbeInterval: cfg.Health.ProbeInterval, Window: cfg.Health.Window,
		FailureRatio: float64(cfg.Health.FailurePercent) / 100, MinAttempts: cfg.Health.MinAttempts,
		CheckFailures: cfg.Health.UnreachableAfter, HTTPClient: a.IdPs.HTTPClient(),
		PublicURL: strings.TrimRight(cfg.PublicURL, "/"),
	}, a.Log, a.Now)
	a.SSO.SetOutcomes(a.Health)
	a.IdPs.SetRefreshObserver(a.Health)
	a.Policies.SetHealth(a.Health)
	// Automatic failback: an incident that lasts a policy's threshold
	// starts emergency mode for it.
	a.Health.SetListener(emergency.Incidents{S: a.Emergencies})
	if a.Passkeys, err = newPasskeys(a.Store, cfg, a.Log, a.Now); err != nil {
		return err
	}
	if a.Passkeys != nil {
		a.Emergencies.SetPasskeyCounts(a.Passkeys.Count)
	}
	// Who has a second factor (an authenticator app or a passkey): the
	// break-glass listing shows it; lockout.Check (run by the account,
	// domain, idp and policy services) needs a break-glass owner with one
	// before SSO is enforced and while it is; the MFA services refuse
	// removing that owner's last one.
	a.BreakGlass = breakglass.New(a.Store, a.HasSecondFactor)
	a.Accounts.SetSecondFactor(a.HasSecondFactor)
	a.Domains.SetSecondFactor(a.HasSecondFactor)
	a.IdPs.SetSecondFactor(a.HasSecondFactor)
	a.Policies.SetSecondFactor(a.HasSecondFactor)
	a.MFA.SetSecondFactor(a.HasSecondFactor)
	if a.Passkeys != nil {
		a.Passkeys.SetSecondFactor(a.HasSecondFactor)
	}
	a.Readiness = readiness.New(a.Store, a.Mailer, strings.TrimRight(cfg.PublicURL, "/"), a.Log, a.Now)
	a.Apps = apps.New(a.Store, strings.TrimRight(cfg.PublicURL, "/"), a.Log, a.Now)
	// Second factors: the decision asks who has one, the engine verifies
	// and enrols them.
	a.Policies.SetFactors(a.HasSecondFactor)
	deps := signin.Deps{
		Store: a.Store, Accounts: a.Accounts, Policies: a.Policies, Sessions: a.Sessions, SSO: a.SSO,
		Metrics: a.Metrics, Log: a.Log, Now: a.Now, Notify: notify.New(a.Store, a.Mailer, a.Log),
	}
	mfa.WireSignIn(&deps, a.MFA, a.Passkeys)
	if a.SignIn, err = signin.New(deps); err != nil {
		return err
	}
	a.OIDC, err = oidc.New(a.Store, a.Apps, a.Sessions, oidc.Config{
		PublicURL: cfg.PublicURL, AccessTokenTTL: cfg.OIDC.AccessTokenTTL, IDTokenTTL: cfg.OIDC.IDTokenTTL,
		RefreshTokenTTL: cfg.OIDC.RefreshTokenTTL, CodeTTL: cfg.OIDC.CodeTTL, KeyRotation: cfg.OIDC.KeyRotation,
		KeyAlgorithms: cfg.OIDC.KeyAlgorithms, SecretKey: a.SecretKey,
	}, a.Log, a.Now)
	return err
}

// Dialect names the database in use: "sqlite" or "postgres".
func (a *App) Dialect() string { return a.sql.Dialect() }

// Close waits for background mail and closes the database.
func (a *App) Close() error {
	a.Accounts.Wait()
	a.Readiness.Wait()
	a.MFA.Wait()
	return a.sql.Close()
}

// loadSecretKey returns the configured secret key, or the one kept in
// <data_dir>/secret.key, creating it (0600) on first start.
func loadSecretKey(cfg config.Config, log *slog.Logger, create bool) ([]byte, error) {
	if cfg.SecretKey != "" {
		return base64.StdEncoding.DecodeString(cfg.SecretKey)
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("app: %s is not a base64 32-byte key", path)
		}
		return k, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("app: read secret key: %w", err)
	} else if !create {
		// A new key here would not open what the server sealed with its own.
		return nil, &NoDatabaseError{DataDir: absDir(cfg.DataDir), Missing: path,
			What: "secret key (the server's secret_key setting, or secret.key in its data directory)"}
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("app: generate secret key: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadSecretKey(cfg, log, create)
		}
		return nil, fmt.Errorf("app: write secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		return nil, fmt.Errorf("app: write secret key: %w", err)
	}
	if cfg.DatabaseURL != "" {
		log.Warn("generated a secret key in the data directory; nodes sharing this database must all use the same secret_key", "path", path)
	}
	return k, nil
}
