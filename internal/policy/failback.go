package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Reasons an account may not fail back during an emergency. They go to the
// organization's audit log and the console's emergency page, never to the
// person signing in (who sees the same page as everyone else).
const (
	IneligibleSuspended      = "suspended"        // the account is suspended
	IneligibleFailbackDenied = "failback_denied"  // the account's policy never fails back
	IneligibleNoRecentSSO    = "no_recent_sso"    // created by the IdP, no SSO sign-in within the window
	IneligibleNotSSO         = "sso_not_enforced" // the policy does not enforce SSO: nothing to fail back from
)

// Eligibility says whether acct, under policy p, may sign in another way
// than SSO during an emergency, and if not why. An IdP that is down cannot
// say who has left the organization, so only an active account that either
// an admin created (an admin vouched for it) or that signed in through SSO
// within the policy's window (the IdP vouched for it recently) may fail
// back. lastSSO is the account's latest SSO sign-in (zero if never).
func Eligibility(acct storage.Account, p storage.Policy, lastSSO, now time.Time) (ok bool, reason string) {
	p = storage.WithPolicyDefaults(p)
	switch {
	case acct.Status != storage.StatusActive:
		return false, IneligibleSuspended
	case p.Failback != storage.FailbackAllowed:
		return false, IneligibleFailbackDenied
	case p.SSO != storage.SSOEnforced:
		return false, IneligibleNotSSO
	case acct.Origin != storage.OriginJIT && acct.Origin != "":
		return true, ""
	}
	window := time.Duration(p.FailbackWindowDays) * 24 * time.Hour
	if lastSSO.IsZero() || now.Sub(lastSSO) > window {
		return false, IneligibleNoRecentSSO
	}
	return true, ""
}

// ManagingOrg is the organization that verified the domain of the
// (normalised) email, "" if none did: the only organization whose SSO
// policy may route the address. Anyone can look the answer up in DNS.
func ManagingOrg(ctx context.Context, st storage.Domains, email string) (string, error) {
	_, domain, _ := strings.Cut(email, "@")
	d, err := st.GetVerifiedDomain(ctx, domain)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("policy: look up domain: %w", err)
	}
	return d.OrgID, nil
}

// LastSSO is the account's latest SSO sign-in at any connection (zero if it
// never signed in through SSO): what Eligibility's window is measured
// from.
func LastSSO(ctx context.Context, st storage.SSOLinks, accountID string) (time.Time, error) {
	links, err := st.ListAccountSSOLinks(ctx, accountID)
	if err != nil {
		return time.Time{}, fmt.Errorf("policy: SSO links: %w", err)
	}
	var last time.Time
	for _, l := range links {
		if l.LastLoginAt.After(last) {
			last = l.LastLoginAt
		}
	}
	return last, nil
}

// IsBreakGlass reports whether acct is a break-glass admin under p: an
// active owner or admin whose policy keeps SSO off and requires a second
// factor, so an IdP outage never locks them out and a stolen password
// alone never lets anyone in.
func IsBreakGlass(acct storage.Account, p storage.Policy) bool {
	return acct.Role.IsAdmin() && acct.Status == storage.StatusActive &&
		p.SSO == storage.SSOOff && storage.WithPolicyDefaults(p).MFA == storage.MFARequired
}

// ActiveEmergency is an emergency (failback mode) in force for a policy.
type ActiveEmergency struct {
	ID     string
	Reason string
	Until  time.Time // when it ends unless extended or ended earlier
}

// Emergencies answers whether failback mode is in force. It is implemented
// by the emergency service (internal/emergency), which sits above this
// package; Route consults it for every sign-in.
type Emergencies interface {
	// ActiveFor returns the emergency in force at now for policyID of
	// orgID (an organization-wide one, or one scoped to that policy), and
	// false when there is none.
	ActiveFor(ctx context.Context, orgID, policyID string, now time.Time) (ActiveEmergency, bool, error)
	// ActiveInOrg reports whether any emergency of orgID is in force at
	// now, whatever its scope: the sign-in page of the organization's
	// domains then offers the failback ways to everyone, so the page says
	// nothing about whose policy it covers.
	ActiveInOrg(ctx context.Context, orgID string, now time.Time) (bool, error)
}

// SetEmergencies installs the emergency state Route consults. Without it no
// emergency is ever in force (ordinary routing).
func (s *Service) SetEmergencies(e Emergencies) { s.emergencies = e }
