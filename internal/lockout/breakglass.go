package lockout

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// SecondFactorFunc reports whether the account has a second factor
// enrolled (an authenticator app or a passkey). The MFA services sit above
// this package, so each service that runs Check is handed one by the
// composition root (their SetSecondFactor) and passes it to Check. A nil
// lookup proves nobody: Check then fails closed.
type SecondFactorFunc func(ctx context.Context, accountID string) (bool, error)

// ReasonNoBreakGlass is what a forced change without a proven break-glass
// owner is annotated with on its audit event.
const ReasonNoBreakGlass = "no_break_glass_owner"

// IsBreakGlass reports whether a is a break-glass admin under c: an active
// owner or admin whose policy keeps SSO off and requires a second factor.
// It restates policy.IsBreakGlass (policy imports this package); a test in
// internal/breakglass cross-checks the two.
func (c *Config) IsBreakGlass(a storage.Account) bool {
	p := c.PolicyOf(a.ID)
	return p != nil && a.Role.IsAdmin() && a.Status == storage.StatusActive &&
		p.SSO == storage.SSOOff && storage.WithPolicyDefaults(*p).MFA == storage.MFARequired
}

// enforcedCover returns the accounts of c whose sign-in goes to the IdP
// only (Route says sso_enforced) and the IDs of the policies that enforce
// SSO through a connection of the organization.
func enforcedCover(c *Config) (accounts, policies map[string]bool) {
	accounts, policies = map[string]bool{}, map[string]bool{}
	for _, a := range c.Accounts {
		if ok, reason := c.Route(a); !ok && reason == ReasonSSOEnforced {
			accounts[a.ID] = true
		}
	}
	for _, p := range c.Policies {
		if p.SSO == storage.SSOEnforced && p.OrgID == c.OrgID && p.ConnectionID != "" &&
			slices.ContainsFunc(c.Connections, func(x storage.IdPConnection) bool { return x.ID == p.ConnectionID }) {
			policies[p.ID] = true
		}
	}
	return accounts, policies
}

// Enforces reports whether going from before to after enforces SSO on
// someone or some policy: a policy starts to enforce SSO (created that way,
// switched to enforced, or its connection set), or an account comes under
// an enforced policy (moved into one, its domain verified). Only such
// changes need a break-glass owner; the others are judged by the owner
// rule alone.
func Enforces(before, after *Config) bool {
	ba, bp := enforcedCover(before)
	aa, ap := enforcedCover(after)
	for id := range ap {
		if !bp[id] {
			return true
		}
	}
	for id := range aa {
		if !ba[id] {
			return true
		}
	}
	return false
}

// breakGlassOwners returns the owners of c who are break-glass admins and
// can use it: active, with a password (the second factor comes after it).
func breakGlassOwners(c *Config) []storage.Account {
	var out []storage.Account
	for _, a := range c.Accounts {
		if a.Role == storage.RoleOwner && a.PasswordHash != "" && c.IsBreakGlass(a) {
			out = append(out, a)
		}
	}
	return out
}

// hasProvenBreakGlassOwner reports whether c has a break-glass owner whose
// second factor the lookup confirms. A break-glass owner is never covered
// by an enforced policy (their own policy has SSO off), so "outside the
// policy being enforced" holds by construction. No lookup: false.
func hasProvenBreakGlassOwner(ctx context.Context, c *Config, lookup SecondFactorFunc) (bool, error) {
	if lookup == nil {
		return false, nil
	}
	for _, a := range breakGlassOwners(c) {
		ok, err := lookup(ctx, a.ID)
		if err != nil {
			return false, fmt.Errorf("lockout: second factor of %s: %w", a.Email, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// EnforcesSSO reports whether some policy of the organization enforces
// SSO through one of its connections: then it must keep a break-glass
// owner with a second factor.
func (c *Config) EnforcesSSO() bool {
	_, policies := enforcedCover(c)
	return len(policies) > 0
}

// checkBreakGlass is the break-glass half of Check. A change that enforces
// SSO needs, afterwards, a break-glass owner with a second factor. So does
// any change in an organization that enforces SSO afterwards, when it had
// one before: such a change takes away the last one (suspends, demotes or
// removes the owner, moves them out of the break-glass policy, makes its
// MFA optional or its SSO not off). An organization that already had none
// (a forced change) is not held to it by changes that take nothing more,
// so repairs stay possible.
func checkBreakGlass(ctx context.Context, before, after *Config, force Force, lookup SecondFactorFunc) (forced bool, err error) {
	enforces := Enforces(before, after)
	if !enforces && !after.EnforcesSSO() {
		return false, nil
	}
	ok, err := hasProvenBreakGlassOwner(ctx, after, lookup)
	if err != nil || ok {
		return false, err
	}
	last := false
	if !enforces {
		had, err := hasProvenBreakGlassOwner(ctx, before, lookup)
		if err != nil || !had {
			return false, err
		}
		last = true
	}
	if force.Reason != "" {
		return true, nil
	}
	return false, &Error{NoBreakGlass: true, LastBreakGlass: last}
}

const lastBreakGlassWords = "This organization enforces SSO, so it must keep a break-glass owner who stays outside it: an owner under a policy with SSO off and MFA required, with a password and an authenticator app or passkey enrolled, so the organization can still get in when the IdP fails. This change takes away the last one. Make another owner a break-glass owner first (and have them enrol an authenticator app or passkey), then try again, or give a reason to force the change."

const noBreakGlassWords = "Enforcing SSO needs a break-glass owner who stays outside it: an owner under a policy with SSO off and MFA required, with a password and an authenticator app or passkey enrolled, so the organization can still get in when the IdP fails. Add an owner to a break-glass policy (SSO off, MFA required) and have them enrol an authenticator app or passkey, then try again, or give a reason to force the change."

// ErrLastBreakGlassFactor refuses removing one's own last second factor
// (an authenticator app or passkey) while being the last break-glass
// owner with one of an organization that enforces SSO. There is no force:
// the person makes sure another break-glass owner exists first.
var ErrLastBreakGlassFactor error = errs.New(errs.PreconditionFailed, "last_break_glass_factor",
	"This organization enforces SSO, and you are its only break-glass owner with an authenticator app or passkey: without it, nobody could get in when the IdP fails. "+
		"First make sure another owner is a break-glass owner (under a policy with SSO off and MFA required) with an authenticator app or passkey enrolled, "+
		"or add another authenticator app or passkey of your own; then remove this one.")

// CheckFactorRemoval runs in the transaction tx that removes accountID's
// last second factor, after the removal (the caller has checked that none
// is left). It returns ErrLastBreakGlassFactor when orgID enforces SSO,
// accountID is one of its break-glass owners, and secondFactor proves no
// other. secondFactor is asked about the others only, so it may read
// committed state outside tx; the owner rows are locked first, so two
// owners removing their factors at once cannot both pass. A nil lookup
// proves nobody else (fail closed).
func CheckFactorRemoval(ctx context.Context, tx storage.Store, orgID, accountID string, secondFactor SecondFactorFunc) error {
	if err := lockOwners(ctx, tx, orgID); err != nil {
		return err
	}
	c, err := Load(ctx, tx, orgID)
	if err != nil {
		return err
	}
	if !c.EnforcesSSO() || !slices.ContainsFunc(breakGlassOwners(&c), func(a storage.Account) bool { return a.ID == accountID }) {
		return nil
	}
	if secondFactor != nil {
		for _, a := range breakGlassOwners(&c) {
			if a.ID == accountID {
				continue
			}
			ok, err := secondFactor(ctx, a.ID)
			if err != nil {
				return fmt.Errorf("lockout: second factor of %s: %w", a.Email, err)
			}
			if ok {
				return nil
			}
		}
	}
	return ErrLastBreakGlassFactor
}
