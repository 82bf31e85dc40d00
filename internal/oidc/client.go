package oidc

import (
	"net/url"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// client is a registered app as the op package sees it.
type client struct {
	app storage.App
	p   *Provider
}

var _ op.Client = client{}

func (c client) GetID() string                    { return c.app.ClientID }
func (c client) RedirectURIs() []string           { return slices.Clone(c.app.RedirectURIs) }
func (c client) PostLogoutRedirectURIs() []string { return slices.Clone(c.app.PostLogoutRedirectURIs) }

// ApplicationType is never "native": op would then accept a loopback
// redirect URI on any port, and Gatehouse matches redirect URIs exactly.
func (c client) ApplicationType() op.ApplicationType {
	if c.app.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c client) AuthMethod() zoidc.AuthMethod {
	if c.app.Public {
		return zoidc.AuthMethodNone
	}
	return zoidc.AuthMethodBasic // client_secret_post is accepted too (op.Config.AuthMethodPost)
}

func (c client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c client) GrantTypes() []zoidc.GrantType {
	g := []zoidc.GrantType{zoidc.GrantTypeCode}
	if slices.Contains(c.app.Scopes, zoidc.ScopeOfflineAccess) {
		g = append(g, zoidc.GrantTypeRefreshToken)
	}
	return g
}

func (c client) LoginURL(id string) string {
	return c.p.issuer + PathLogin + "?id=" + url.QueryEscape(id)
}

func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

func (c client) IDTokenLifetime() time.Duration {
	if c.app.IDTokenTTL > 0 {
		return c.app.IDTokenTTL
	}
	return c.p.cfg.IDTokenTTL
}

// DevMode lets a public app use a plain-http redirect URI only when every
// http one it registered is on a loopback host (a native app's or a
// developer's local callback, RFC 8252 §7.3); the URI itself still has to
// match one registered exactly.
func (c client) DevMode() bool {
	for _, raw := range c.app.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		if u.Scheme == "http" && !config.IsLoopbackHost(u.Hostname()) {
			return false
		}
	}
	return true
}

func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed answers for scopes op does not know ("groups").
func (c client) IsScopeAllowed(scope string) bool { return slices.Contains(c.app.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims in the
// ID token itself, so an app needs no userinfo call to know who signed in.
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c client) ClockSkew() time.Duration { return 0 }

// accessTTL, refreshTTL: the app's lifetimes, else the deployment's.
func (p *Provider) accessTTL(app storage.App) time.Duration {
	if app.AccessTokenTTL > 0 {
		return app.AccessTokenTTL
	}
	return p.cfg.AccessTokenTTL
}

func (p *Provider) refreshTTL(app storage.App) time.Duration {
	if app.RefreshTokenTTL > 0 {
		return app.RefreshTokenTTL
	}
	return p.cfg.RefreshTokenTTL
}
