package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// App is the JSON of a registered application. The client secret is never
// part of it: only AppCreated (and a rotation's answer) carries it, once.
type App struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	ClientID               string   `json:"client_id"`
	Type                   string   `json:"type"` // "confidential" or "public"
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Scopes                 []string `json:"scopes"`
	Groups                 []string `json:"groups"`
	Hosts                  []string `json:"hosts"`
	// Lifetimes in seconds; 0 takes the deployment's.
	AccessTokenTTLSeconds  int64     `json:"access_token_ttl_seconds"`
	IDTokenTTLSeconds      int64     `json:"id_token_ttl_seconds"`
	RefreshTokenTTLSeconds int64     `json:"refresh_token_ttl_seconds"`
	SigningAlg             string    `json:"signing_alg"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

// AppCreated is the answer to creating an app: the app, its client secret
// (shown this once; "" for a public app) and where its OpenID Connect
// settings are published.
type AppCreated struct {
	App
	ClientSecret string `json:"client_secret,omitempty"`
	Issuer       string `json:"issuer"`
	Discovery    string `json:"discovery_url"`
}

// AppSecret is the answer to a secret rotation: the new secret, shown once.
type AppSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// AppFrom converts a storage record.
func AppFrom(a storage.App) App {
	typ := "confidential"
	if a.Public {
		typ = "public"
	}
	return App{
		ID: a.ID, Name: a.Name, ClientID: a.ClientID, Type: typ,
		RedirectURIs: orEmpty(a.RedirectURIs), PostLogoutRedirectURIs: orEmpty(a.PostLogoutRedirectURIs),
		Scopes: orEmpty(a.Scopes), Groups: orEmpty(a.Groups), Hosts: orEmpty(a.Hosts),
		AccessTokenTTLSeconds: int64(a.AccessTokenTTL.Seconds()), IDTokenTTLSeconds: int64(a.IDTokenTTL.Seconds()),
		RefreshTokenTTLSeconds: int64(a.RefreshTokenTTL.Seconds()), SigningAlg: a.SigningAlg,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// DiscoveryPath is where an issuer publishes its OpenID Connect settings.
const DiscoveryPath = "/.well-known/openid-configuration"

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
