package account

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Changes that decide how an owner signs in are an owner's to make. An
// admin who could point an owner's policy at a connection, or change the
// trust of the connection an owner signs in through, could send that
// owner's sign-in to an IdP the admin controls and sign in as the owner —
// a way round the rule that only owners change owners. These guards let
// the policy and IdP services refuse such changes from a signed-in admin
// who is not an owner; the CLI on the server and API tokens keep the
// organization's full authority (see actorIsOwner).

// RequireOwnerForPolicy refuses, unless the actor may act on owners, a
// change that lets the accounts under policyID sign in through SSO when an
// active owner is among them.
func RequireOwnerForPolicy(ctx context.Context, tx storage.Store, orgID, policyID string) error {
	owners, err := ownerPolicies(ctx, tx, orgID)
	if err != nil {
		return err
	}
	for _, p := range owners {
		if p.ID == policyID {
			return actorIsOwner(ctx, tx, orgID)
		}
	}
	return nil
}

// RequireOwnerForConnection refuses, unless the actor may act on owners, a
// change to the trust of connectionID (where it fetches metadata, which
// certificates and settings it accepts) while an active owner signs in
// through it.
func RequireOwnerForConnection(ctx context.Context, tx storage.Store, orgID, connectionID string) error {
	owners, err := ownerPolicies(ctx, tx, orgID)
	if err != nil {
		return err
	}
	for _, p := range owners {
		if p.ConnectionID == connectionID && p.SSO != storage.SSOOff {
			return actorIsOwner(ctx, tx, orgID)
		}
	}
	return nil
}

// RequireOwnerForMember refuses, unless the actor may act on owners, moving
// an owner between policies.
func RequireOwnerForMember(ctx context.Context, tx storage.Store, a storage.Account) error {
	if a.Role != storage.RoleOwner {
		return nil
	}
	return actorIsOwner(ctx, tx, a.OrgID)
}

// ownerPolicies returns the policy of every active owner of orgID.
func ownerPolicies(ctx context.Context, tx storage.Store, orgID string) ([]storage.Policy, error) {
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("account: list owners: %w", err)
	}
	var out []storage.Policy
	for _, a := range accts {
		if a.Role != storage.RoleOwner || a.Status != storage.StatusActive {
			continue
		}
		p, err := tx.PolicyFor(ctx, orgID, a.ID)
		if err != nil {
			continue // no default policy yet: nothing routes owners to SSO
		}
		out = append(out, p)
	}
	return out, nil
}
