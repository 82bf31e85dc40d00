package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const idpCols = `id, org_id, slug, name, entity_id, sso_url, signing_certs, metadata_url, metadata_xml,
	metadata_fetched_at, metadata_error, name_id_format, attribute_map, jit, allow_idp_initiated,
	allow_sha1, allow_expired_certs, sign_requests, sp_key_pem, sp_cert_pem, tested_at,
	created_at, updated_at, version`

func scanIdP(r scanner) (storage.IdPConnection, error) {
	var c storage.IdPConnection
	var certs, attrs string
	var fetched, tested, created, updated int64
	var jit, idpInit, sha1, expired, signReq int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.Slug, &c.Name, &c.EntityID, &c.SSOURL, &certs, &c.MetadataURL, &c.MetadataXML,
		&fetched, &c.MetadataError, &c.NameIDFormat, &attrs, &jit, &idpInit,
		&sha1, &expired, &signReq, &c.SPKeyPEM, &c.SPCertPEM, &tested,
		&created, &updated, &c.Version); err != nil {
		return c, err
	}
	// Empty collections come back nil, whatever the caller stored.
	if err := json.Unmarshal([]byte(certs), &c.SigningCertsPEM); err != nil {
		return c, fmt.Errorf("decode signing certificates of IdP connection %s: %w", c.ID, err)
	}
	if len(c.SigningCertsPEM) == 0 {
		c.SigningCertsPEM = nil
	}
	if err := json.Unmarshal([]byte(attrs), &c.AttributeMap); err != nil {
		return c, fmt.Errorf("decode attribute map of IdP connection %s: %w", c.ID, err)
	}
	if len(c.AttributeMap) == 0 {
		c.AttributeMap = nil
	}
	c.JIT, c.AllowIdPInitiated, c.AllowSHA1, c.AllowExpiredCerts, c.SignRequests =
		jit != 0, idpInit != 0, sha1 != 0, expired != 0, signReq != 0
	c.MetadataFetchedAt, c.TestedAt, c.CreatedAt, c.UpdatedAt = fromUS(fetched), fromUS(tested), fromUS(created), fromUS(updated)
	return c, nil
}

// idpJSON encodes the connection's certificate list and attribute map.
func idpJSON(c storage.IdPConnection) (certs, attrs string, err error) {
	cs := c.SigningCertsPEM
	if cs == nil {
		cs = []string{}
	}
	am := c.AttributeMap
	if am == nil {
		am = map[string]string{}
	}
	cb, err := json.Marshal(cs)
	if err != nil {
		return "", "", fmt.Errorf("sqlstore: encode signing certificates: %w", err)
	}
	ab, err := json.Marshal(am) // keys sorted: the stored text is canonical
	if err != nil {
		return "", "", fmt.Errorf("sqlstore: encode attribute map: %w", err)
	}
	return string(cb), string(ab), nil
}

// b2i stores a boolean as the integer 0/1 both dialects' columns hold.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateIdPConnection inserts c; ErrConflict on a duplicate ID or slug,
// ErrNotFound when the organization does not exist.
func (s *Store) CreateIdPConnection(ctx context.Context, c storage.IdPConnection) error {
	certs, attrs, err := idpJSON(c)
	if err != nil {
		return err
	}
	_, err = s.q().ExecContext(ctx, `INSERT INTO idp_connections (`+idpCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		c.ID, c.OrgID, c.Slug, c.Name, c.EntityID, c.SSOURL, certs, c.MetadataURL, c.MetadataXML,
		us(c.MetadataFetchedAt), c.MetadataError, c.NameIDFormat, attrs, b2i(c.JIT), b2i(c.AllowIdPInitiated),
		b2i(c.AllowSHA1), b2i(c.AllowExpiredCerts), b2i(c.SignRequests), c.SPKeyPEM, c.SPCertPEM, us(c.TestedAt),
		us(c.CreatedAt), us(c.UpdatedAt), c.Version)
	return wrapErr(err, "create IdP connection %q", c.Slug)
}

// GetIdPConnection returns the connection with the ID, in any organization:
// callers acting for an organization compare OrgID.
func (s *Store) GetIdPConnection(ctx context.Context, id string) (storage.IdPConnection, error) {
	c, err := scanIdP(s.q().QueryRowContext(ctx, `SELECT `+idpCols+` FROM idp_connections WHERE id = $1`, id))
	return c, wrapErr(err, "get IdP connection %q", id)
}

// GetIdPConnectionBySlug returns the connection an ACS URL names.
func (s *Store) GetIdPConnectionBySlug(ctx context.Context, slug string) (storage.IdPConnection, error) {
	c, err := scanIdP(s.q().QueryRowContext(ctx, `SELECT `+idpCols+` FROM idp_connections WHERE slug = $1`, slug))
	return c, wrapErr(err, "get IdP connection by slug %q", slug)
}

// ListIdPConnections returns the organization's connections by name (then
// slug); orgID "" lists every organization's, grouped by organization.
func (s *Store) ListIdPConnections(ctx context.Context, orgID string) ([]storage.IdPConnection, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+idpCols+` FROM idp_connections
		WHERE org_id = $1 OR $1 = '' ORDER BY org_id, name, slug`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list IdP connections of organization %q", orgID)
	}
	out, err := collect(rows, scanIdP)
	return out, wrapErr(err, "list IdP connections of organization %q", orgID)
}

// UpdateIdPConnection is UpdateAccount's pattern: read under the row lock,
// let fn edit a copy, write back with version+1 if the version still
// matches. ID, OrgID and CreatedAt cannot be changed through fn.
func (s *Store) UpdateIdPConnection(ctx context.Context, id string, fn func(c *storage.IdPConnection) error) (storage.IdPConnection, error) {
	var out storage.IdPConnection
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanIdP(tx.q().QueryRowContext(ctx,
			`SELECT `+idpCols+` FROM idp_connections WHERE id = $1`+tx.forUpdate(), id))
		if err != nil {
			return wrapErr(err, "update IdP connection %q: read", id)
		}
		next := cur
		// fn gets its own copies of the collections, so a failing fn cannot
		// leave its half-done edits in anything the caller still holds.
		next.SigningCertsPEM = append([]string(nil), cur.SigningCertsPEM...)
		if cur.AttributeMap != nil {
			next.AttributeMap = make(map[string]string, len(cur.AttributeMap))
			for k, v := range cur.AttributeMap {
				next.AttributeMap[k] = v
			}
		}
		if err := fn(&next); err != nil {
			return err // unchanged, as documented; the tx rolls back
		}
		next.ID, next.OrgID, next.CreatedAt = cur.ID, cur.OrgID, cur.CreatedAt
		certs, attrs, err := idpJSON(next)
		if err != nil {
			return err
		}
		out, err = scanIdP(tx.q().QueryRowContext(ctx, `UPDATE idp_connections SET
				slug = $3, name = $4, entity_id = $5, sso_url = $6, signing_certs = $7,
				metadata_url = $8, metadata_xml = $9, metadata_fetched_at = $10, metadata_error = $11,
				name_id_format = $12, attribute_map = $13, jit = $14, allow_idp_initiated = $15,
				allow_sha1 = $16, allow_expired_certs = $17, sign_requests = $18,
				sp_key_pem = $19, sp_cert_pem = $20, tested_at = $21, updated_at = $22,
				version = version + 1
			WHERE id = $1 AND version = $2
			RETURNING `+idpCols,
			id, cur.Version, next.Slug, next.Name, next.EntityID, next.SSOURL, certs,
			next.MetadataURL, next.MetadataXML, us(next.MetadataFetchedAt), next.MetadataError,
			next.NameIDFormat, attrs, b2i(next.JIT), b2i(next.AllowIdPInitiated),
			b2i(next.AllowSHA1), b2i(next.AllowExpiredCerts), b2i(next.SignRequests),
			next.SPKeyPEM, next.SPCertPEM, us(next.TestedAt), us(next.UpdatedAt)))
		if err != nil {
			if isNoRows(err) {
				return fmt.Errorf("sqlstore: update IdP connection %q: version %d is stale: %w", id, cur.Version, storage.ErrConflict)
			}
			return wrapErr(err, "update IdP connection %q", id)
		}
		return nil
	})
	if err != nil {
		return storage.IdPConnection{}, err
	}
	return out, nil
}

// DeleteIdPConnection deletes the organization's connection together with
// its SSO links, outstanding AuthnRequests and replay-cache entries (foreign
// keys cascade). A connection that a policy uses is ErrConflict: deleting it
// would leave that policy enforcing SSO through nothing, so the policy must
// be changed first. The policies foreign key backs the check up against a
// policy pointed at the connection concurrently.
func (s *Store) DeleteIdPConnection(ctx context.Context, orgID, id string) error {
	return s.withTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM idp_connections WHERE org_id = $1 AND id = $2`+tx.forUpdate(),
			orgID, id).Scan(&one); err != nil {
			return wrapErr(err, "delete IdP connection %q", id)
		}
		var users int
		if err := tx.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM policies WHERE org_id = $1 AND connection_id = $2`,
			orgID, id).Scan(&users); err != nil {
			return wrapErr(err, "delete IdP connection %q: find policies using it", id)
		}
		if users > 0 {
			return fmt.Errorf("sqlstore: delete IdP connection %q: %d policies use it: %w", id, users, storage.ErrConflict)
		}
		_, err := tx.q().ExecContext(ctx, `DELETE FROM idp_connections WHERE org_id = $1 AND id = $2`, orgID, id)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("sqlstore: delete IdP connection %q: a policy uses it: %w: %w", id, storage.ErrConflict, err)
		}
		return wrapErr(err, "delete IdP connection %q", id)
	})
}
