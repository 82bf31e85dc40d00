package account

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The owner guards live in internal/authz; these forward to them for
// callers that still import them from here.

// RequireOwnerForPolicy is authz.RequireOwnerForPolicy.
func RequireOwnerForPolicy(ctx context.Context, tx storage.Store, orgID, policyID string) error {
	return authz.RequireOwnerForPolicy(ctx, tx, orgID, policyID)
}

// RequireOwnerForConnection is authz.RequireOwnerForConnection.
func RequireOwnerForConnection(ctx context.Context, tx storage.Store, orgID, connectionID string) error {
	return authz.RequireOwnerForConnection(ctx, tx, orgID, connectionID)
}

// RequireOwnerForMember is authz.RequireOwnerForMember.
func RequireOwnerForMember(ctx context.Context, tx storage.Store, a storage.Account) error {
	return authz.RequireOwnerForMember(ctx, tx, a)
}
