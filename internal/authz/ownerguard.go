package authz

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
// the policy and IdP services refuse such changes from anyone who is not
// an owner: an admin, an admin-scoped token. The CLI on the server and the
// system act as owners; an empty actor is refused.

// RequireOwnerForPolicy refuses, unless the actor may act on owners, a
// change that lets the accounts under policyID sign in through SSO when an
// active owner is among them.
func RequireOwnerForPolicy(ctx context.Context, tx Store, orgID, policyID string) error {
	return requireOwnerIfAnOwnerUses(ctx, tx, orgID, func(p storage.Policy) bool {
		return p.ID == policyID
	})
}

// RequireOwnerForConnection refuses, unless the actor may act on owners, a
// change to the trust of connectionID (where it fetches metadata, which
// certificates and settings it accepts) while an active owner signs in
// through it.
func RequireOwnerForConnection(ctx context.Context, tx Store, orgID, connectionID string) error {
	return requireOwnerIfAnOwnerUses(ctx, tx, orgID, func(p storage.Policy) bool {
		return p.ConnectionID == connectionID && p.SSO != storage.SSOOff
	})
}

// RequireOwnerForMember refuses, unless the actor may act on owners, a
// change to account a when a is an owner (its role, status, sessions, the
// policy it signs in under).
func RequireOwnerForMember(ctx context.Context, tx Store, a storage.Account) error {
	if a.Role != storage.RoleOwner {
		return nil
	}
	_, err := RequireOwner(ctx, tx, a.OrgID)
	return err
}

// requireOwnerIfAnOwnerUses returns ErrOwnerOnly when the actor may not act
// on owners and the policy of some active owner of orgID matches. The actor
// is asked first: one read settles it for owners, the CLI and owner
// tokens, so only a non-owner's change pays for reading every owner's
// policy. An actor who may not act at all is refused whatever it touches.
func requireOwnerIfAnOwnerUses(ctx context.Context, tx Store, orgID string, match func(storage.Policy) bool) error {
	_, actorErr := RequireOwner(ctx, tx, orgID)
	if actorErr == nil || !errors.Is(actorErr, ErrOwnerOnly) {
		return actorErr
	}
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("authz: list owners: %w", err)
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
			return fmt.Errorf("authz: read an owner's policy: %w", err)
		}
		if match(p) {
			return actorErr
		}
	}
	return nil
}
