package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const ssoLinkCols = `connection_id, subject, account_id, created_at, last_login_at`

func scanSSOLink(r scanner) (storage.SSOLink, error) {
	var l storage.SSOLink
	var created, last int64
	if err := r.Scan(&l.ConnectionID, &l.Subject, &l.AccountID, &created, &last); err != nil {
		return l, err
	}
	l.CreatedAt, l.LastLoginAt = fromUS(created), fromUS(last)
	return l, nil
}

// CreateSSOLink links the account to the subject at the connection.
// ErrConflict if the subject is linked already; ErrNotFound unless the
// connection and the account both exist and belong to the same
// organization — an IdP of one organization never reaches another's
// account, whatever the caller got wrong. The INSERT … SELECT checks that
// in the same statement that writes the row.
func (s *Store) CreateSSOLink(ctx context.Context, l storage.SSOLink) error {
	res, err := s.q().ExecContext(ctx, `INSERT INTO sso_links (`+ssoLinkCols+`)
		SELECT c.id, $2, a.id, $4, $5
		FROM idp_connections c JOIN accounts a ON a.org_id = c.org_id
		WHERE c.id = $1 AND a.id = $3`,
		l.ConnectionID, l.Subject, l.AccountID, us(l.CreatedAt), us(l.LastLoginAt))
	if err != nil {
		return wrapErr(err, "link account %q to connection %q", l.AccountID, l.ConnectionID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "link account %q to connection %q", l.AccountID, l.ConnectionID)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: link account %q to connection %q: no such account and connection in one organization: %w",
			l.AccountID, l.ConnectionID, storage.ErrNotFound)
	}
	return nil
}

// GetSSOLink returns the link of the subject at the connection.
func (s *Store) GetSSOLink(ctx context.Context, connectionID, subject string) (storage.SSOLink, error) {
	l, err := scanSSOLink(s.q().QueryRowContext(ctx, `SELECT `+ssoLinkCols+` FROM sso_links
		WHERE connection_id = $1 AND subject = $2`, connectionID, subject))
	return l, wrapErr(err, "get SSO link at connection %q", connectionID)
}

// ListAccountSSOLinks returns the account's links (sso_links_account
// index), ordered by connection then creation.
func (s *Store) ListAccountSSOLinks(ctx context.Context, accountID string) ([]storage.SSOLink, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+ssoLinkCols+` FROM sso_links
		WHERE account_id = $1 ORDER BY connection_id, created_at, subject`, accountID)
	if err != nil {
		return nil, wrapErr(err, "list SSO links of account %q", accountID)
	}
	out, err := collect(rows, scanSSOLink)
	return out, wrapErr(err, "list SSO links of account %q", accountID)
}

// ListLinkedAccountIDs returns the IDs of orgID's accounts that have an
// SSO link, sorted (by the database's collation).
func (s *Store) ListLinkedAccountIDs(ctx context.Context, orgID string) ([]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT DISTINCT l.account_id FROM sso_links l
		JOIN accounts a ON a.id = l.account_id WHERE a.org_id = $1 ORDER BY l.account_id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list SSO-linked accounts of org %q", orgID)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	return out, wrapErr(err, "list SSO-linked accounts of org %q", orgID)
}

// LastSSOLogins returns each linked account's latest SSO sign-in.
func (s *Store) LastSSOLogins(ctx context.Context, orgID string) (map[string]time.Time, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT l.account_id, MAX(l.last_login_at) FROM sso_links l
		JOIN accounts a ON a.id = l.account_id WHERE a.org_id = $1 GROUP BY l.account_id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "last SSO sign-ins of org %q", orgID)
	}
	type last struct {
		id string
		at int64
	}
	list, err := collect(rows, func(r scanner) (last, error) {
		var x last
		return x, r.Scan(&x.id, &x.at)
	})
	if err != nil {
		return nil, wrapErr(err, "last SSO sign-ins of org %q", orgID)
	}
	out := make(map[string]time.Time, len(list))
	for _, x := range list {
		out[x.id] = fromUS(x.at)
	}
	return out, nil
}

// TouchSSOLink moves LastLoginAt forward (never backward).
func (s *Store) TouchSSOLink(ctx context.Context, connectionID, subject string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE sso_links SET last_login_at = $3
		WHERE connection_id = $1 AND subject = $2 AND last_login_at < $3`, connectionID, subject, us(at))
	if err != nil {
		return wrapErr(err, "touch SSO link at connection %q", connectionID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "touch SSO link at connection %q", connectionID)
	}
	if n > 0 {
		return nil
	}
	var one int
	return wrapErr(s.q().QueryRowContext(ctx, `SELECT 1 FROM sso_links WHERE connection_id = $1 AND subject = $2`,
		connectionID, subject).Scan(&one), "touch SSO link at connection %q", connectionID)
}

// SetAccountGroups replaces the account's groups in one transaction.
// Duplicates collapse; names are kept exactly as the IdP sent them (case
// included). ErrNotFound when the account does not exist.
func (s *Store) SetAccountGroups(ctx context.Context, accountID string, groups []string) error {
	groups = slices.Clone(groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	return s.withTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`+tx.forUpdate(), accountID).Scan(&one); err != nil {
			return wrapErr(err, "set groups of account %q", accountID)
		}
		if _, err := tx.q().ExecContext(ctx, `DELETE FROM account_groups WHERE account_id = $1`, accountID); err != nil {
			return wrapErr(err, "set groups of account %q: clear", accountID)
		}
		for _, g := range groups {
			if _, err := tx.q().ExecContext(ctx, `INSERT INTO account_groups (account_id, name) VALUES ($1, $2)`, accountID, g); err != nil {
				return wrapErr(err, "set groups of account %q: add", accountID)
			}
		}
		return nil
	})
}

// ListAccountGroups returns the account's groups, sorted.
func (s *Store) ListAccountGroups(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT name FROM account_groups WHERE account_id = $1 ORDER BY name`, accountID)
	if err != nil {
		return nil, wrapErr(err, "list groups of account %q", accountID)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var name string
		return name, r.Scan(&name)
	})
	return out, wrapErr(err, "list groups of account %q", accountID)
}
