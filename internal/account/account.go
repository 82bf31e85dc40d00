// Package account manages organizations, people, passwords, one-time links
// (first-admin set-up, password reset, invitations) and API tokens, and
// decides password sign-ins with brute-force throttling that cannot be
// turned into a lockout weapon.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Errors callers match with errors.Is. Their texts are safe to show people;
// each carries an errs kind (and code) that edges classify by.
var (
	// ErrBadCredentials: wrong password, unknown email, no password set, or
	// suspended account — deliberately indistinguishable to the caller.
	ErrBadCredentials error = errs.New(errs.Unauthenticated, "bad_credentials", "The email or password is incorrect.")
	// ErrInvalidLink: a one-time link that is unknown, used, superseded or expired.
	ErrInvalidLink error = errs.New(errs.NotFound, "invalid_link", "This link is invalid or has expired. Request a new one.")
	// ErrSetupDone: the first-admin link is no longer needed.
	ErrSetupDone error = errs.New(errs.Conflict, "setup_done", "Gatehouse is already set up; sign in instead.")
	// ErrLastOwner: the change would leave the organization without an owner.
	ErrLastOwner error = errs.New(errs.PreconditionFailed, "last_owner", "An organization must keep at least one owner.")
	// ErrOwnerOnly: an admin (or an admin-scoped API token) tried to make
	// someone an owner, or to change or suspend an owner; only owners may.
	// It is authz.ErrOwnerOnly.
	ErrOwnerOnly = authz.ErrOwnerOnly
	// ErrForbidden: the actor may not do this at all (a member, a read-only
	// API token changing something, no actor). It is authz.ErrForbidden.
	ErrForbidden = authz.ErrForbidden
	// ErrNotFound: no such account, organization or token in this organization.
	ErrNotFound error = errs.New(errs.NotFound, "", "Not found.")
	// ErrExists: the email (or organization slug, or token name) is taken.
	ErrExists error = errs.New(errs.Conflict, "", "Already exists.")
)

// ThrottledError means too many recent failures for this account or
// address; the attempt was not evaluated.
type ThrottledError struct{ RetryAfter time.Duration }

// Kind reports RateLimited.
func (e *ThrottledError) Kind() errs.Kind { return errs.RateLimited }

// Code returns "throttled".
func (e *ThrottledError) Code() string { return "throttled" }

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

// Kind reports Invalid.
func (e *InvalidInputError) Kind() errs.Kind { return errs.Invalid }

// InputField returns Field.
func (e *InvalidInputError) InputField() string { return e.Field }

// ThrottleConfig tunes brute-force protection (defaults: config throttle.*).
type ThrottleConfig struct {
	Window       time.Duration // failures are counted over this window
	AccountLimit int           // failures per email before delays start
	IPLimit      int           // failures per source address before delays start
	BaseDelay    time.Duration // first delay; doubles with every further failure
	MaxDelay     time.Duration // cap, so throttling never becomes a lockout
	// DeviceLimit is the failures a device cookie may make before it is
	// delayed like an account, and while delayed trusted no more.
	DeviceLimit int
}

// HashingConfig bounds concurrent argon2id runs (sign-ins, password
// changes, set-up), each of which holds HashParams.Memory for its duration.
type HashingConfig struct {
	MaxConcurrent int
	Wait          time.Duration // how long a request waits for a slot before *BusyError
}

// Config configures the service.
type Config struct {
	PublicURL string        // e.g. https://gatehouse.corp.example — links in mails and the set-up link
	SetupTTL  time.Duration // first-admin link
	ResetTTL  time.Duration // password reset link
	InviteTTL time.Duration // invitation link
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

	later mail.Later // background mail sends; see Wait

	// passwordOrigin classifies a password being set; see SetPasswordOrigin.
	passwordOrigin PasswordOriginFunc
	// resetGate may refuse reset mail during an emergency; see SetResetGate.
	resetGate ResetGateFunc
	// secondFactor proves break-glass owners to lockout.Check; see
	// SetSecondFactor.
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the second-factor lookup lockout.Check uses to
// prove a break-glass owner (at wiring). Without it nobody is proven, so a
// change that needs a break-glass owner is refused unless forced.
func (s *Service) SetSecondFactor(f lockout.SecondFactorFunc) { s.secondFactor = f }

// PasswordOriginFunc says under what conditions a password set for acct now
// is set (storage.PasswordOpen, PasswordEnforced or PasswordEmergency with
// the emergency's ID), reading through tx, the transaction that sets it.
type PasswordOriginFunc func(ctx context.Context, tx storage.Store, acct storage.Account, now time.Time) (origin, emergencyID string, err error)

// SetPasswordOrigin installs the classifier of passwords being set (the
// policy and emergency state live above this package). Without one, every
// password is recorded as set while SSO was not enforced.
func (s *Service) SetPasswordOrigin(fn PasswordOriginFunc) { s.passwordOrigin = fn }

// ResetGateFunc decides whether a password reset mail may be sent for
// email; acct is its account, nil when none exists. When it refuses, the
// request gets the same answer as any other and no mail, and the refusal
// is audited as "password.reset_refused" with reason in orgID's log.
type ResetGateFunc func(ctx context.Context, email string, acct *storage.Account) (allow bool, orgID, reason string, err error)

// SetResetGate installs the reset gate (the emergency service: during an
// emergency only accounts eligible to fail back get reset mail). Without
// one, every active account gets it.
func (s *Service) SetResetGate(fn ResetGateFunc) { s.resetGate = fn }

// stampPassword records on a, inside tx, under what conditions its new
// password is being set.
func (s *Service) stampPassword(ctx context.Context, tx storage.Store, a *storage.Account, now time.Time) error {
	a.PasswordOrigin, a.PasswordEmergencyID = storage.PasswordOpen, ""
	if s.passwordOrigin == nil {
		return nil
	}
	origin, id, err := s.passwordOrigin(ctx, tx, *a, now)
	if err != nil {
		return fmt.Errorf("account: classify password: %w", err)
	}
	a.PasswordOrigin, a.PasswordEmergencyID = origin, id
	return nil
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// New returns a Service; zero Config fields take config.Default's values.
func New(store storage.Store, mailer mail.Sender, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	// The server passes every field from its validated configuration; a
	// zero field (tests) takes the value config.Default gives it, so
	// defaults live only in internal/config.
	def := config.Default()
	orDefault(&cfg.SetupTTL, def.Tokens.SetupTTL)
	orDefault(&cfg.ResetTTL, def.Tokens.ResetTTL)
	orDefault(&cfg.InviteTTL, def.Tokens.InviteTTL)
	t := &cfg.Throttle
	orDefault(&t.Window, def.Throttle.Window)
	orDefault(&t.AccountLimit, def.Throttle.AccountLimit)
	orDefault(&t.IPLimit, def.Throttle.IPLimit)
	orDefault(&t.BaseDelay, def.Throttle.BaseDelay)
	orDefault(&t.MaxDelay, def.Throttle.MaxDelay)
	t.MaxDelay = max(t.MaxDelay, t.BaseDelay)
	orDefault(&t.DeviceLimit, def.Throttle.DeviceLimit)
	orDefault(&cfg.Hashing.MaxConcurrent, def.Passwords.MaxConcurrentHashes)
	orDefault(&cfg.Hashing.Wait, def.Passwords.HashWait)
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
	s := &Service{store: store, mailer: mailer, cfg: cfg, log: log, now: now,
		hashes: newHashGate(cfg.Hashing.MaxConcurrent, cfg.Hashing.Wait), deviceKey: key}
	s.later.Sender, s.later.Log = mailer, log
	return s
}

// Wait waits for background mail sends (reset links, invitations) to
// finish; for tests and graceful shutdown.
func (s *Service) Wait() { s.later.Wait() }
