// Package session issues and validates server-side sessions. The browser
// holds an opaque random 256-bit token; the database holds only its SHA-256.
// Validation is served from a node-local cache that every node keeps honest
// by polling the invalidation feed, so a revocation reaches all nodes within
// about a second and an IdP outage never signs anyone out.
package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInvalid means the token names no live session (unknown, revoked, idle
// or past its lifetime, or its account is no longer active).
var ErrInvalid = errors.New("session: invalid or expired")

// Config holds session lifetimes and cookie settings.
type Config struct {
	IdleTimeout   time.Duration // default 8h
	MaxLifetime   time.Duration // default 7 days
	TouchInterval time.Duration // LastSeenAt is written at most this often; default 1m
	PollInterval  time.Duration // invalidation feed polling; default 500ms
	CacheTTL      time.Duration // safety bound on a cached entry; default 30s
	// Secure selects the "__Host-gatehouse_session" cookie with the Secure
	// flag. It is false only for http://localhost development, where the
	// cookie is "gatehouse_session".
	Secure bool
}

// Validated is a live session together with its account.
type Validated struct {
	Session storage.Session
	Account storage.Account
}

// StartParams describes a new sign-in.
type StartParams struct {
	Account   storage.Account
	Method    string // "password", "sso", "setup", "recovery"
	IP        string
	UserAgent string
}

// Service manages sessions.
type Service struct {
	store storage.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Service; zero Config fields take their defaults.
func New(store storage.Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	panic("unimplemented")
}

// Start creates a session for an authenticated account with a fresh token
// (so a session fixed before sign-in is never reused) and writes the
// "login.success" audit event in the same transaction. It returns the token
// for the cookie.
func (s *Service) Start(ctx context.Context, p StartParams) (token string, sess storage.Session, err error) {
	panic("unimplemented")
}

// Validate returns the live session and account for token, or ErrInvalid.
func (s *Service) Validate(ctx context.Context, token string) (Validated, error) {
	panic("unimplemented")
}

// List returns the account's live sessions, newest first.
func (s *Service) List(ctx context.Context, accountID string) ([]storage.Session, error) {
	panic("unimplemented")
}

// Logout revokes the session token belongs to and audits "logout".
func (s *Service) Logout(ctx context.Context, token string) error {
	panic("unimplemented")
}

// Revoke revokes one session of accountID (ErrInvalid if it is not that
// account's) and audits "session.revoke".
func (s *Service) Revoke(ctx context.Context, accountID, sessionID, reason string) error {
	panic("unimplemented")
}

// RevokeAll revokes every session of the account except exceptSessionID,
// audits "session.revoke_all" and returns how many ended.
func (s *Service) RevokeAll(ctx context.Context, accountID, exceptSessionID, reason string) (int, error) {
	panic("unimplemented")
}

// Run polls the invalidation feed and prunes expired rows until ctx ends.
func (s *Service) Run(ctx context.Context) {
	panic("unimplemented")
}

// CookieName is the session cookie's name under the current config.
func (s *Service) CookieName() string { panic("unimplemented") }

// SetCookie writes the session cookie (HttpOnly, SameSite=Lax, Path=/,
// Secure and __Host- unless in localhost development).
func (s *Service) SetCookie(w http.ResponseWriter, token string, expires time.Time) {
	panic("unimplemented")
}

// ClearCookie deletes the session cookie.
func (s *Service) ClearCookie(w http.ResponseWriter) { panic("unimplemented") }

// TokenFromRequest returns the session token of r's cookie, or "".
func (s *Service) TokenFromRequest(r *http.Request) string { panic("unimplemented") }
