package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const appCols = `id, org_id, name, client_id, secret_hash, public, redirect_uris, post_logout_uris, scopes,
	allowed_groups, hosts, access_token_ttl, id_token_ttl, refresh_token_ttl, signing_alg, created_at, updated_at, version`

func scanApp(r scanner) (storage.App, error) {
	var a storage.App
	var public int
	var redirects, postLogout, scopes, groups, hosts string
	var accessTTL, idTTL, refreshTTL, created, updated int64
	if err := r.Scan(&a.ID, &a.OrgID, &a.Name, &a.ClientID, &a.SecretHash, &public, &redirects, &postLogout, &scopes,
		&groups, &hosts, &accessTTL, &idTTL, &refreshTTL, &a.SigningAlg, &created, &updated, &a.Version); err != nil {
		return a, err
	}
	a.Public = public != 0
	for _, l := range []struct {
		text string
		dst  *[]string
	}{{redirects, &a.RedirectURIs}, {postLogout, &a.PostLogoutRedirectURIs}, {scopes, &a.Scopes}, {groups, &a.Groups}, {hosts, &a.Hosts}} {
		if err := json.Unmarshal([]byte(l.text), l.dst); err != nil {
			return a, fmt.Errorf("sqlstore: app %q: stored list: %w", a.ID, err)
		}
	}
	a.AccessTokenTTL = time.Duration(accessTTL) * time.Microsecond
	a.IDTokenTTL = time.Duration(idTTL) * time.Microsecond
	a.RefreshTokenTTL = time.Duration(refreshTTL) * time.Microsecond
	a.CreatedAt, a.UpdatedAt = fromUS(created), fromUS(updated)
	return a, nil
}

// appLists encodes an app's lists as JSON arrays; nil stores as [] so a
// read returns an empty (non-nil) list either way.
func appLists(a storage.App) ([]string, error) {
	out := make([]string, 0, 5)
	for _, l := range [][]string{a.RedirectURIs, a.PostLogoutRedirectURIs, a.Scopes, a.Groups, a.Hosts} {
		if l == nil {
			l = []string{}
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: app %q: encode list: %w", a.ID, err)
		}
		out = append(out, string(b))
	}
	return out, nil
}

// CreateApp stores a and claims its hosts; ErrConflict on a duplicate ID,
// client ID, name in the organization, or a host another app holds.
func (s *Store) CreateApp(ctx context.Context, a storage.App) error {
	lists, err := appLists(a)
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(tx *Store) error {
		_, err := tx.q().ExecContext(ctx, `INSERT INTO apps (`+appCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1)`,
			a.ID, a.OrgID, a.Name, a.ClientID, a.SecretHash, b2i(a.Public), lists[0], lists[1], lists[2], lists[3], lists[4],
			a.AccessTokenTTL.Microseconds(), a.IDTokenTTL.Microseconds(), a.RefreshTokenTTL.Microseconds(), a.SigningAlg,
			us(a.CreatedAt), us(a.UpdatedAt))
		if err != nil {
			return wrapErr(err, "create app %q", a.Name)
		}
		return tx.claimAppHosts(ctx, a.ID, a.Hosts)
	})
}

// claimAppHosts makes hosts the app's rows in app_hosts (replacing any
// earlier ones). A host another app holds is ErrConflict. The check reads
// first so the common refusal fails no statement (which would poison a
// PostgreSQL transaction); the primary key still decides a race.
func (s *Store) claimAppHosts(ctx context.Context, appID string, hosts []string) error {
	for _, h := range hosts {
		var owner string
		err := s.q().QueryRowContext(ctx, `SELECT app_id FROM app_hosts WHERE host = $1`, h).Scan(&owner)
		switch {
		case isNoRows(err):
		case err != nil:
			return wrapErr(err, "app %q: host %q", appID, h)
		case owner != appID:
			return fmt.Errorf("sqlstore: app %q: host %q belongs to another app: %w", appID, h, storage.ErrConflict)
		}
	}
	if _, err := s.q().ExecContext(ctx, `DELETE FROM app_hosts WHERE app_id = $1`, appID); err != nil {
		return wrapErr(err, "app %q: clear hosts", appID)
	}
	for _, h := range hosts {
		if _, err := s.q().ExecContext(ctx, `INSERT INTO app_hosts (host, app_id) VALUES ($1, $2)`, h, appID); err != nil {
			return wrapErr(err, "app %q: host %q", appID, h)
		}
	}
	return nil
}

// GetApp returns orgID's app with id.
func (s *Store) GetApp(ctx context.Context, orgID, id string) (storage.App, error) {
	a, err := scanApp(s.q().QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE org_id = $1 AND id = $2`, orgID, id))
	return a, wrapErr(err, "get app %q", id)
}

// GetAppByClientID returns the app with clientID in any organization.
func (s *Store) GetAppByClientID(ctx context.Context, clientID string) (storage.App, error) {
	a, err := scanApp(s.q().QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE client_id = $1`, clientID))
	return a, wrapErr(err, "get app by client ID")
}

// ListApps returns orgID's apps ordered by name (bytewise on both dialects).
func (s *Store) ListApps(ctx context.Context, orgID string) ([]storage.App, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE org_id = $1
		ORDER BY name`+s.byteOrder()+`, id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list apps of organization %q", orgID)
	}
	out, err := collect(rows, scanApp)
	return out, wrapErr(err, "list apps of organization %q", orgID)
}

// ListAllApps returns every app of the deployment ordered by ID.
func (s *Store) ListAllApps(ctx context.Context) ([]storage.App, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+appCols+` FROM apps ORDER BY id`+s.byteOrder())
	if err != nil {
		return nil, wrapErr(err, "list all apps")
	}
	out, err := collect(rows, scanApp)
	return out, wrapErr(err, "list all apps")
}

// UpdateApp is UpdatePolicy's pattern (row lock, closure on a copy,
// version check); the hosts are claimed again in the same transaction.
func (s *Store) UpdateApp(ctx context.Context, orgID, id string, fn func(a *storage.App) error) (storage.App, error) {
	var out storage.App
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanApp(tx.q().QueryRowContext(ctx,
			`SELECT `+appCols+` FROM apps WHERE org_id = $1 AND id = $2`+tx.forUpdate(), orgID, id))
		if err != nil {
			return wrapErr(err, "update app %q: read", id)
		}
		next := cur
		// fn gets its own copies of the lists, so a refusal leaves cur as read.
		next.RedirectURIs = append([]string(nil), cur.RedirectURIs...)
		next.PostLogoutRedirectURIs = append([]string(nil), cur.PostLogoutRedirectURIs...)
		next.Scopes = append([]string(nil), cur.Scopes...)
		next.Groups = append([]string(nil), cur.Groups...)
		next.Hosts = append([]string(nil), cur.Hosts...)
		if err := fn(&next); err != nil {
			return err // unchanged, as documented; the tx rolls back
		}
		next.ID, next.OrgID, next.ClientID, next.CreatedAt = cur.ID, cur.OrgID, cur.ClientID, cur.CreatedAt
		lists, err := appLists(next)
		if err != nil {
			return err
		}
		out, err = scanApp(tx.q().QueryRowContext(ctx, `UPDATE apps SET
				name = $4, secret_hash = $5, public = $6, redirect_uris = $7, post_logout_uris = $8, scopes = $9,
				allowed_groups = $10, hosts = $11, access_token_ttl = $12, id_token_ttl = $13, refresh_token_ttl = $14,
				signing_alg = $15, updated_at = $16, version = version + 1
			WHERE org_id = $1 AND id = $2 AND version = $3
			RETURNING `+appCols,
			orgID, id, cur.Version, next.Name, next.SecretHash, b2i(next.Public), lists[0], lists[1], lists[2],
			lists[3], lists[4], next.AccessTokenTTL.Microseconds(), next.IDTokenTTL.Microseconds(),
			next.RefreshTokenTTL.Microseconds(), next.SigningAlg, us(next.UpdatedAt)))
		if err != nil {
			if isNoRows(err) {
				return fmt.Errorf("sqlstore: update app %q: version %d is stale: %w", id, cur.Version, storage.ErrConflict)
			}
			return wrapErr(err, "update app %q", id)
		}
		return tx.claimAppHosts(ctx, id, next.Hosts)
	})
	if err != nil {
		return storage.App{}, err
	}
	return out, nil
}

// DeleteApp removes orgID's app; its hosts go with it.
func (s *Store) DeleteApp(ctx context.Context, orgID, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM apps WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return wrapErr(err, "delete app %q", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "delete app %q", id)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: delete app %q: %w", id, storage.ErrNotFound)
	}
	return nil
}
