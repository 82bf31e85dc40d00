package mfa

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// List returns the account's passkeys, oldest first.
func (p *Passkeys) List(ctx context.Context, accountID string) ([]storage.Passkey, error) {
	pks, err := p.store.ListPasskeys(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list passkeys: %w", err)
	}
	return pks, nil
}

// Count returns how many passkeys the account has, and how many of them
// are emergency credentials.
func (p *Passkeys) Count(ctx context.Context, accountID string) (total, emergency int, err error) {
	pks, err := p.List(ctx, accountID)
	if err != nil {
		return 0, 0, err
	}
	for _, pk := range pks {
		if pk.Emergency {
			emergency++
		}
	}
	return len(pks), emergency, nil
}

// Rename gives acct's passkey id a new name; acct must be the acting
// account. Audited as mfa.passkey_renamed.
func (p *Passkeys) Rename(ctx context.Context, acct storage.Account, id, name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	return p.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireSelf(ctx, tx, acct); err != nil {
			return err
		}
		pk, err := p.ownPasskey(ctx, tx, acct, id)
		if err != nil {
			return err
		}
		old := pk.Name
		pk, err = tx.UpdatePasskey(ctx, pk.ID, func(cur *storage.Passkey) error { cur.Name = name; return nil })
		if err != nil {
			return fmt.Errorf("mfa: rename passkey: %w", err)
		}
		e := passkeyEvent(ActionPasskeyRenamed, p.now(), acct, pk)
		e.Details["old_name"] = old
		return auditTx(ctx, tx, e)
	})
}

// Remove deletes acct's passkey id; acct must be the acting account.
// Audited as mfa.passkey_removed.
func (p *Passkeys) Remove(ctx context.Context, acct storage.Account, id string) error {
	return p.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireSelf(ctx, tx, acct); err != nil {
			return err
		}
		pk, err := p.ownPasskey(ctx, tx, acct, id)
		if err != nil {
			return err
		}
		if err := tx.DeletePasskey(ctx, acct.ID, pk.ID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return ErrPasskeyNotFound
			}
			return fmt.Errorf("mfa: remove passkey: %w", err)
		}
		if err := keepBreakGlass(ctx, tx, acct, p.secondFactor); err != nil {
			return err
		}
		return auditTx(ctx, tx, passkeyEvent(ActionPasskeyRemoved, p.now(), acct, pk))
	})
}

// ownPasskey reads passkey id if it is acct's; another account's is
// ErrPasskeyNotFound, like one that does not exist.
func (p *Passkeys) ownPasskey(ctx context.Context, tx storage.Store, acct storage.Account, id string) (storage.Passkey, error) {
	pk, err := tx.GetPasskey(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && pk.AccountID != acct.ID) {
		return storage.Passkey{}, ErrPasskeyNotFound
	}
	if err != nil {
		return storage.Passkey{}, fmt.Errorf("mfa: read passkey: %w", err)
	}
	return pk, nil
}
