package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const orgCols = `id, slug, name, created_at`

func scanOrg(r scanner) (storage.Organization, error) {
	var o storage.Organization
	var created int64
	if err := r.Scan(&o.ID, &o.Slug, &o.Name, &created); err != nil {
		return o, err
	}
	o.CreatedAt = fromUS(created)
	return o, nil
}

// CreateOrganization inserts o; ErrConflict on a duplicate ID or slug.
func (s *Store) CreateOrganization(ctx context.Context, o storage.Organization) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO organizations (`+orgCols+`) VALUES ($1, $2, $3, $4)`,
		o.ID, o.Slug, o.Name, us(o.CreatedAt))
	return wrapErr(err, "create organization %q", o.Slug)
}

// GetOrganization returns the organization with the ID.
func (s *Store) GetOrganization(ctx context.Context, id string) (storage.Organization, error) {
	o, err := scanOrg(s.q().QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE id = $1`, id))
	return o, wrapErr(err, "get organization %q", id)
}

// GetOrganizationBySlug returns the organization with the slug.
func (s *Store) GetOrganizationBySlug(ctx context.Context, slug string) (storage.Organization, error) {
	o, err := scanOrg(s.q().QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE slug = $1`, slug))
	return o, wrapErr(err, "get organization by slug %q", slug)
}

// ListOrganizations returns every organization ordered by slug.
func (s *Store) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+orgCols+` FROM organizations ORDER BY slug`)
	if err != nil {
		return nil, wrapErr(err, "list organizations")
	}
	out, err := collect(rows, scanOrg)
	return out, wrapErr(err, "list organizations")
}

// SoleOrganization returns the only organization, or ErrNotFound when there
// are none or several; it reads at most two rows.
func (s *Store) SoleOrganization(ctx context.Context) (storage.Organization, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+orgCols+` FROM organizations ORDER BY slug LIMIT 2`)
	if err != nil {
		return storage.Organization{}, wrapErr(err, "sole organization")
	}
	out, err := collect(rows, scanOrg)
	if err != nil {
		return storage.Organization{}, wrapErr(err, "sole organization")
	}
	if len(out) != 1 {
		return storage.Organization{}, fmt.Errorf("sqlstore: sole organization: %d or more organizations: %w", len(out), storage.ErrNotFound)
	}
	return out[0], nil
}
