package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const domainCols = `id, org_id, name, verification_token, created_at, verified_at, last_checked_at, last_error`

func scanDomain(r scanner) (storage.Domain, error) {
	var d storage.Domain
	var created, verified, checked int64
	if err := r.Scan(&d.ID, &d.OrgID, &d.Name, &d.VerificationToken, &created, &verified, &checked, &d.LastError); err != nil {
		return d, err
	}
	d.CreatedAt, d.VerifiedAt, d.LastCheckedAt = fromUS(created), fromUS(verified), fromUS(checked)
	return d, nil
}

// CreateDomain inserts d; ErrConflict if the organization already claims the
// name (or d.ID is taken), ErrNotFound when the organization does not exist.
// Another organization's claim on the same name is not a conflict: only
// verification is exclusive.
func (s *Store) CreateDomain(ctx context.Context, d storage.Domain) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO domains (`+domainCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		d.ID, d.OrgID, d.Name, d.VerificationToken, us(d.CreatedAt), us(d.VerifiedAt), us(d.LastCheckedAt), d.LastError)
	return wrapErr(err, "create domain %q", d.Name)
}

// GetDomain returns the organization's domain with the ID; another
// organization's domain is ErrNotFound, as if it did not exist.
func (s *Store) GetDomain(ctx context.Context, orgID, id string) (storage.Domain, error) {
	d, err := scanDomain(s.q().QueryRowContext(ctx, `SELECT `+domainCols+` FROM domains WHERE org_id = $1 AND id = $2`, orgID, id))
	return d, wrapErr(err, "get domain %q", id)
}

// ListDomains returns the organization's domains, verified or not, by name.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]storage.Domain, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+domainCols+` FROM domains WHERE org_id = $1 ORDER BY name, id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list domains of organization %q", orgID)
	}
	out, err := collect(rows, scanDomain)
	return out, wrapErr(err, "list domains of organization %q", orgID)
}

// GetVerifiedDomain returns the one verified row for name, whichever
// organization holds it.
func (s *Store) GetVerifiedDomain(ctx context.Context, name string) (storage.Domain, error) {
	d, err := scanDomain(s.q().QueryRowContext(ctx, `SELECT `+domainCols+` FROM domains WHERE name = $1 AND verified_at > 0`, name))
	return d, wrapErr(err, "get verified domain %q", name)
}

// RecordDomainCheck stores a DNS check's outcome.
//
// A failure (verifiedAt zero) sets LastCheckedAt and LastError only: it never
// takes a verification away, because a DNS hiccup must not silently end SSO
// enforcement for a whole domain; unverifying is DeleteDomain's job. A
// success clears LastError and keeps the first VerifiedAt if the domain was
// verified already.
//
// When another organization holds the verification, the UPDATE's NOT EXISTS
// condition makes it change nothing and ErrConflict is returned without a
// failed statement, so a PostgreSQL transaction stays usable (the caller can
// record the failure in it). Two organizations verifying at the same moment
// both pass that condition; the partial unique index domains_verified_name
// then lets the first commit and fails the other with a unique violation,
// also ErrConflict.
func (s *Store) RecordDomainCheck(ctx context.Context, orgID, id string, checkedAt, verifiedAt time.Time, lastError string) error {
	var res interface{ RowsAffected() (int64, error) }
	var err error
	if verifiedAt.IsZero() {
		res, err = s.q().ExecContext(ctx, `UPDATE domains SET last_checked_at = $3, last_error = $4
			WHERE org_id = $1 AND id = $2`, orgID, id, us(checkedAt), lastError)
	} else {
		res, err = s.q().ExecContext(ctx, `UPDATE domains SET last_checked_at = $3, last_error = '',
				verified_at = CASE WHEN verified_at > 0 THEN verified_at ELSE $4 END
			WHERE org_id = $1 AND id = $2 AND NOT EXISTS (
				SELECT 1 FROM domains other
				WHERE other.name = domains.name AND other.verified_at > 0 AND other.org_id <> domains.org_id)`,
			orgID, id, us(checkedAt), us(verifiedAt))
	}
	if err != nil {
		return wrapErr(err, "record check of domain %q", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "record check of domain %q", id)
	}
	if n > 0 {
		return nil
	}
	var one int
	if err := s.q().QueryRowContext(ctx, `SELECT 1 FROM domains WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&one); err != nil {
		return wrapErr(err, "record check of domain %q", id)
	}
	return fmt.Errorf("sqlstore: record check of domain %q: the name is verified by another organization: %w", id, storage.ErrConflict)
}

// DeleteDomain removes the organization's claim (and verification) of a name.
func (s *Store) DeleteDomain(ctx context.Context, orgID, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM domains WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return wrapErr(err, "delete domain %q", id)
	}
	return requireDeleted(res, "delete domain %q", id)
}

// requireDeleted turns "DELETE removed nothing" into ErrNotFound.
func requireDeleted(res interface{ RowsAffected() (int64, error) }, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, format, args...)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", fmt.Sprintf(format, args...), storage.ErrNotFound)
	}
	return nil
}
