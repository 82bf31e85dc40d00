// Package account manages organizations, people, passwords, one-time links
// (first-admin set-up, password reset, invitations) and API tokens, and
// decides password sign-ins with brute-force throttling that cannot be
// turned into a lockout weapon.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
}

// Config configures the service.
type Config struct {
	PublicURL string        // e.g. https://gatehouse.corp.example — links in mails and the set-up link
	SetupTTL  time.Duration // first-admin link; default 1h
	ResetTTL  time.Duration // password reset link; default 30m
	InviteTTL time.Duration // invitation link; default 7 days
	Throttle  ThrottleConfig
}

// Service is the account service.
type Service struct {
	store  storage.Store
	mailer mail.Sender
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service; zero Config fields take their defaults.
func New(store storage.Store, mailer mail.Sender, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	panic("unimplemented")
}

// NormalizeEmail trims and lowercases an email and checks its shape,
// returning an *InvalidInputError for anything that is not one address.
func NormalizeEmail(s string) (string, error) { panic("unimplemented") }

// --- first start ---

// EnsureSetupLink returns a fresh one-time first-admin link (valid SetupTTL,
// single use; earlier unused links stop working) while no owner exists, and
// "" once one does.
func (s *Service) EnsureSetupLink(ctx context.Context) (string, error) { panic("unimplemented") }

// CheckSetupToken reports whether token is a live first-admin token.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error { panic("unimplemented") }

// SetupInput is what the first-admin form collects.
type SetupInput struct {
	OrgName     string
	Email       string
	DisplayName string
	Password    string
}

// CompleteSetup creates the first organization and its owner, consuming the
// token, in one transaction with its audit events.
func (s *Service) CompleteSetup(ctx context.Context, token string, in SetupInput) (storage.Organization, storage.Account, error) {
	panic("unimplemented")
}

// --- sign-in ---

// Authenticate checks an email and password from ip. It returns
// ErrBadCredentials for every failure (running a dummy argon2id verification
// for unknown accounts so timing says nothing), *ThrottledError when the
// email or ip is throttled, and records failures and throttled attempts in
// the audit log. On success it clears the email's failure counter; the
// caller then starts a session (which audits the success).
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (storage.Account, error) {
	panic("unimplemented")
}

// --- password reset and invitations ---

// RequestReset sends a reset link to email if it names an active account,
// and does nothing visible otherwise (no enumeration). It works for accounts
// that never had a password. Requests are rate limited per email and ip.
func (s *Service) RequestReset(ctx context.Context, email, ip string) error { panic("unimplemented") }

// CheckResetToken returns the account a live reset or invitation token belongs to.
func (s *Service) CheckResetToken(ctx context.Context, token string) (storage.Account, error) {
	panic("unimplemented")
}

// CompleteReset sets a new password through a reset or invitation token,
// consumes the token and revokes every session of the account, in one
// transaction with its audit event.
func (s *Service) CompleteReset(ctx context.Context, token, newPassword string) (storage.Account, error) {
	panic("unimplemented")
}

// ChangePassword changes a signed-in person's password after checking the
// current one, and signs out their other sessions.
func (s *Service) ChangePassword(ctx context.Context, accountID, currentSessionID, current, next string) error {
	panic("unimplemented")
}

// --- administration (the console, the JSON API and the CLI share these) ---

// CreateOrganization creates an organization; slug defaults from name.
func (s *Service) CreateOrganization(ctx context.Context, name, slug string) (storage.Organization, error) {
	panic("unimplemented")
}

// GetOrganization returns an organization by ID or slug.
func (s *Service) GetOrganization(ctx context.Context, idOrSlug string) (storage.Organization, error) {
	panic("unimplemented")
}

// ListOrganizations lists every organization.
func (s *Service) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	panic("unimplemented")
}

// MemberInput describes a member to add.
type MemberInput struct {
	Email       string
	DisplayName string
	Role        storage.Role // default member
	Password    string       // optional initial password
	Invite      bool         // mail a set-password link (valid InviteTTL)
}

// AddMember adds a person to an organization.
func (s *Service) AddMember(ctx context.Context, orgID string, in MemberInput) (storage.Account, error) {
	panic("unimplemented")
}

// GetMember returns an account of orgID by ID or email.
func (s *Service) GetMember(ctx context.Context, orgID, idOrEmail string) (storage.Account, error) {
	panic("unimplemented")
}

// ListMembers lists an organization's accounts, ordered by email.
func (s *Service) ListMembers(ctx context.Context, orgID string) ([]storage.Account, error) {
	panic("unimplemented")
}

// SetRole grants or revokes admin (or ownership); the last owner cannot be demoted.
func (s *Service) SetRole(ctx context.Context, orgID, accountID string, role storage.Role) (storage.Account, error) {
	panic("unimplemented")
}

// SetStatus suspends or reactivates an account; suspending revokes its sessions.
func (s *Service) SetStatus(ctx context.Context, orgID, accountID string, status storage.AccountStatus) (storage.Account, error) {
	panic("unimplemented")
}

// RevokeSessions ends every session of an organization's account (admin action).
func (s *Service) RevokeSessions(ctx context.Context, orgID, accountID string) (int, error) {
	panic("unimplemented")
}

// CreateAPIToken creates an organization API token and returns its secret,
// which is shown once and stored only as a hash.
func (s *Service) CreateAPIToken(ctx context.Context, orgID, name string) (string, storage.APIToken, error) {
	panic("unimplemented")
}

// ListAPITokens lists an organization's API tokens (never their secrets).
func (s *Service) ListAPITokens(ctx context.Context, orgID string) ([]storage.APIToken, error) {
	panic("unimplemented")
}

// RevokeAPIToken revokes one of an organization's API tokens.
func (s *Service) RevokeAPIToken(ctx context.Context, orgID, id string) error { panic("unimplemented") }

// AuthenticateAPIToken returns the live token a bearer secret names
// (constant-time by construction: lookup by SHA-256), or ErrBadCredentials.
func (s *Service) AuthenticateAPIToken(ctx context.Context, secret string) (storage.APIToken, error) {
	panic("unimplemented")
}

// IssueRecoveryLink creates a one-time admin sign-in link for an owner or
// admin (the `gatehouse recover` path when every admin is locked out),
// valid SetupTTL, and audits it.
func (s *Service) IssueRecoveryLink(ctx context.Context, email string) (string, error) {
	panic("unimplemented")
}

// RedeemRecoveryLink consumes a recovery token and returns the admin
// account to start a session for (method "recovery").
func (s *Service) RedeemRecoveryLink(ctx context.Context, token string) (storage.Account, error) {
	panic("unimplemented")
}
