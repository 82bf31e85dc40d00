package emergency

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Person is one account in a readiness report.
type Person struct {
	Account storage.Account
	// Reason is why the account may not fail back (policy.Ineligible…),
	// "" when it may.
	Reason string
	// Passkeys and EmergencyPasskeys count its passkeys; -1 when unknown
	// (no passkey counter installed, or it failed).
	Passkeys, EmergencyPasskeys int
}

// PolicyReadiness is, for one policy, who could sign in during an
// emergency and who could not, and why.
type PolicyReadiness struct {
	Policy   storage.Policy
	Covered  bool // an emergency in force covers it now (and it enforces SSO: otherwise there is nothing to fail back from)
	Eligible []Person
	// Ineligible lists the accounts that may not fail back, each with its
	// reason. For a policy that does not enforce SSO there is nothing to
	// fail back from, and everyone is listed here with that reason.
	Ineligible []Person
	// WithEmergencyPasskey counts eligible people with at least one
	// emergency passkey; -1 when unknown.
	WithEmergencyPasskey int
}

// membersByPolicy returns orgID's accounts grouped under the policy that
// applies to each, resolved as sign-in resolves it (explicit member, then
// IdP group, then the default: lockout.Config.PolicyOf).
func membersByPolicy(ctx context.Context, st storage.Store, orgID string) ([]storage.Policy, map[string][]storage.Account, error) {
	c, err := lockout.Load(ctx, st, orgID)
	if err != nil {
		return nil, nil, fmt.Errorf("emergency: %w", err)
	}
	out := map[string][]storage.Account{}
	for _, a := range c.Accounts {
		if p := c.PolicyOf(a.ID); p != nil {
			out[p.ID] = append(out[p.ID], a)
		}
	}
	return c.Policies, out, nil
}

// Readiness reports, per policy of orgID, who could fail back now and who
// could not and why, with their passkey counts: the console shows it before
// and during an emergency.
func (s *Service) Readiness(ctx context.Context, orgID string) ([]PolicyReadiness, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	now := s.now()
	pols, members, err := membersByPolicy(ctx, s.store, orgID)
	if err != nil {
		return nil, err
	}
	open, err := s.store.OpenEmergency(ctx, orgID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("emergency: readiness: %w", err)
	}
	inForce := err == nil && open.InForce(now)
	// One query for everyone's last SSO sign-in, not one per person.
	lastSSO, err := s.store.LastSSOLogins(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("emergency: readiness: %w", err)
	}
	out := make([]PolicyReadiness, 0, len(pols))
	for _, p := range pols {
		r := PolicyReadiness{Policy: p, Covered: inForce && open.Covers(p.ID) && p.SSO == storage.SSOEnforced}
		if s.passkeys == nil {
			r.WithEmergencyPasskey = -1
		}
		for _, a := range members[p.ID] {
			ok, reason := policy.Eligibility(a, p, lastSSO[a.ID], now)
			person := Person{Account: a, Reason: reason, Passkeys: -1, EmergencyPasskeys: -1}
			if s.passkeys != nil {
				if t, e, err := s.passkeys(ctx, a.ID); err == nil {
					person.Passkeys, person.EmergencyPasskeys = t, e
				} else {
					s.log.WarnContext(ctx, "cannot count passkeys", "account_id", a.ID, "err", err)
					r.WithEmergencyPasskey = -1
				}
			}
			if !ok {
				r.Ineligible = append(r.Ineligible, person)
				continue
			}
			r.Eligible = append(r.Eligible, person)
			if r.WithEmergencyPasskey >= 0 && person.EmergencyPasskeys > 0 {
				r.WithEmergencyPasskey++
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ReasonText explains an ineligibility reason to admins.
func ReasonText(reason string) string {
	switch reason {
	case policy.IneligibleSuspended:
		return "Suspended"
	case policy.IneligibleFailbackDenied:
		return "Their policy never fails back"
	case policy.IneligibleNoRecentSSO:
		return "No SSO sign-in within the policy's window"
	case policy.IneligibleNotSSO:
		return "Their policy does not enforce SSO (nothing to fail back from)"
	case "":
		return ""
	}
	return strings.ReplaceAll(reason, "_", " ")
}

// Exposed is an account that would gain a way in without SSO if its
// policy stopped enforcing SSO.
type Exposed struct {
	Account     storage.Account
	HasPassword bool // it has a password that would start working at once; otherwise it could set one by mail
}

// WouldGainPassword lists the accounts under policyID of orgID that would
// gain a password way in if the policy stopped enforcing SSO: the active
// ones (each can set a password through the reset mail), marking those
// that already have one. Empty when the policy does not enforce SSO now.
func (s *Service) WouldGainPassword(ctx context.Context, orgID, policyID string) ([]Exposed, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	pols, members, err := membersByPolicy(ctx, s.store, orgID)
	if err != nil {
		return nil, err
	}
	for _, p := range pols {
		if p.ID != policyID {
			continue
		}
		if p.SSO != storage.SSOEnforced {
			return nil, nil
		}
		var out []Exposed
		for _, a := range members[p.ID] {
			if a.Status != storage.StatusActive {
				continue
			}
			out = append(out, Exposed{Account: a, HasPassword: a.PasswordHash != ""})
		}
		return out, nil
	}
	return nil, ErrUnknownPolicy
}
