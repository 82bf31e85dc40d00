package apiview

import "github.com/gatehouse-id/gatehouse/internal/policy"

// PolicyCoverage is whom a policy covers: counts by why, the same in
// plain words, and one page of the people, by email.
type PolicyCoverage struct {
	Policy string `json:"policy"` // the policy's name
	// Summary says whom the policy covers in plain words with counts.
	Summary  string   `json:"summary"`
	Total    int      `json:"total"`
	Explicit int      `json:"explicit"` // people put under the policy by name
	Groups   []string `json:"groups"`
	// GroupPeople are covered through Groups, DomainPeople through Domains.
	GroupPeople  int      `json:"group_people"`
	Domains      []string `json:"domains"`
	DomainPeople int      `json:"domain_people"`
	// For the default policy: people at verified domains no other policy
	// names (Rest), and at domains the organization has not verified
	// (Unmanaged; they sign in with a password).
	Rest      int             `json:"rest"`
	Unmanaged int             `json:"unmanaged"`
	People    []CoveredPerson `json:"people"`
	// NextAfter is the after= of the next page; "" on the last.
	NextAfter string `json:"next_after"`
}

// CoveredPerson is one person a policy covers, and why.
type CoveredPerson struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	// Reason is explicit, group, domain or default; Why says it in words.
	Reason string `json:"reason"`
	Group  string `json:"group"` // for reason group: the IdP group
	Why    string `json:"why"`
}

// PolicyCoverageFrom converts a coverage count and one page of people.
func PolicyCoverageFrom(c policy.Coverage, people []policy.Covered, next string) PolicyCoverage {
	out := PolicyCoverage{
		Policy: c.Policy.Name, Summary: c.Words(), Total: c.Total, Explicit: c.Explicit,
		Groups: nonNil(c.Groups), GroupPeople: c.GroupPeople, Domains: nonNil(c.Domains), DomainPeople: c.DomainPeople,
		Rest: c.Rest, Unmanaged: c.Unmanaged, People: make([]CoveredPerson, 0, len(people)), NextAfter: next,
	}
	for _, p := range people {
		out.People = append(out.People, CoveredPerson{
			ID: p.AccountID, Email: p.Email, DisplayName: p.DisplayName, Role: string(p.Role), Status: string(p.Status),
			Reason: p.Reason, Group: p.Group, Why: p.Why,
		})
	}
	return out
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
