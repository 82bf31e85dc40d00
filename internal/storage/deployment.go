package storage

import (
	"context"
	"time"
)

// DeploymentKeyPublicURL is the deployment setting `serve` records at every
// start: the public URL the server runs at, which the CLI uses for the links
// and SAML/OIDC addresses it prints.
const DeploymentKeyPublicURL = "public_url"

// DeploymentSetting is one fact about the running deployment, as opposed to
// an organization's data: the server records it, other tools read it.
type DeploymentSetting struct {
	Key       string
	Value     string
	UpdatedAt time.Time
}

// Deployment stores deployment settings, one row per key. Several nodes on
// one PostgreSQL database write the same keys; the last write wins.
type Deployment interface {
	// PutDeploymentSetting stores s, replacing the value under s.Key.
	PutDeploymentSetting(ctx context.Context, s DeploymentSetting) error
	// DeploymentSetting returns the setting under key; ErrNotFound when
	// nothing was recorded.
	DeploymentSetting(ctx context.Context, key string) (DeploymentSetting, error)
}
