package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// AddPolicyGroup makes the policy cover the accounts in group. The policy
// is read first and the insert skips a duplicate, so neither a missing
// policy nor a second add fails a statement (which would poison a
// PostgreSQL transaction).
func (s *Store) AddPolicyGroup(ctx context.Context, orgID, policyID, group string) error {
	return s.withTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.q().QueryRowContext(ctx, `SELECT 1 FROM policies WHERE org_id = $1 AND id = $2`, orgID, policyID).Scan(&one); err != nil {
			return wrapErr(err, "add group %q to policy %q: policy", group, policyID)
		}
		res, err := tx.q().ExecContext(ctx, `INSERT INTO policy_groups (org_id, policy_id, group_name) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, orgID, policyID, group)
		if err != nil {
			return wrapErr(err, "add group %q to policy %q", group, policyID)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrapErr(err, "add group %q to policy %q", group, policyID)
		} else if n == 0 {
			return fmt.Errorf("sqlstore: policy %q names group %q already: %w", policyID, group, storage.ErrConflict)
		}
		return nil
	})
}

// RemovePolicyGroup stops the policy covering group.
func (s *Store) RemovePolicyGroup(ctx context.Context, orgID, policyID, group string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM policy_groups WHERE org_id = $1 AND policy_id = $2 AND group_name = $3`,
		orgID, policyID, group)
	if err != nil {
		return wrapErr(err, "remove group %q from policy %q", group, policyID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "remove group %q from policy %q", group, policyID)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: policy %q does not name group %q: %w", policyID, group, storage.ErrNotFound)
	}
	return nil
}

// ListPolicyGroups returns the groups the policy names, sorted.
func (s *Store) ListPolicyGroups(ctx context.Context, orgID, policyID string) ([]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT group_name FROM policy_groups WHERE org_id = $1 AND policy_id = $2
		ORDER BY group_name`, orgID, policyID)
	if err != nil {
		return nil, wrapErr(err, "list groups of policy %q", policyID)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var g string
		return g, r.Scan(&g)
	})
	return out, wrapErr(err, "list groups of policy %q", policyID)
}

type pair struct{ key, value string }

func scanPair(r scanner) (pair, error) {
	var p pair
	return p, r.Scan(&p.key, &p.value)
}

func pairsToMap(ps []pair) map[string][]string {
	out := map[string][]string{}
	for _, p := range ps {
		out[p.key] = append(out[p.key], p.value)
	}
	return out
}

// ListGroupPolicies returns policy ID → the groups it names.
func (s *Store) ListGroupPolicies(ctx context.Context, orgID string) (map[string][]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT policy_id, group_name FROM policy_groups WHERE org_id = $1
		ORDER BY policy_id, group_name`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list policy groups of organization %q", orgID)
	}
	ps, err := collect(rows, scanPair)
	return pairsToMap(ps), wrapErr(err, "list policy groups of organization %q", orgID)
}

// ListGroupedAccounts returns account ID → its groups, for the
// organization's accounts that have any.
func (s *Store) ListGroupedAccounts(ctx context.Context, orgID string) (map[string][]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT a.id, ag.name FROM accounts a
		JOIN account_groups ag ON ag.account_id = a.id
		WHERE a.org_id = $1
		ORDER BY a.id, ag.name`, orgID)
	if err != nil {
		return nil, wrapErr(err, "list grouped accounts of organization %q", orgID)
	}
	ps, err := collect(rows, scanPair)
	return pairsToMap(ps), wrapErr(err, "list grouped accounts of organization %q", orgID)
}
