package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Why a policy applies to an account (Effective.Why).
const (
	WhyExplicit = "explicit" // the account is a named member of the policy
	WhyGroup    = "group"    // the policy names one of the account's IdP groups
	WhyDomain   = "domain"   // the policy names the domain of the account's email
	WhyDefault  = "default"  // nothing else names the account: the default policy
	WhyNone     = "none"     // the organization has no default policy yet (SSO off for everybody)
)

// Effective is the policy that applies to an account and why.
type Effective struct {
	Policy storage.Policy // zero when Why is WhyNone
	Why    string         // Why* constant
	// Groups are the account's IdP groups the policy names (WhyGroup).
	Groups []string
	// Domain is the account's email domain the policy names (WhyDomain).
	Domain string
	// Overridden: the policies an account would fall under by group but
	// that lose to the one that applies (an explicit membership, or an
	// earlier name).
	Overridden []storage.Policy
}

// Effective says which policy applies to the account and why, by the rule
// storage's PolicyFor applies (explicit member, then IdP group by policy
// name, then email domain, then the default). The caller must be able to read orgID.
func (s *Service) Effective(ctx context.Context, orgID, accountID string) (Effective, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Effective{}, err
	}
	p, err := s.store.PolicyFor(ctx, orgID, accountID)
	if errors.Is(err, storage.ErrNotFound) {
		return Effective{Why: WhyNone}, nil
	}
	if err != nil {
		return Effective{}, fmt.Errorf("policy: policy for account: %w", err)
	}
	out := Effective{Policy: p, Why: WhyDefault}
	explicit, err := s.store.ExplicitPolicy(ctx, orgID, accountID)
	if err != nil {
		return Effective{}, fmt.Errorf("policy: explicit membership: %w", err)
	}
	groups, err := s.store.ListAccountGroups(ctx, accountID)
	if err != nil {
		return Effective{}, fmt.Errorf("policy: account groups: %w", err)
	}
	var byGroup map[string][]string
	if len(groups) > 0 {
		if byGroup, err = s.store.ListGroupPolicies(ctx, orgID); err != nil {
			return Effective{}, fmt.Errorf("policy: group policies: %w", err)
		}
	}
	matching := func(policyID string) []string {
		var m []string
		for _, g := range byGroup[policyID] {
			if slices.Contains(groups, g) {
				m = append(m, g)
			}
		}
		return m
	}
	switch {
	case explicit != "" && explicit == p.ID:
		out.Why = WhyExplicit
	case !p.IsDefault && len(matching(p.ID)) > 0:
		out.Why, out.Groups = WhyGroup, matching(p.ID)
	case !p.IsDefault:
		// Not named, not by group: the policy names the email's domain.
		out.Why = WhyDomain
		if acct, err := s.store.GetAccount(ctx, accountID); err == nil {
			if _, d, ok := strings.Cut(acct.Email, "@"); ok {
				out.Domain = d
			}
		}
	}
	if len(byGroup) > 0 {
		ps, err := s.store.ListPolicies(ctx, orgID)
		if err != nil {
			return Effective{}, fmt.Errorf("policy: list policies: %w", err)
		}
		for _, q := range ps {
			if q.ID != p.ID && len(matching(q.ID)) > 0 {
				out.Overridden = append(out.Overridden, q)
			}
		}
	}
	return out, nil
}
