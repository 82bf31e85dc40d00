package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PutDeploymentSetting upserts s: every node of a deployment writes the same
// keys at start, so a second write replaces the first rather than failing.
func (s *Store) PutDeploymentSetting(ctx context.Context, d storage.DeploymentSetting) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO deployment_settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		d.Key, d.Value, us(d.UpdatedAt))
	return wrapErr(err, "put deployment setting %s", d.Key)
}

// DeploymentSetting returns the setting under key (ErrNotFound when unset).
func (s *Store) DeploymentSetting(ctx context.Context, key string) (storage.DeploymentSetting, error) {
	d := storage.DeploymentSetting{Key: key}
	var updated int64
	if err := s.q().QueryRowContext(ctx, `SELECT value, updated_at FROM deployment_settings WHERE key = $1`, key).
		Scan(&d.Value, &updated); err != nil {
		return storage.DeploymentSetting{}, wrapErr(err, "get deployment setting %s", key)
	}
	d.UpdatedAt = fromUS(updated)
	return d, nil
}
