package storage

import "context"

// PolicyGroups stores membership of policies by IdP group: an account
// whose groups (SetAccountGroups, synced at SSO sign-in) include one of a
// policy's groups falls under that policy, unless it is an explicit member
// of a policy (SetPolicyMember). When several policies name its groups,
// the first by policy name applies. PolicyFor resolves all of this.
type PolicyGroups interface {
	// AddPolicyGroup: ErrConflict if the policy names the group already;
	// ErrNotFound if the policy is not one of orgID's.
	AddPolicyGroup(ctx context.Context, orgID, policyID, group string) error
	// RemovePolicyGroup: ErrNotFound if the policy does not name the group.
	RemovePolicyGroup(ctx context.Context, orgID, policyID, group string) error
	// ListPolicyGroups returns the groups the policy names, sorted.
	ListPolicyGroups(ctx context.Context, orgID, policyID string) ([]string, error)
	// ListGroupPolicies returns, for each of orgID's policies that names a
	// group, the groups it names (policy ID → sorted groups), in one query.
	ListGroupPolicies(ctx context.Context, orgID string) (map[string][]string, error)
	// ListGroupedAccounts returns, in one query, the groups of orgID's
	// accounts (account ID → sorted groups; accounts without any are
	// absent), so a change of a policy's groups can be evaluated in memory.
	ListGroupedAccounts(ctx context.Context, orgID string) (map[string][]string, error)
}
