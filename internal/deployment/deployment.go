// Package deployment records facts about the running deployment that other
// tools need to agree with the server on. Today that is the public URL:
// `serve` records the one it runs at, and the admin CLI, which may run with
// another configuration (another directory, no config file), prints SP
// entity IDs, ACS URLs, issuers and links on the server's URL instead of on
// its own default.
package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Service reads and writes the deployment settings.
type Service struct {
	store storage.Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Service on store.
func New(store storage.Store, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: store, log: log, now: now}
}

// normalize makes URLs that differ only by a trailing slash the same, as the
// services that build links from them treat them.
func normalize(u string) string { return strings.TrimRight(u, "/") }

// RecordPublicURL stores publicURL as the URL the server runs at. Every
// node of a deployment calls it at start and writes the same value; a
// change (a node started with another public_url) is audited, a restart
// with the same one only refreshes the time.
func (s *Service) RecordPublicURL(ctx context.Context, publicURL string) error {
	publicURL = normalize(publicURL)
	if publicURL == "" {
		return errors.New("deployment: record public URL: empty")
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		prev, err := tx.DeploymentSetting(ctx, storage.DeploymentKeyPublicURL)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("deployment: read public URL: %w", err)
		}
		if err := tx.PutDeploymentSetting(ctx, storage.DeploymentSetting{
			Key: storage.DeploymentKeyPublicURL, Value: publicURL, UpdatedAt: now,
		}); err != nil {
			return fmt.Errorf("deployment: record public URL: %w", err)
		}
		if prev.Value == publicURL {
			return nil
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			Time: now, ActorType: "system", Action: "deployment.public_url",
			Details: map[string]string{"public_url": publicURL, "previous": prev.Value},
		})
	})
}

// PublicURL returns the public URL the server recorded at its last start,
// and false when no server has started on this database yet.
func (s *Service) PublicURL(ctx context.Context) (string, bool, error) {
	d, err := s.store.DeploymentSetting(ctx, storage.DeploymentKeyPublicURL)
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("deployment: read public URL: %w", err)
	}
	return d.Value, true, nil
}

// Differs reports whether two public URLs name different servers, ignoring
// a trailing slash.
func Differs(a, b string) bool { return normalize(a) != normalize(b) }
