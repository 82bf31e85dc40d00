package members

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Bulk actions.
const (
	ActionSuspend    = "suspend"
	ActionReactivate = "reactivate"
	ActionSignOut    = "sign_out"
	ActionPolicy     = "policy" // move to the policy BulkRequest.Policy names
)

// MaxBulk bounds a selection: one page of the members list at most.
const MaxBulk = 500

// BulkRequest is an action on a selection of members.
type BulkRequest struct {
	Action string
	IDs    []string
	// Policy is the policy ActionPolicy moves people to: a name or ID, or
	// "" for the default policy.
	Policy string
}

// Outcome is what happened (or would happen) to one member.
type Outcome struct {
	Account storage.Account
	// Err is the refusal, nil when the change was made. A refusal by the
	// no-lockout check is a *lockout.Error.
	Err error
	// Unchanged: the member already was as asked (nothing written).
	Unchanged bool
}

// Selection resolves the request's IDs to orgID's accounts, in email
// order, for the confirmation page: IDs of other organizations or of
// nobody are left out, as is a repeated ID. Only admins may ask.
func (s *Service) Selection(ctx context.Context, orgID string, req BulkRequest) ([]storage.Account, error) {
	if err := checkAction(req); err != nil {
		return nil, err
	}
	if _, err := authz.RequireAdmin(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	var out []storage.Account
	seen := map[string]bool{}
	for _, id := range req.IDs {
		// The IDs come from the browser's form. GetMember also takes an
		// email address, which a selection never holds: such a value is
		// not an ID and names nobody here.
		if seen[id] || strings.Contains(id, "@") {
			continue
		}
		seen[id] = true
		a, err := s.accounts.GetMember(ctx, orgID, id)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound || errs.KindOf(err) == errs.Invalid {
				continue
			}
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errs.NewInvalid("ids", "Select at least one member.")
	}
	slices.SortFunc(out, func(a, b storage.Account) int {
		switch {
		case a.Email < b.Email:
			return -1
		case a.Email > b.Email:
			return 1
		}
		return 0
	})
	return out, nil
}

func checkAction(req BulkRequest) error {
	switch req.Action {
	case ActionSuspend, ActionReactivate, ActionSignOut, ActionPolicy:
	default:
		return errs.NewInvalid("action", "Choose suspend, reactivate, sign out everywhere or move to a policy.")
	}
	if len(req.IDs) == 0 {
		return errs.NewInvalid("ids", "Select at least one member.")
	}
	if len(req.IDs) > MaxBulk {
		return errs.NewInvalid("ids", fmt.Sprintf("Select at most %d members at a time.", MaxBulk))
	}
	return nil
}

// Apply makes the change to each selected member in its own transaction
// with its own audit event, exactly as the one-member action does (so the
// no-lockout check, the last-owner rule and owner-only changes apply to
// each). A refusal stops nobody else: the outcomes say who was changed and
// who was not, and why.
func (s *Service) Apply(ctx context.Context, orgID string, req BulkRequest) ([]Outcome, error) {
	sel, err := s.Selection(ctx, orgID, req)
	if err != nil {
		return nil, err
	}
	if req.Action == ActionPolicy {
		if s.policies == nil {
			return nil, errs.NewInvalid("action", "Policies are not available here.")
		}
		// A policy that does not exist is one answer for all.
		if req.Policy != "" {
			if _, err := s.policies.Get(ctx, orgID, req.Policy); err != nil {
				return nil, err
			}
		}
	}
	out := make([]Outcome, 0, len(sel))
	for _, a := range sel {
		o := Outcome{Account: a}
		switch req.Action {
		case ActionSuspend, ActionReactivate:
			st := storage.StatusSuspended
			if req.Action == ActionReactivate {
				st = storage.StatusActive
			}
			o.Unchanged = a.Status == st
			_, o.Err = s.accounts.SetStatus(ctx, orgID, a.ID, st)
		case ActionSignOut:
			_, o.Err = s.accounts.RevokeSessions(ctx, orgID, a.ID)
		case ActionPolicy:
			o.Err = s.policies.SetMember(ctx, orgID, a.Email, req.Policy)
		}
		if o.Err != nil {
			o.Unchanged = false
			if !refusal(o.Err) {
				return out, fmt.Errorf("members: %s %s: %w", req.Action, a.ID, o.Err)
			}
			s.log.InfoContext(ctx, "bulk change refused for one member", "action", req.Action, "account_id", a.ID, "err", o.Err)
		}
		out = append(out, o)
	}
	return out, nil
}

// refusal reports whether err is an answer about this member (shown on
// the results page: the no-lockout check, the last owner, owner-only
// changes) rather than a failure of the system.
func refusal(err error) bool {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.NotFound, errs.Conflict, errs.Forbidden, errs.PreconditionFailed:
		return true
	}
	return false
}
