// Package breakglass lists an organization's break-glass admins — owners
// and admins under a policy with SSO off and MFA required — with whether
// each has a second factor enrolled, and says what is wrong with that set
// (fewer than two, one without a second factor). The console overview, the
// JSON API and the CLI show the same Report.
package breakglass

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Second-factor states of an Admin.
const (
	FactorEnrolled = "enrolled" // an authenticator app or a passkey
	FactorNone     = "none"     // nothing enrolled: the MFA step would stop them
	FactorUnknown  = "unknown"  // no lookup is wired: Gatehouse cannot tell
)

// Warning codes of a Report; the edges word them.
const (
	// WarnNone: the organization has no break-glass admin at all.
	WarnNone = "none"
	// WarnFewerThanTwo: exactly one; one lost phone locks the way out.
	WarnFewerThanTwo = "fewer_than_two"
	// WarnNoSecondFactor: a break-glass admin has no second factor, so
	// policy MFA would stop them at sign-in.
	WarnNoSecondFactor = "no_second_factor"
	// WarnNoOwner: no break-glass admin is an owner with a second factor,
	// which enforcing SSO on a policy requires (lockout.Check).
	WarnNoOwner = "no_owner"
	// WarnFactorUnknown: Gatehouse cannot tell who has a second factor.
	WarnFactorUnknown = "factor_unknown"
)

// Admin is one break-glass admin.
type Admin struct {
	ID           string
	Email        string
	Role         storage.Role
	Policy       string // the policy's name
	SecondFactor string // FactorEnrolled, FactorNone or FactorUnknown
}

// Report is what List finds.
type Report struct {
	// Admins are the break-glass admins, owners first, then by email.
	Admins []Admin
	// Warnings are Warn* codes, most serious first; none when all is well.
	Warnings []string
}

// Service answers who the break-glass admins are.
type Service struct {
	store        storage.Store
	secondFactor lockout.SecondFactorFunc
}

// New returns a Service. secondFactor reports whether an account has a
// second factor enrolled (TOTP or a passkey), the same lookup the
// services hand lockout.Check; nil shows every admin's factor as unknown
// rather than guessing.
func New(store storage.Store, secondFactor lockout.SecondFactorFunc) *Service {
	return &Service{store: store, secondFactor: secondFactor}
}

// List reports orgID's break-glass admins. The actor in ctx must be able
// to read the organization's administrative data.
func (s *Service) List(ctx context.Context, orgID string) (Report, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Report{}, err
	}
	c, err := lockout.Load(ctx, s.store, orgID)
	if err != nil {
		return Report{}, fmt.Errorf("breakglass: %w", err)
	}
	lookup := s.secondFactor
	var r Report
	for _, a := range c.Accounts {
		p := c.PolicyOf(a.ID)
		if p == nil || !policy.IsBreakGlass(a, *p) {
			continue
		}
		adm := Admin{ID: a.ID, Email: a.Email, Role: a.Role, Policy: p.Name, SecondFactor: FactorUnknown}
		if lookup != nil {
			ok, err := lookup(ctx, a.ID)
			if err != nil {
				return Report{}, fmt.Errorf("breakglass: second factor of %s: %w", a.Email, err)
			}
			adm.SecondFactor = FactorNone
			if ok {
				adm.SecondFactor = FactorEnrolled
			}
		}
		r.Admins = append(r.Admins, adm)
	}
	slices.SortFunc(r.Admins, func(a, b Admin) int {
		if a.Role != b.Role {
			if a.Role == storage.RoleOwner {
				return -1
			}
			if b.Role == storage.RoleOwner {
				return 1
			}
		}
		return cmp.Compare(a.Email, b.Email)
	})
	r.Warnings = warnings(r.Admins, lookup != nil)
	return r, nil
}

// warnings says what is wrong with admins, most serious first.
func warnings(admins []Admin, known bool) []string {
	var w []string
	switch len(admins) {
	case 0:
		return []string{WarnNone}
	case 1:
		w = append(w, WarnFewerThanTwo)
	}
	if !known {
		return append(w, WarnFactorUnknown)
	}
	if !slices.ContainsFunc(admins, func(a Admin) bool {
		return a.Role == storage.RoleOwner && a.SecondFactor == FactorEnrolled
	}) {
		w = append([]string{WarnNoOwner}, w...)
	}
	if slices.ContainsFunc(admins, func(a Admin) bool { return a.SecondFactor == FactorNone }) {
		w = append(w, WarnNoSecondFactor)
	}
	return w
}

// Words says a warning in plain words, with what to do; the console, the
// API (as "message") and the CLI show the same sentences.
func Words(code string) string {
	switch code {
	case WarnNone:
		return "You have no break-glass admins. If your IdP fails, nobody may be able to get in. Create a policy with SSO off and MFA required, add at least two owners or admins to it, and have each enrol an authenticator app or passkey."
	case WarnFewerThanTwo:
		return "You have only one break-glass admin. If they are away or lose their phone, nobody can get in when the IdP fails. Add a second owner or admin to a policy with SSO off and MFA required."
	case WarnNoSecondFactor:
		return "A break-glass admin has no second factor enrolled, so they cannot get past the MFA step. Ask them to enrol an authenticator app or passkey on their account page."
	case WarnNoOwner:
		return "No break-glass owner has a second factor enrolled, so SSO cannot be enforced on a policy without forcing it. Add an owner to a break-glass policy (SSO off, MFA required) and have them enrol an authenticator app or passkey."
	case WarnFactorUnknown:
		return "Gatehouse cannot tell whether your break-glass admins have a second factor enrolled. Make sure each has an authenticator app or passkey."
	}
	return code
}
