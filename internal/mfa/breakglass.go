package mfa

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// keepBreakGlass runs in tx after one of acct's second factors was
// deleted there: when none is left, lockout.CheckFactorRemoval refuses
// (lockout.ErrLastBreakGlassFactor) if acct was the last break-glass
// owner with one of an organization that enforces SSO, and the caller's
// transaction rolls the removal back. What is left is read through tx,
// which sees the deletion; others asks about the other owners.
func keepBreakGlass(ctx context.Context, tx storage.Store, acct storage.Account, others lockout.SecondFactorFunc) error {
	f, err := tx.GetTOTPFactor(ctx, acct.ID)
	switch {
	case err == nil && f.Secret != "":
		return nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("mfa: read authenticator app: %w", err)
	}
	pks, err := tx.ListPasskeys(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("mfa: list passkeys: %w", err)
	}
	if len(pks) > 0 {
		return nil
	}
	return lockout.CheckFactorRemoval(ctx, tx, acct.OrgID, acct.ID, others)
}
