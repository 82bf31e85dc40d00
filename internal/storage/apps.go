package storage

import (
	"context"
	"time"
)

// App is an application an organization lets its people into through
// Gatehouse: an OpenID Connect client (ClientID, RedirectURIs), a site
// behind a reverse proxy that asks /auth/verify (Hosts), or both.
type App struct {
	ID    string
	OrgID string
	Name  string // unique within the organization
	// ClientID is the OAuth client_id, unique across the deployment. It is
	// random, so it names no organization or person.
	ClientID string
	// SecretHash is the hex SHA-256 of the client secret (256 random bits,
	// so a fast hash is enough); "" for a public client.
	SecretHash string
	// Public clients (single-page and native apps) hold no secret and must
	// use PKCE S256.
	Public bool
	// RedirectURIs are the exact redirect_uri values accepted (no
	// wildcards, compared byte for byte).
	RedirectURIs []string
	// PostLogoutRedirectURIs are the exact post_logout_redirect_uri values
	// accepted at RP-initiated logout.
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the app may be granted beyond "openid"
	// ("profile", "email", "groups", "offline_access").
	Scopes []string
	// Groups, when not empty, admits only people in at least one of these
	// IdP groups (as synced at SSO sign-in); everyone else is refused.
	Groups []string
	// Hosts are the host[:port] names (lowercase, no scheme) of the app's
	// pages behind a reverse proxy using /auth/verify. A host belongs to
	// one app in the whole deployment.
	Hosts []string
	// Token lifetimes; zero takes the deployment's (config oidc.*).
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	// SigningAlg signs the app's ID tokens: "RS256" (default) or "ES256".
	SigningAlg string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// Apps stores registered applications.
type Apps interface {
	// CreateApp stores a; ErrConflict on a duplicate ID, client ID, name
	// within the organization, or a host another app has.
	CreateApp(ctx context.Context, a App) error
	// GetApp returns orgID's app with id; ErrNotFound otherwise.
	GetApp(ctx context.Context, orgID, id string) (App, error)
	// GetAppByClientID returns the app with clientID in any organization.
	GetAppByClientID(ctx context.Context, clientID string) (App, error)
	// ListApps returns orgID's apps ordered by name.
	ListApps(ctx context.Context, orgID string) ([]App, error)
	// ListAllApps returns every app of the deployment (a node's in-memory
	// snapshot for host and return-URL lookups), ordered by ID.
	ListAllApps(ctx context.Context) ([]App, error)
	// UpdateApp applies fn to orgID's app and stores it with Version+1;
	// ErrConflict when the row changed since it was read or a host is
	// taken, fn's error unchanged when fn refuses. ID, OrgID, ClientID and
	// CreatedAt are not fn's to change.
	UpdateApp(ctx context.Context, orgID, id string, fn func(a *App) error) (App, error)
	// DeleteApp removes orgID's app; ErrNotFound if there is none.
	DeleteApp(ctx context.Context, orgID, id string) error
}
