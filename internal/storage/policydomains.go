package storage

import "context"

// Why an account falls under a policy, in the order PolicyFor resolves
// it: an explicit membership beats an IdP group, a group beats an email
// domain, and the default policy covers everyone else.
const (
	CoverExplicit = "explicit" // the account was put under the policy by name
	CoverGroup    = "group"    // one of its synced IdP groups is named by the policy
	CoverDomain   = "domain"   // its email's domain is named by the policy
	CoverDefault  = "default"  // no other policy names it: the default policy
)

// PolicyDomains stores membership of policies by email domain: an account
// whose email is at a domain a policy names falls under that policy, unless
// it is an explicit member of a policy or one of its IdP groups is named by
// a policy. A domain is named by at most one policy of its organization,
// and only a domain the organization has claimed (deleting the claim drops
// the naming). PolicyFor resolves all of this.
type PolicyDomains interface {
	// AddPolicyDomain: ErrNotFound if the policy is not one of orgID's or
	// orgID has no claim on domain; ErrConflict if a policy of orgID names
	// the domain already (this one or another). Whether the domain must
	// be verified is the policy service's rule.
	AddPolicyDomain(ctx context.Context, orgID, policyID, domain string) error
	// RemovePolicyDomain: ErrNotFound if the policy does not name the domain.
	RemovePolicyDomain(ctx context.Context, orgID, policyID, domain string) error
	// DomainPolicy returns the policy of orgID that names domain,
	// ErrNotFound when none does (a new account there gets the default).
	DomainPolicy(ctx context.Context, orgID, domain string) (Policy, error)
	// ListDomainPolicies returns, in one query, for each of orgID's
	// policies that names a domain, the domains it names (policy ID →
	// sorted domains).
	ListDomainPolicies(ctx context.Context, orgID string) (map[string][]string, error)
	// CountPolicyCoverage counts the accounts PolicyFor resolves to the
	// policy, by why (Cover* constants) and by whether their email's domain
	// is one orgID verified. It counts in the database.
	CountPolicyCoverage(ctx context.Context, orgID, policyID string) ([]PolicyCoverageCount, error)
	// ListPolicyCoverage returns one page of the accounts PolicyFor
	// resolves to the policy, ordered by email, with why.
	ListPolicyCoverage(ctx context.Context, q PolicyCoverageQuery) ([]PolicyCoverageRow, error)
}

// PolicyCoverageCount is one line of CountPolicyCoverage.
type PolicyCoverageCount struct {
	Reason  string // a Cover* constant
	Managed bool   // the email's domain is verified by the organization
	Count   int
}

// PolicyCoverageQuery is one page of ListPolicyCoverage: the accounts
// whose email sorts after After (keyset; "" for the first page), at most
// Limit of them (100 when not positive).
type PolicyCoverageQuery struct {
	OrgID, PolicyID string
	After           string
	Limit           int
}

// PolicyCoverageRow is an account ListPolicyCoverage lists, and why the
// policy covers it.
type PolicyCoverageRow struct {
	AccountID   string
	Email       string
	DisplayName string
	Role        Role
	Status      AccountStatus
	Reason      string // a Cover* constant
	// Group is, for CoverGroup, the first (by name) of the account's IdP
	// groups the policy names.
	Group string
	// Managed: the email's domain is verified by the organization (for
	// CoverDefault: whether the policy's SSO setting reaches the account).
	Managed bool
}
