package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Route decides how the person who typed email signs in. It returns an
// *account.InvalidInputError for something that is not an email address;
// otherwise only lookup failures are errors. The Decision for an unknown
// email equals that of a password account in the same situation.
func (s *Service) Route(ctx context.Context, email string) (Decision, error) {
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return Decision{}, err
	}
	in := Input{}
	acct, err := s.store.GetAccountByEmail(ctx, norm)
	switch {
	case err == nil:
		in.Account = &acct
	case !errors.Is(err, storage.ErrNotFound):
		return Decision{}, fmt.Errorf("policy: route: look up account: %w", err)
	}
	_, domain, _ := strings.Cut(norm, "@")
	d, err := s.store.GetVerifiedDomain(ctx, domain)
	switch {
	case err == nil:
		in.ManagedByOrg = d.OrgID
	case !errors.Is(err, storage.ErrNotFound):
		return Decision{}, fmt.Errorf("policy: route: look up domain: %w", err)
	}
	if in.ManagedByOrg == "" || (in.Account != nil && in.Account.OrgID != in.ManagedByOrg) {
		return Decide(in), nil // unmanaged: no policy applies
	}

	var p storage.Policy
	if in.Account != nil {
		p, err = s.store.PolicyFor(ctx, in.Account.OrgID, in.Account.ID)
		if errors.Is(err, storage.ErrNotFound) {
			err = nil // no default yet: Decide answers password
		} else if err == nil {
			in.Policy = &p
		}
	} else {
		// An unknown email in a managed domain falls under the default
		// policy, so JIT provisioning works when SSO is enforced.
		p, err = s.defaultPolicy(ctx, s.store, in.ManagedByOrg)
		if errors.Is(err, account.ErrNotFound) {
			err = nil
		} else if err == nil {
			in.Policy = &p
		}
	}
	if err != nil {
		return Decision{}, fmt.Errorf("policy: route: policy: %w", err)
	}
	if in.Policy != nil && in.Policy.SSO != storage.SSOOff && in.Policy.ConnectionID != "" {
		c, err := s.store.GetIdPConnection(ctx, in.Policy.ConnectionID)
		switch {
		case err == nil:
			in.Connection = &c
		case !errors.Is(err, storage.ErrNotFound):
			return Decision{}, fmt.Errorf("policy: route: IdP connection: %w", err)
		}
	}
	d2 := Decide(in)
	if d2.Reason == ReasonConnectionMissing {
		// Never a dead end, but an admin should hear about it.
		s.log.WarnContext(ctx, "SSO policy names a missing IdP connection; offering the password form",
			"org_id", in.ManagedByOrg, "policy", in.Policy.Name)
	}
	return d2, nil
}
