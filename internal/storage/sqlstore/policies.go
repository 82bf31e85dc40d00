package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// connection_id is NULL when the policy names no connection (see the
// migration), and ” to callers.
const policyCols = `id, org_id, name, is_default, sso, COALESCE(connection_id, ''), created_at, updated_at, version,
	failback, mfa, idle_timeout, max_lifetime, failback_window_days, auto_failback_after`

// policyColsP is policyCols for a query that aliases policies as p.
const policyColsP = `p.id, p.org_id, p.name, p.is_default, p.sso, COALESCE(p.connection_id, ''),
	p.created_at, p.updated_at, p.version,
	p.failback, p.mfa, p.idle_timeout, p.max_lifetime, p.failback_window_days, p.auto_failback_after`

func scanPolicy(r scanner) (storage.Policy, error) {
	var p storage.Policy
	var isDefault, created, updated, idle, life, auto int64
	if err := r.Scan(&p.ID, &p.OrgID, &p.Name, &isDefault, &p.SSO, &p.ConnectionID, &created, &updated, &p.Version,
		&p.Failback, &p.MFA, &idle, &life, &p.FailbackWindowDays, &auto); err != nil {
		return p, err
	}
	// Durations are stored in microseconds, like every time in this store.
	p.IdleTimeout, p.MaxLifetime = time.Duration(idle)*time.Microsecond, time.Duration(life)*time.Microsecond
	p.AutoFailbackAfter = time.Duration(auto) * time.Microsecond
	p.IsDefault = isDefault != 0
	p.CreatedAt, p.UpdatedAt = fromUS(created), fromUS(updated)
	return p, nil
}

// CreatePolicy inserts p. ErrConflict on a duplicate ID, a duplicate name in
// the organization, or a second default policy; ErrNotFound when the
// organization does not exist or ConnectionID names no connection of the
// same organization. Whether SSO needs a connection is the policy service's
// rule, not storage's.
func (s *Store) CreatePolicy(ctx context.Context, p storage.Policy) error {
	p = storage.WithPolicyDefaults(p)
	_, err := s.q().ExecContext(ctx, `INSERT INTO policies (id, org_id, name, is_default, sso, connection_id, created_at, updated_at, version,
			failback, mfa, idle_timeout, max_lifetime, failback_window_days, auto_failback_after)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		p.ID, p.OrgID, p.Name, b2i(p.IsDefault), p.SSO, p.ConnectionID, us(p.CreatedAt), us(p.UpdatedAt), p.Version,
		p.Failback, p.MFA, p.IdleTimeout.Microseconds(), p.MaxLifetime.Microseconds(), p.FailbackWindowDays, p.AutoFailbackAfter.Microseconds())
	return wrapErr(err, "create policy %q", p.Name)
}

// GetPolicy returns the organization's policy with the ID.
func (s *Store) GetPolicy(ctx context.Context, orgID, id string) (storage.Policy, error) {
	p, err := scanPolicy(s.q().QueryRowContext(ctx, `SELECT `+policyCols+` FROM policies WHERE org_id = $1 AND id = $2`, orgID, id))
	return p, wrapErr(err, "get policy %q", id)
}

// GetPolicyByName returns the organization's policy with the name.
func (s *Store) GetPolicyByName(ctx context.Context, orgID, name string) (storage.Policy, error) {
	p, err := scanPolicy(s.q().QueryRowContext(ctx, `SELECT `+policyCols+` FROM policies WHERE org_id = $1 AND name = $2`, orgID, name))
	return p, wrapErr(err, "get policy by name %q", name)
}

// ListPolicies returns the organization's policies, the default first, then by name.
func (s *Store) ListPolicies(ctx context.Context, orgID string) ([]storage.Policy, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+policyCols+` FROM policies WHERE org_id = $1
		ORDER BY is_default DESC, name, id`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list policies of organization %q", orgID)
	}
	out, err := collect(rows, scanPolicy)
	return out, wrapErr(err, "list policies of organization %q", orgID)
}

// UpdatePolicy is UpdateAccount's pattern (row lock, closure on a copy,
// version check). ID, OrgID and CreatedAt cannot be changed through fn.
// Making a policy the default while another one is returns ErrConflict:
// move the default inside one transaction by clearing the old one first.
func (s *Store) UpdatePolicy(ctx context.Context, orgID, id string, fn func(p *storage.Policy) error) (storage.Policy, error) {
	var out storage.Policy
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanPolicy(tx.q().QueryRowContext(ctx,
			`SELECT `+policyCols+` FROM policies WHERE org_id = $1 AND id = $2`+tx.forUpdate(), orgID, id))
		if err != nil {
			return wrapErr(err, "update policy %q: read", id)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err // unchanged, as documented; the tx rolls back
		}
		next.ID, next.OrgID, next.CreatedAt = cur.ID, cur.OrgID, cur.CreatedAt
		next = storage.WithPolicyDefaults(next)
		out, err = scanPolicy(tx.q().QueryRowContext(ctx, `UPDATE policies SET
				name = $4, is_default = $5, sso = $6, connection_id = NULLIF($7, ''), updated_at = $8,
				failback = $9, mfa = $10, idle_timeout = $11, max_lifetime = $12, failback_window_days = $13,
				auto_failback_after = $14, version = version + 1
			WHERE org_id = $1 AND id = $2 AND version = $3
			RETURNING `+policyCols,
			orgID, id, cur.Version, next.Name, b2i(next.IsDefault), next.SSO, next.ConnectionID, us(next.UpdatedAt),
			next.Failback, next.MFA, next.IdleTimeout.Microseconds(), next.MaxLifetime.Microseconds(), next.FailbackWindowDays,
			next.AutoFailbackAfter.Microseconds()))
		if err != nil {
			if isNoRows(err) {
				return fmt.Errorf("sqlstore: update policy %q: version %d is stale: %w", id, cur.Version, storage.ErrConflict)
			}
			return wrapErr(err, "update policy %q", id)
		}
		return nil
	})
	if err != nil {
		return storage.Policy{}, err
	}
	return out, nil
}

// DeletePolicy deletes a named policy; its members fall back to the default
// (their membership rows cascade). The default policy cannot be deleted
// (ErrConflict): every account must stay under some policy.
func (s *Store) DeletePolicy(ctx context.Context, orgID, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM policies WHERE org_id = $1 AND id = $2 AND is_default = 0`, orgID, id)
	if err != nil {
		return wrapErr(err, "delete policy %q", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "delete policy %q", id)
	}
	if n > 0 {
		return nil
	}
	var one int
	if err := s.q().QueryRowContext(ctx, `SELECT 1 FROM policies WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&one); err != nil {
		return wrapErr(err, "delete policy %q", id)
	}
	return fmt.Errorf("sqlstore: delete policy %q: it is the default policy: %w", id, storage.ErrConflict)
}

// SetPolicyMember puts the account under the policy, replacing any earlier
// membership; policyID "" removes it (back to the default). The account and
// the policy must both belong to orgID, else ErrNotFound. Naming the default
// policy itself stores an explicit membership in it, which PolicyFor
// resolves to the same policy.
func (s *Store) SetPolicyMember(ctx context.Context, orgID, accountID, policyID string) error {
	return s.withTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE org_id = $1 AND id = $2`, orgID, accountID).Scan(&one); err != nil {
			return wrapErr(err, "set policy of account %q: account", accountID)
		}
		if policyID == "" {
			_, err := tx.q().ExecContext(ctx, `DELETE FROM policy_members WHERE org_id = $1 AND account_id = $2`, orgID, accountID)
			return wrapErr(err, "remove account %q from its policy", accountID)
		}
		// The (org_id, policy_id) foreign key refuses another organization's
		// policy as ErrNotFound, the same answer as a missing one.
		_, err := tx.q().ExecContext(ctx, `INSERT INTO policy_members (account_id, org_id, policy_id) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET org_id = excluded.org_id, policy_id = excluded.policy_id`,
			accountID, orgID, policyID)
		return wrapErr(err, "put account %q under policy %q", accountID, policyID)
	})
}

// ListPolicyMembers returns the IDs of the accounts explicitly under the
// policy, sorted; accounts that fall to the default are not listed.
func (s *Store) ListPolicyMembers(ctx context.Context, orgID, policyID string) ([]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT account_id FROM policy_members WHERE org_id = $1 AND policy_id = $2
		ORDER BY account_id`, orgID, policyID)
	if err != nil {
		return nil, wrapErr(err, "list members of policy %q", policyID)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	return out, wrapErr(err, "list members of policy %q", policyID)
}

// PolicyFor returns the policy that covers the account, in one statement
// (one snapshot, one round trip on the sign-in path): its explicit policy,
// else the first by name of the policies naming one of its IdP groups, else
// the policy naming its email's domain, else the organization's default.
// ErrNotFound when none applies.
func (s *Store) PolicyFor(ctx context.Context, orgID, accountID string) (storage.Policy, error) {
	p, err := scanPolicy(s.q().QueryRowContext(ctx, `SELECT `+policyColsP+` FROM policies p`+
		s.policiesApplyingTo("$1", "$2")+` LIMIT 1`, orgID, accountID))
	return p, wrapErr(err, "policy for account %q", accountID)
}

// policiesApplyingTo is the one rule of which policy covers an account,
// for PolicyFor and for every listing that groups accounts by policy: of
// org's policies p, those that apply to account, best first — the policy
// it is an explicit member of, then policies naming one of its IdP groups
// (by name), then the policy naming its email's domain, then the default.
// org and account are SQL expressions (placeholders or columns of an
// outer query).
func (s *Store) policiesApplyingTo(org, account string) string {
	rank := s.coverRank("p", account)
	return `
		WHERE p.org_id = ` + org + ` AND ` + rank + ` IS NOT NULL
		ORDER BY ` + rank + `, p.name` + s.byteOrder() + `, p.id`
}

// coverRank is how policy alias p applies to account (an SQL expression):
// 0 explicit member, 1 by IdP group, 2 by email domain, 3 the default,
// NULL not at all. Lower wins; coverReason names the ranks.
func (s *Store) coverRank(p, account string) string {
	return `(CASE
		WHEN EXISTS (SELECT 1 FROM policy_members m
			WHERE m.org_id = ` + p + `.org_id AND m.policy_id = ` + p + `.id AND m.account_id = ` + account + `) THEN 0
		WHEN ` + p + `.is_default = 0 AND EXISTS (SELECT 1 FROM policy_groups g JOIN account_groups ag ON ag.name = g.group_name
			WHERE g.org_id = ` + p + `.org_id AND g.policy_id = ` + p + `.id AND ag.account_id = ` + account + `) THEN 1
		WHEN ` + p + `.is_default = 0 AND EXISTS (SELECT 1 FROM policy_domains pd JOIN accounts ax ON ax.org_id = pd.org_id
				AND ` + s.emailDomain("ax.email") + ` = pd.domain
			WHERE pd.org_id = ` + p + `.org_id AND pd.policy_id = ` + p + `.id AND ax.id = ` + account + `) THEN 2
		WHEN ` + p + `.is_default = 1 THEN 3
	END)`
}

// coverReason turns a coverRank into its storage.Cover* name.
func coverReason(rank string) string {
	return `(CASE ` + rank + ` WHEN 0 THEN '` + storage.CoverExplicit + `' WHEN 1 THEN '` + storage.CoverGroup +
		`' WHEN 2 THEN '` + storage.CoverDomain + `' ELSE '` + storage.CoverDefault + `' END)`
}

// resolvedPolicy is the ID of the policy that covers account alias a, as
// PolicyFor resolves it.
func (s *Store) resolvedPolicy(a string) string {
	return `(SELECT p.id FROM policies p` + s.policiesApplyingTo(a+".org_id", a+".id") + ` LIMIT 1)`
}

// emailDomain is the domain of an email column (everything after the
// first '@', as lockout.Config.Managed reads it), written exactly as the
// accounts_org_email_domain index computes it so the planner can use it.
func (s *Store) emailDomain(col string) string {
	if s.dialect == DialectPostgres {
		return `substr(` + col + `, strpos(` + col + `, '@') + 1)`
	}
	return `substr(` + col + `, instr(` + col + `, '@') + 1)`
}
