package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// AddPolicyDomain makes the policy cover the accounts at domain. The
// policy and the claim are read first and the insert skips a duplicate, so
// no statement fails (which would poison a PostgreSQL transaction).
func (s *Store) AddPolicyDomain(ctx context.Context, orgID, policyID, domain string) error {
	return s.withTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM policies WHERE org_id = $1 AND id = $2`, orgID, policyID).Scan(&one); err != nil {
			return wrapErr(err, "add domain %q to policy %q: policy", domain, policyID)
		}
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM domains WHERE org_id = $1 AND name = $2`, orgID, domain).Scan(&one); err != nil {
			return wrapErr(err, "add domain %q to policy %q: domain", domain, policyID)
		}
		res, err := tx.q().ExecContext(ctx, `INSERT INTO policy_domains (org_id, domain, policy_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, orgID, domain, policyID)
		if err != nil {
			return wrapErr(err, "add domain %q to policy %q", domain, policyID)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrapErr(err, "add domain %q to policy %q", domain, policyID)
		} else if n == 0 {
			return fmt.Errorf("sqlstore: a policy names domain %q already: %w", domain, storage.ErrConflict)
		}
		return nil
	})
}

// RemovePolicyDomain stops the policy covering domain.
func (s *Store) RemovePolicyDomain(ctx context.Context, orgID, policyID, domain string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM policy_domains WHERE org_id = $1 AND policy_id = $2 AND domain = $3`,
		orgID, policyID, domain)
	if err != nil {
		return wrapErr(err, "remove domain %q from policy %q", domain, policyID)
	}
	return requireDeleted(res, "remove domain %q from policy %q", domain, policyID)
}

// DomainPolicy returns the policy naming domain.
func (s *Store) DomainPolicy(ctx context.Context, orgID, domain string) (storage.Policy, error) {
	p, err := scanPolicy(s.q().QueryRowContext(ctx, `SELECT `+policyColsP+` FROM policy_domains pd
		JOIN policies p ON p.org_id = pd.org_id AND p.id = pd.policy_id
		WHERE pd.org_id = $1 AND pd.domain = $2`, orgID, domain))
	return p, wrapErr(err, "policy of domain %q", domain)
}

// ListDomainPolicies returns policy ID → the domains it names.
func (s *Store) ListDomainPolicies(ctx context.Context, orgID string) (map[string][]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT policy_id, domain FROM policy_domains WHERE org_id = $1
		ORDER BY policy_id, domain`+s.byteOrder(), orgID)
	if err != nil {
		return nil, wrapErr(err, "list policy domains of organization %q", orgID)
	}
	ps, err := collect(rows, scanPair)
	return pairsToMap(ps), wrapErr(err, "list policy domains of organization %q", orgID)
}

// coverageFrom is the accounts of $1 that PolicyFor resolves to $2, with
// cp the policy, as a FROM clause ending in a WHERE. Both branches start
// from placedBy, the accounts the rule's first three ranks (member, group,
// domain) can place under a policy, read through indexes, so nobody is
// resolved one by one without need: a named policy covers those of its
// candidates the rule gives it (an earlier rank or name may win them),
// and the default covers its explicit members and everyone no named
// policy can place — the rule's last rank — which is a set difference,
// not a per-account ranking.
func (s *Store) coverageFrom(isDefault bool) string {
	from := ` FROM accounts a JOIN policies cp ON cp.org_id = a.org_id AND cp.id = $2
		WHERE a.org_id = $1 AND `
	if isDefault {
		// An explicit member of the default outranks a group or domain
		// another policy names.
		return from + `(a.id NOT IN (` + s.placedBy(`IN (SELECT n.id FROM policies n WHERE n.org_id = $1 AND n.is_default = 0)`) + `)
			OR EXISTS (SELECT 1 FROM policy_members dm WHERE dm.org_id = $1 AND dm.policy_id = $2 AND dm.account_id = a.id))`
	}
	return from + s.resolvedPolicy("a") + ` = $2 AND a.id IN (` + s.placedBy(`= $2`) + `)`
}

// placedBy is the IDs of $1's accounts that the policies whose ID is
// policyIDs (an SQL condition on the policy ID) name explicitly, by IdP
// group or by email domain: the candidates of coverRank's ranks 0–2.
func (s *Store) placedBy(policyIDs string) string {
	return `SELECT m.account_id FROM policy_members m WHERE m.org_id = $1 AND m.policy_id ` + policyIDs + `
			UNION SELECT ag.account_id FROM policy_groups g JOIN account_groups ag ON ag.name = g.group_name
				WHERE g.org_id = $1 AND g.policy_id ` + policyIDs + `
			UNION SELECT ax.id FROM policy_domains pd JOIN accounts ax ON ax.org_id = pd.org_id
				AND ` + s.emailDomain("ax.email") + ` = pd.domain
				WHERE pd.org_id = $1 AND pd.policy_id ` + policyIDs
}

// managedExpr is 1 when account a's email domain is verified by its
// organization, else 0.
func (s *Store) managedExpr() string {
	return `(CASE WHEN EXISTS (SELECT 1 FROM domains d WHERE d.org_id = a.org_id
		AND d.name = ` + s.emailDomain("a.email") + ` AND d.verified_at > 0) THEN 1 ELSE 0 END)`
}

// CountPolicyCoverage counts the policy's accounts by why and whether
// their domain is verified, in one statement.
func (s *Store) CountPolicyCoverage(ctx context.Context, orgID, policyID string) ([]storage.PolicyCoverageCount, error) {
	p, err := s.GetPolicy(ctx, orgID, policyID)
	if err != nil {
		return nil, err
	}
	rows, err := s.q().QueryContext(ctx, `SELECT reason, managed, COUNT(*) FROM (
			SELECT `+coverReason(s.coverRank("cp", "a.id"))+` AS reason, `+s.managedExpr()+` AS managed`+
		s.coverageFrom(p.IsDefault)+`) c
		GROUP BY reason, managed ORDER BY reason, managed`, orgID, policyID)
	if err != nil {
		return nil, wrapErr(err, "count coverage of policy %q", policyID)
	}
	out, err := collect(rows, func(r scanner) (storage.PolicyCoverageCount, error) {
		var c storage.PolicyCoverageCount
		var managed int
		err := r.Scan(&c.Reason, &managed, &c.Count)
		c.Managed = managed != 0
		return c, err
	})
	return out, wrapErr(err, "count coverage of policy %q", policyID)
}

// ListPolicyCoverage returns one page of the policy's accounts by email.
func (s *Store) ListPolicyCoverage(ctx context.Context, q storage.PolicyCoverageQuery) ([]storage.PolicyCoverageRow, error) {
	p, err := s.GetPolicy(ctx, q.OrgID, q.PolicyID)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	reason := coverReason(s.coverRank("cp", "a.id"))
	rows, err := s.q().QueryContext(ctx, `SELECT a.id, a.email, a.display_name, a.role, a.status, `+reason+`,
			COALESCE((SELECT MIN(g.group_name) FROM policy_groups g JOIN account_groups ag ON ag.name = g.group_name
				WHERE g.org_id = a.org_id AND g.policy_id = cp.id AND ag.account_id = a.id), ''),
			`+s.managedExpr()+
		s.coverageFrom(p.IsDefault)+` AND a.email > $3
		ORDER BY a.email LIMIT $4`, q.OrgID, q.PolicyID, q.After, limit)
	if err != nil {
		return nil, wrapErr(err, "list coverage of policy %q", q.PolicyID)
	}
	out, err := collect(rows, func(r scanner) (storage.PolicyCoverageRow, error) {
		var c storage.PolicyCoverageRow
		var managed int
		err := r.Scan(&c.AccountID, &c.Email, &c.DisplayName, &c.Role, &c.Status, &c.Reason, &c.Group, &managed)
		c.Managed = managed != 0
		if c.Reason != storage.CoverGroup {
			c.Group = ""
		}
		return c, err
	})
	return out, wrapErr(err, "list coverage of policy %q", q.PolicyID)
}
