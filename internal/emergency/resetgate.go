package emergency

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ReasonUnknownAccount is the refusal reason for a reset requested during an
// emergency for an address in a verified domain that names no account: no
// account is ever created by a reset.
const ReasonUnknownAccount = "unknown_account"

// ResetGate implements account.ResetGateFunc: whether a password reset mail
// may be sent for email (acct is its account, nil when none exists). During
// an emergency covering the account's policy, which enforces SSO, only an
// account eligible to fail back gets the mail — the reset is how people set
// an emergency password, also when they never had one. An ineligible
// account, or an unknown address in a domain an organization with an
// emergency in force verified, is refused with orgID and the reason, for
// that organization's audit log; the person sees the same page either way.
// Outside an emergency the answer is always allow (today's behaviour).
func (s *Service) ResetGate(ctx context.Context, email string, acct *storage.Account) (allow bool, orgID, reason string, err error) {
	now := s.now()
	managing, err := policy.ManagingOrg(ctx, s.store, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return false, "", "", fmt.Errorf("emergency: reset gate: %w", err)
	}
	if acct == nil {
		if managing == "" {
			return true, "", "", nil
		}
		_, active, err := s.inForce(ctx, s.store, managing, "", now)
		if err != nil || !active {
			return err == nil, "", "", err
		}
		return false, managing, ReasonUnknownAccount, nil
	}
	// An address its organization does not manage is never routed to SSO:
	// an emergency changes nothing about its password.
	if managing != acct.OrgID {
		return true, "", "", nil
	}
	pol, err := s.store.PolicyFor(ctx, acct.OrgID, acct.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, "", "", nil
	}
	if err != nil {
		return false, "", "", fmt.Errorf("emergency: reset gate: policy: %w", err)
	}
	if pol.SSO != storage.SSOEnforced {
		return true, "", "", nil
	}
	_, active, err := s.inForce(ctx, s.store, acct.OrgID, pol.ID, now)
	if err != nil || !active {
		return err == nil, "", "", err
	}
	last, err := policy.LastSSO(ctx, s.store, acct.ID)
	if err != nil {
		return false, "", "", err
	}
	if ok, why := policy.Eligibility(*acct, pol, last, now); !ok {
		return false, acct.OrgID, why, nil
	}
	return true, acct.OrgID, "", nil
}
