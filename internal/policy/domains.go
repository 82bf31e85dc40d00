package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// A policy covers people in this order, the first that applies winning:
//
//  1. explicit member — the account was put under the policy by name;
//  2. IdP group — one of its groups (synced at SSO sign-in) is named by
//     the policy (the first such policy by name);
//  3. email domain — its email's domain is named by the policy (a domain
//     the organization verified; at most one policy names it);
//  4. default — everyone else.
//
// storage.PolicyFor resolves it in one statement, lockout.Config.PolicyOf
// restates it in memory, and the coverage counts and pages below count
// with the same statement.

// AddDomain makes the policy nameOrID cover the organization's accounts
// whose email is at domain, which the organization must have verified and
// no other policy may name. It is refused with a *lockout.Error when that
// leaves no owner able to sign in without the IdP, or takes away the last
// break-glass owner of an organization that enforces SSO, unless force
// (at most one) carries a reason. Moving owners (an owner's email is at
// the domain) is an owner's call.
func (s *Service) AddDomain(ctx context.Context, orgID, nameOrID, domainName string, force ...lockout.Force) error {
	return s.changeDomain(ctx, orgID, nameOrID, domainName, true, force)
}

// RemoveDomain stops the policy nameOrID covering the accounts at domain;
// they fall to the default (unless a membership or group places them).
// The lockout check applies as for AddDomain.
func (s *Service) RemoveDomain(ctx context.Context, orgID, nameOrID, domainName string, force ...lockout.Force) error {
	return s.changeDomain(ctx, orgID, nameOrID, domainName, false, force)
}

func (s *Service) changeDomain(ctx context.Context, orgID, nameOrID, domainName string, add bool, force []lockout.Force) error {
	f, err := oneForce(force)
	if err != nil {
		return err
	}
	name, err := domain.Normalize(domainName)
	if err != nil {
		var ie *domain.InvalidInputError
		if errors.As(err, &ie) {
			return invalid("domain", ie.Message)
		}
		return invalid("domain", "Enter a domain name, like corp.example.")
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		p, err := s.find(ctx, tx, orgID, nameOrID)
		if err != nil {
			return err
		}
		if p.IsDefault {
			return invalid("domain", "The default policy covers every account no other policy names; give the domain to a named policy.")
		}
		named, err := tx.ListDomainPolicies(ctx, orgID)
		if err != nil {
			return fmt.Errorf("policy: list policy domains: %w", err)
		}
		holder := ""
		for id, ds := range named {
			if slices.Contains(ds, name) {
				holder = id
			}
		}
		if add {
			if err := s.requireVerified(ctx, tx, orgID, name); err != nil {
				return err
			}
			switch {
			case holder == p.ID:
				return nil // already so: no change, nothing to audit
			case holder != "":
				other, err := tx.GetPolicy(ctx, orgID, holder)
				if err != nil {
					return fmt.Errorf("policy: read policy naming %q: %w", name, err)
				}
				return invalid("domain", fmt.Sprintf("The policy %q covers %s already; remove it there first.", other.Name, name))
			}
		} else if holder != p.ID {
			return invalid("domain", fmt.Sprintf("The policy %q does not cover the domain %s.", p.Name, name))
		}
		if err := requireOwnerForDomain(ctx, tx, orgID, name); err != nil {
			return err
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			if c.PolicyDomains == nil {
				c.PolicyDomains = map[string][]string{}
			}
			ds := slices.DeleteFunc(slices.Clone(c.PolicyDomains[p.ID]), func(d string) bool { return d == name })
			if add {
				ds = append(ds, name)
			}
			c.PolicyDomains[p.ID] = ds
		}, f, s.secondFactor)
		if err != nil {
			return err
		}
		action := "policy.domain_remove"
		if add {
			action = "policy.domain_add"
			err = tx.AddPolicyDomain(ctx, orgID, p.ID, name)
		} else {
			err = tx.RemovePolicyDomain(ctx, orgID, p.ID, name)
		}
		if err != nil {
			return mapErr(err, "domain "+quote(name))
		}
		details := map[string]string{"name": p.Name, "domain": name}
		res.Annotate(details)
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: action, TargetType: "policy", TargetID: p.ID, Details: details,
		})
	})
}

// requireVerified refuses a domain the organization has not verified:
// only a verified domain routes sign-ins, so naming another one would
// promise coverage that never applies.
func (s *Service) requireVerified(ctx context.Context, tx storage.Store, orgID, name string) error {
	ds, err := tx.ListDomains(ctx, orgID)
	if err != nil {
		return fmt.Errorf("policy: list domains: %w", err)
	}
	for _, d := range ds {
		if d.Name == name && !d.VerifiedAt.IsZero() {
			return nil
		}
	}
	return invalid("domain", fmt.Sprintf("The domain %s is not one this organization has verified. Add and verify it on the Domains page first.", name))
}

// requireOwnerForDomain makes a change that moves an active owner (whose
// email is at the domain) an owner's call, as for groups.
func requireOwnerForDomain(ctx context.Context, tx storage.Store, orgID, name string) error {
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("policy: list accounts: %w", err)
	}
	for _, a := range accts {
		if a.Role == storage.RoleOwner && a.Status == storage.StatusActive && strings.HasSuffix(a.Email, "@"+name) {
			_, err := authz.RequireOwner(ctx, tx, orgID)
			return err
		}
	}
	return nil
}

// Domains returns the domains the policy names, sorted.
func (s *Service) Domains(ctx context.Context, orgID, nameOrID string) ([]string, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	p, err := s.find(ctx, s.store, orgID, nameOrID)
	if err != nil {
		return nil, err
	}
	named, err := s.store.ListDomainPolicies(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("policy: list policy domains: %w", err)
	}
	return named[p.ID], nil
}
