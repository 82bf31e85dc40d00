// Package emergency runs emergency (failback) mode: an owner or admin
// declares, for a bounded time, that the organization's IdP cannot be
// relied on, and accounts whose policy enforces SSO and allows failback may
// then sign in another way (a pre-enrolled passkey, a password set through
// the reset mail). When it ends — by hand, at its deadline or when the
// incident that started it automatically is over — the passwords set during
// it stop working and, if the admin chooses, its sessions end at once.
//
// The sign-in decision lives in internal/policy and internal/signin; this
// package only answers whether an emergency is in force (policy.Emergencies),
// classifies passwords being set (account.PasswordOriginFunc) and gates
// reset mail during an emergency.
package emergency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Errors callers match with errors.Is. Their texts are safe to show.
var (
	// ErrNotFound: no such emergency in the organization.
	ErrNotFound error = errs.New(errs.NotFound, "emergency_not_found", "No such emergency.")
	// ErrActive: the organization already has an emergency in force; extend
	// or end it instead of starting another.
	ErrActive error = errs.New(errs.Conflict, "emergency_active", "An emergency is already in force. Extend it or end it instead.")
	// ErrNotActive: the emergency has ended; it can no longer be extended
	// or ended.
	ErrNotActive error = errs.New(errs.PreconditionFailed, "emergency_not_active", "This emergency has already ended.")
	// ErrReasonRequired: an emergency needs a reason for the audit log and
	// the admins' mail.
	ErrReasonRequired error = errs.NewInvalid("reason", "Say why you are starting emergency mode.")
	// ErrDuration: the duration is not positive or would take the
	// emergency past the configured maximum.
	ErrDuration error = errs.NewInvalid("for", "Choose a duration within the allowed maximum.")
	// ErrUnknownPolicy: a policy named in the scope does not exist.
	ErrUnknownPolicy error = errs.NewInvalid("policies", "One of the chosen policies does not exist.")
)

// maxReason bounds the reason's length (runes).
const maxReason = 500

// PasskeyCountsFunc says how many passkeys an account has, and how many of
// them are enrolled as emergency credentials (mfa.Passkeys.Count).
type PasskeyCountsFunc func(ctx context.Context, accountID string) (total, emergency int, err error)

// Service starts, extends and ends emergencies and answers whether one is
// in force.
type Service struct {
	store    storage.Store
	notifier *notify.Admins
	cfg      config.EmergencyConfig
	log      *slog.Logger
	now      func() time.Time
	passkeys PasskeyCountsFunc
	// forgetSessions drops ended sessions from this node's session cache
	// at once; other nodes drop them from the invalidation feed.
	forgetSessions func(ids ...string)
}

// SetSessionCache installs how this node's session cache forgets sessions
// an emergency's end revoked (session.Service.Forget), so they stop
// working here at once rather than at the next poll of the feed.
func (s *Service) SetSessionCache(forget func(ids ...string)) { s.forgetSessions = forget }

func (s *Service) forget(ids []string) {
	if s.forgetSessions != nil && len(ids) > 0 {
		s.forgetSessions(ids...)
	}
}

// NewService returns the emergency service. notifier may be nil (no mail);
// cfg is the validated `emergency:` section.
func NewService(store storage.Store, notifier *notify.Admins, cfg config.EmergencyConfig, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, notifier: notifier, cfg: cfg, log: log, now: now}
}

// SetPasskeyCounts installs how the readiness report counts passkeys;
// without it the counts are unknown.
func (s *Service) SetPasskeyCounts(fn PasskeyCountsFunc) { s.passkeys = fn }

// Config returns the emergency settings (for forms: default and maximum).
func (s *Service) Config() config.EmergencyConfig { return s.cfg }

// ActiveFor implements policy.Emergencies: the emergency of orgID in force
// at now that covers policyID. One indexed query.
func (s *Service) ActiveFor(ctx context.Context, orgID, policyID string, now time.Time) (policy.ActiveEmergency, bool, error) {
	if policyID == "" {
		return policy.ActiveEmergency{}, false, nil
	}
	return s.inForce(ctx, s.store, orgID, policyID, now)
}

// ActiveInOrg implements policy.Emergencies: whether any emergency of orgID
// is in force at now.
func (s *Service) ActiveInOrg(ctx context.Context, orgID string, now time.Time) (bool, error) {
	_, ok, err := s.inForce(ctx, s.store, orgID, "", now)
	return ok, err
}

// ActiveUntil implements policy.EmergencyDeadlines: when the emergency of
// orgID in force at now ends (zero when none is), for the sign-in page's
// "until …". At most one emergency of an organization is open at a time.
func (s *Service) ActiveUntil(ctx context.Context, orgID string, now time.Time) (time.Time, error) {
	e, ok, err := s.inForce(ctx, s.store, orgID, "", now)
	if err != nil || !ok {
		return time.Time{}, err
	}
	return e.Until, nil
}

func (s *Service) inForce(ctx context.Context, st storage.Emergencies, orgID, policyID string, now time.Time) (policy.ActiveEmergency, bool, error) {
	e, err := st.EmergencyInForce(ctx, orgID, policyID, now)
	if errors.Is(err, storage.ErrNotFound) {
		return policy.ActiveEmergency{}, false, nil
	}
	if err != nil {
		return policy.ActiveEmergency{}, false, fmt.Errorf("emergency: in force: %w", err)
	}
	return policy.ActiveEmergency{ID: e.ID, Reason: e.Reason, Until: e.EndsAt}, true, nil
}

// PasswordOrigin implements account.PasswordOriginFunc: a password set for
// acct now is "open" when its policy does not enforce SSO, "emergency" (with
// the emergency's ID) when an emergency in force covers its policy, and
// "enforced" otherwise (it never signs in).
func (s *Service) PasswordOrigin(ctx context.Context, tx storage.Store, acct storage.Account, now time.Time) (origin, emergencyID string, err error) {
	// SSO routes only addresses of domains the organization verified; any
	// other address always signs in with its password (policy.Decide), so
	// its password is an ordinary one whatever the policy says.
	managing, err := policy.ManagingOrg(ctx, tx, acct.Email)
	if err != nil {
		return "", "", fmt.Errorf("emergency: %w", err)
	}
	if managing != acct.OrgID {
		return storage.PasswordOpen, "", nil
	}
	pol, err := tx.PolicyFor(ctx, acct.OrgID, acct.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.PasswordOpen, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("emergency: policy of account: %w", err)
	}
	if pol.SSO != storage.SSOEnforced {
		return storage.PasswordOpen, "", nil
	}
	e, ok, err := s.inForce(ctx, tx, acct.OrgID, pol.ID, now)
	if err != nil {
		return "", "", err
	}
	if ok {
		return storage.PasswordEmergency, e.ID, nil
	}
	return storage.PasswordEnforced, "", nil
}

// checkReason trims and bounds a reason.
func checkReason(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" {
		return "", ErrReasonRequired
	}
	if utf8.RuneCountInString(r) > maxReason {
		return "", errs.NewInvalid("reason", fmt.Sprintf("Keep the reason under %d characters.", maxReason))
	}
	return r, nil
}

// mapStore turns the store's not-found into this package's.
func mapStore(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
