// Package account manages organizations, people, passwords, one-time links
// (first-admin set-up, password reset, invitations) and API tokens, and
// decides password sign-ins with brute-force throttling that cannot be
// turned into a lockout weapon.
package account

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Errors callers match with errors.Is. Their texts are safe to show people.
var (
	// ErrBadCredentials: wrong password, unknown email, no password set, or
	// suspended account — deliberately indistinguishable to the caller.
	ErrBadCredentials = errors.New("The email or password is incorrect.")
	// ErrInvalidLink: a one-time link that is unknown, used, superseded or expired.
	ErrInvalidLink = errors.New("This link is invalid or has expired. Request a new one.")
	// ErrSetupDone: the first-admin link is no longer needed.
	ErrSetupDone = errors.New("Gatehouse is already set up; sign in instead.")
	// ErrLastOwner: the change would leave the organization without an owner.
	ErrLastOwner = errors.New("An organization must keep at least one owner.")
	// ErrOwnerOnly: an admin (or an admin-scoped API token) tried to make
	// someone an owner, or to change or suspend an owner; only owners may.
	// It is authz.ErrOwnerOnly.
	ErrOwnerOnly = authz.ErrOwnerOnly
	// ErrForbidden: the actor may not do this at all (a member, a read-only
	// API token changing something, no actor). It is authz.ErrForbidden.
	ErrForbidden = authz.ErrForbidden
	// ErrNotFound: no such account, organization or token in this organization.
	ErrNotFound = errors.New("Not found.")
	// ErrExists: the email (or organization slug, or token name) is taken.
	ErrExists = errors.New("Already exists.")
)

// ThrottledError means too many recent failures for this account or
// address; the attempt was not evaluated.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Too many attempts. Try again in %s.", e.RetryAfter.Round(time.Second))
}

// InvalidInputError describes bad input in a sentence a person can act on
// (a too-short password, a malformed email). Field names the form field.
type InvalidInputError struct {
	Field   string
	Message string
}

func (e *InvalidInputError) Error() string { return e.Message }

// ThrottleConfig tunes brute-force protection.
type ThrottleConfig struct {
	Window       time.Duration // failures are counted over this window; default 15m
	AccountLimit int           // failures per email before delays start; default 5
	IPLimit      int           // failures per source address before delays start; default 5
	BaseDelay    time.Duration // first delay; doubles with every further failure; default 1s
	MaxDelay     time.Duration // cap, so throttling never becomes a lockout; default 15m
	// DeviceLimit is the failures a device cookie may make before it is
	// delayed like an account, and while delayed trusted no more; default 5.
	DeviceLimit int
}

// HashingConfig bounds concurrent argon2id runs (sign-ins, password
// changes, set-up), each of which holds HashParams.Memory for its duration.
type HashingConfig struct {
	MaxConcurrent int           // default GOMAXPROCS
	Wait          time.Duration // how long a request waits for a slot before *BusyError; default 5s
}

// Config configures the service.
type Config struct {
	PublicURL string        // e.g. https://gatehouse.corp.example — links in mails and the set-up link
	SetupTTL  time.Duration // first-admin link; default 1h
	ResetTTL  time.Duration // password reset link; default 30m
	InviteTTL time.Duration // invitation link; default 7 days
	Throttle  ThrottleConfig
	Hashing   HashingConfig
	// SecretKey is the configuration's secret key; the device cookie MAC
	// key is derived from it. Empty: a random key per process.
	SecretKey []byte
}

// Service is the account service.
type Service struct {
	store  storage.Store
	mailer mail.Sender
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	hashes    *hashGate
	deviceKey []byte

	sends sync.WaitGroup // background mail sends; see Wait
}

// New returns a Service; zero Config fields take their defaults.
func New(store storage.Store, mailer mail.Sender, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.SetupTTL <= 0 {
		cfg.SetupTTL = time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = 30 * time.Minute
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 7 * 24 * time.Hour
	}
	t := &cfg.Throttle
	if t.Window <= 0 {
		t.Window = 15 * time.Minute
	}
	if t.AccountLimit <= 0 {
		t.AccountLimit = 5
	}
	if t.IPLimit <= 0 {
		t.IPLimit = 5
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = time.Second
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = 15 * time.Minute
	}
	if t.MaxDelay < t.BaseDelay {
		t.MaxDelay = t.BaseDelay
	}
	if t.DeviceLimit <= 0 {
		t.DeviceLimit = 5
	}
	if cfg.Hashing.MaxConcurrent <= 0 {
		cfg.Hashing.MaxConcurrent = max(runtime.GOMAXPROCS(0), 1)
	}
	if cfg.Hashing.Wait <= 0 {
		cfg.Hashing.Wait = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	key, err := deviceKeyFrom(cfg.SecretKey)
	if err != nil {
		// crypto/rand does not fail on supported platforms, and HKDF
		// fails only for lengths far from ours.
		panic(err)
	}
	return &Service{store: store, mailer: mailer, cfg: cfg, log: log, now: now,
		hashes: newHashGate(cfg.Hashing.MaxConcurrent, cfg.Hashing.Wait), deviceKey: key}
}

// Wait waits for background mail sends (reset links, invitations) to
// finish; for tests and graceful shutdown.
func (s *Service) Wait() { s.sends.Wait() }
