// Package apps registers the applications an organization signs its people
// into: OpenID Connect clients and sites behind a reverse proxy that ask
// /auth/verify. It owns the rules every edge shares: exact redirect URIs,
// client secrets shown once and stored hashed, the group restriction, and
// which absolute return URLs are Gatehouse's own or a registered app's.
package apps

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Input is what an admin sets on an app. Create and Update take the whole
// of it; empty lists and zero lifetimes mean none and the deployment's.
type Input struct {
	Name                   string
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	Groups                 []string
	Hosts                  []string
	AccessTokenTTL         time.Duration
	IDTokenTTL             time.Duration
	RefreshTokenTTL        time.Duration
	SigningAlg             string
}

// Service registers apps and answers the protocol edges' lookups.
type Service struct {
	store storage.Store
	log   *slog.Logger
	now   func() time.Time
	// publicURL is Gatehouse's own origin: return URLs on it are always
	// allowed.
	publicURL string
}

// New returns a Service; publicURL is the deployment's public URL.
func New(store storage.Store, publicURL string, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, publicURL: publicURL, log: log, now: now}
}

var errTODO = errors.New("apps: not implemented yet")

// Create registers an app for orgID (admins only) and returns it with its
// client secret, shown this once ("" for a public app). Audited as
// app.create.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (storage.App, string, error) {
	return storage.App{}, "", errTODO
}

// Update replaces an app's settings (admins only). Audited as app.update.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (storage.App, error) {
	return storage.App{}, errTODO
}

// Delete removes an app (admins only); its tokens stop working at once,
// since every token check loads its app. Audited as app.delete.
func (s *Service) Delete(ctx context.Context, orgID, id string) error { return errTODO }

// RotateSecret gives a confidential app a new secret, shown this once; the
// old one stops working. Audited as app.secret_rotate.
func (s *Service) RotateSecret(ctx context.Context, orgID, id string) (string, error) {
	return "", errTODO
}

// List returns orgID's apps (readers).
func (s *Service) List(ctx context.Context, orgID string) ([]storage.App, error) {
	return nil, errTODO
}

// Get returns orgID's app by ID or by name (readers).
func (s *Service) Get(ctx context.Context, orgID, idOrName string) (storage.App, error) {
	return storage.App{}, errTODO
}

// ByClientID returns the app with clientID, for the OIDC endpoints (no
// actor: the protocol authenticates the client itself).
// storage.ErrNotFound when there is none.
func (s *Service) ByClientID(ctx context.Context, clientID string) (storage.App, error) {
	return storage.App{}, errTODO
}

// VerifySecret reports, in constant time, whether secret is app's client
// secret. Always false for a public app.
func VerifySecret(app storage.App, secret string) bool { return false }

// ByHost returns the app that lists host (host[:port], any case) among its
// Hosts, from the node's snapshot; ok is false when none does.
func (s *Service) ByHost(ctx context.Context, host string) (app storage.App, ok bool, err error) {
	return storage.App{}, false, errTODO
}

// ReturnAllowed reports whether an absolute URL may be a return URL
// (after sign-in, sign-out, forward-auth, SAML RelayState): http(s) on
// Gatehouse's own origin, or on the host of a registered app (one of its
// Hosts, or the host of one of its redirect URIs). Plain http is accepted
// for another host only when Gatehouse itself runs on plain http
// (localhost development). Relative paths are page.SafeReturnTo's job.
func (s *Service) ReturnAllowed(ctx context.Context, rawURL string) bool { return false }

// Admits reports whether a person with groups may use app: true when the
// app restricts no groups or they share one (group names compare exactly).
func Admits(app storage.App, groups []string) bool { return false }

// Run keeps the node's snapshot of apps fresh until ctx ends: it reloads
// on the invalidation feed's "app" entries and at least every few seconds.
func (s *Service) Run(ctx context.Context) {}
