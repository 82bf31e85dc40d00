package policy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Coverage says whom a policy covers, counted in the database by the same
// rule that resolves sign-ins.
type Coverage struct {
	Policy storage.Policy
	// Explicit people were put under the policy by name.
	Explicit int
	// Groups are the IdP groups the policy names, and GroupPeople how many
	// accounts it covers through them.
	Groups      []string
	GroupPeople int
	// Domains are the email domains the policy names, and DomainPeople
	// how many accounts it covers through them.
	Domains      []string
	DomainPeople int
	// For the default policy: accounts no other policy places, at a
	// domain the organization verified (Rest) or not (Unmanaged: SSO does
	// not reach them, they sign in with a password).
	Rest, Unmanaged int
	// Total is everyone the policy covers.
	Total int
}

// Words says whom the policy covers in plain words with counts, e.g.
// "3 people named explicitly, members of IdP groups ‘eng’, ‘ops’ (41
// people) and accounts in corp.example (1,203 people)".
func (c Coverage) Words() string {
	var parts []string
	if c.Explicit > 0 {
		parts = append(parts, people(c.Explicit)+" named explicitly")
	}
	if len(c.Groups) > 0 {
		word := "members of IdP group "
		if len(c.Groups) > 1 {
			word = "members of IdP groups "
		}
		parts = append(parts, word+quoteAll(c.Groups)+" ("+people(c.GroupPeople)+")")
	}
	if len(c.Domains) > 0 {
		parts = append(parts, "accounts in "+strings.Join(c.Domains, ", ")+" ("+people(c.DomainPeople)+")")
	}
	if c.Policy.IsDefault {
		parts = append(parts, "accounts in verified domains that no other policy names ("+people(c.Rest)+")")
		if c.Unmanaged > 0 {
			parts = append(parts, "accounts at domains the organization has not verified, which sign in with a password whatever this policy says ("+people(c.Unmanaged)+")")
		}
	}
	if len(parts) == 0 {
		return "Nobody yet: name people, IdP groups or email domains to cover them"
	}
	return joinWords(parts)
}

func joinWords(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "‘" + s + "’"
	}
	return strings.Join(q, ", ")
}

// people is "1 person", "1,203 people".
func people(n int) string {
	if n == 1 {
		return "1 person"
	}
	return Thousands(n) + " people"
}

// Thousands writes n with a comma between groups of three digits.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Coverage counts whom the policy nameOrID covers and why, with COUNT
// queries (nobody is loaded).
func (s *Service) Coverage(ctx context.Context, orgID, nameOrID string) (Coverage, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Coverage{}, err
	}
	p, err := s.find(ctx, s.store, orgID, nameOrID)
	if err != nil {
		return Coverage{}, err
	}
	c := Coverage{Policy: p}
	if c.Groups, err = s.store.ListPolicyGroups(ctx, orgID, p.ID); err != nil {
		return c, fmt.Errorf("policy: list groups of %q: %w", p.Name, err)
	}
	named, err := s.store.ListDomainPolicies(ctx, orgID)
	if err != nil {
		return c, fmt.Errorf("policy: list policy domains: %w", err)
	}
	c.Domains = named[p.ID]
	counts, err := s.store.CountPolicyCoverage(ctx, orgID, p.ID)
	if err != nil {
		return c, fmt.Errorf("policy: count coverage of %q: %w", p.Name, err)
	}
	for _, n := range counts {
		switch {
		case n.Reason == storage.CoverExplicit:
			c.Explicit += n.Count
		case n.Reason == storage.CoverGroup:
			c.GroupPeople += n.Count
		case n.Reason == storage.CoverDomain:
			c.DomainPeople += n.Count
		case n.Managed:
			c.Rest += n.Count
		default:
			c.Unmanaged += n.Count
		}
		c.Total += n.Count
	}
	return c, nil
}

// Covered is a person a policy covers, and why in plain words.
type Covered struct {
	storage.PolicyCoverageRow
	Why string
}

// CoveragePage returns up to limit (1–200; 50 when out of range) of the
// people the policy covers whose email sorts after after, by email, and
// the cursor of the next page ("" on the last).
func (s *Service) CoveragePage(ctx context.Context, orgID, nameOrID, after string, limit int) ([]Covered, string, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, "", err
	}
	p, err := s.find(ctx, s.store, orgID, nameOrID)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > 200 {
		limit = 50
	}
	// The cursor is an email address from an earlier page; anything else
	// is refused before it reaches the database.
	if len(after) > 320 || !utf8.ValidString(after) || strings.ContainsFunc(after, unicode.IsControl) {
		return nil, "", invalid("after", "The page cursor is not one this page gave out. Start again from the first page.")
	}
	rows, err := s.store.ListPolicyCoverage(ctx, storage.PolicyCoverageQuery{
		OrgID: orgID, PolicyID: p.ID, After: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", fmt.Errorf("policy: list coverage of %q: %w", p.Name, err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Email
	}
	out := make([]Covered, len(rows))
	for i, r := range rows {
		out[i] = Covered{PolicyCoverageRow: r, Why: why(r)}
	}
	return out, next, nil
}

// why says in plain words why a policy covers the row's account.
func why(r storage.PolicyCoverageRow) string {
	_, dom, _ := strings.Cut(r.Email, "@")
	switch r.Reason {
	case storage.CoverExplicit:
		return "Named explicitly"
	case storage.CoverGroup:
		return "Member of IdP group ‘" + r.Group + "’"
	case storage.CoverDomain:
		return "Account in " + dom
	}
	if !r.Managed {
		return "At " + dom + ", which the organization has not verified (signs in with a password)"
	}
	return "No other policy names " + dom
}
