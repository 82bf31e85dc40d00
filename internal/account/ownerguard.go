package account

import (
	"context"
	"errors"
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
	return requireOwnerIfAnOwnerUses(ctx, tx, orgID, func(p storage.Policy) bool {
		return p.ID == policyID
	})
}

// RequireOwnerForConnection refuses, unless the actor may act on owners, a
// change to the trust of connectionID (where it fetches metadata, which
// certificates and settings it accepts) while an active owner signs in
// through it.
func RequireOwnerForConnection(ctx context.Context, tx storage.Store, orgID, connectionID string) error {
	return requireOwnerIfAnOwnerUses(ctx, tx, orgID, func(p storage.Policy) bool {
		return p.ConnectionID == connectionID && p.SSO != storage.SSOOff
	})
}

// RequireOwnerForMember refuses, unless the actor may act on owners, moving
// an owner between policies.
func RequireOwnerForMember(ctx context.Context, tx storage.Store, a storage.Account) error {
	if a.Role != storage.RoleOwner {
		return nil
	}
	return actorIsOwner(ctx, tx, a.OrgID)
}

// requireOwnerIfAnOwnerUses returns ErrOwnerOnly when the actor may not act
// on owners and the policy of some active owner of orgID matches. The actor
// is asked first: one read settles it for owners, the CLI and API tokens,
// so only a non-owner admin's change pays for reading every owner's policy.
func requireOwnerIfAnOwnerUses(ctx context.Context, tx storage.Store, orgID string, match func(storage.Policy) bool) error {
	actorErr := actorIsOwner(ctx, tx, orgID)
	if actorErr == nil || !errors.Is(actorErr, ErrOwnerOnly) {
		return actorErr
	}
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("account: list owners: %w", err)
	}
	for _, a := range accts {
		if a.Role != storage.RoleOwner || a.Status != storage.StatusActive {
			continue
		}
		p, err := tx.PolicyFor(ctx, orgID, a.ID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // no default policy yet: nothing routes owners to SSO
		}
		if err != nil {
			// Failing to read an owner's policy must not wave the change through.
			return fmt.Errorf("account: read an owner's policy: %w", err)
		}
		if match(p) {
			return actorErr
		}
	}
	return nil
}
