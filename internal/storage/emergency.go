package storage

import (
	"context"
	"time"
)

// Emergency is one period of failback mode in an organization: while it is
// in force (started, not ended, before EndsAt), accounts under the policies
// it covers whose policy enforces SSO may sign in another way.
//
// Overlap rule: an organization has at most one open emergency (EndedAt
// zero) at a time, whatever its scope. Widening or lengthening one is done
// by extending it (EndsAt moves) or ending it and starting another, so
// "which emergency made this password or session" always has one answer.
type Emergency struct {
	ID     string
	OrgID  string
	Reason string
	// StartedAt is when it was declared; EndsAt when it stops unless
	// extended or ended earlier; EndedAt when it was ended (by an admin, or
	// by the expiry sweep after EndsAt), zero while open.
	StartedAt time.Time
	EndsAt    time.Time
	EndedAt   time.Time
	// Who declared and who ended it (actor type, ID, email as on audit
	// events); EndedBy is the system job for an expiry.
	StartedByType, StartedByID, StartedByEmail string
	EndedByType, EndedByID, EndedByEmail       string
	// EndReason is "ended" (someone ended it), "expired" (EndsAt passed)
	// or "" while open.
	EndReason string
	// Automatic: started by automatic failback for Cause (the incident or
	// connection it answers); only such an emergency is ended automatically.
	Automatic bool
	Cause     string
	// Scoped: it covers only PolicyIDs; otherwise the whole organization.
	Scoped    bool
	PolicyIDs []string // sorted; empty unless Scoped
	// SignOutAtEnd: the sessions made during it end, on every node, when
	// it ends — by an admin or by running out; otherwise they run to their
	// own expiry. Chosen at the start, changeable while it runs.
	SignOutAtEnd bool
	Version      int64
}

// Emergency end reasons.
const (
	EmergencyEnded   = "ended"
	EmergencyExpired = "expired"
)

// InForce reports whether e is in force at now.
func (e Emergency) InForce(now time.Time) bool {
	return e.EndedAt.IsZero() && !e.StartedAt.After(now) && now.Before(e.EndsAt)
}

// Covers reports whether e applies to policyID (whatever the time).
func (e Emergency) Covers(policyID string) bool {
	if !e.Scoped {
		return true
	}
	for _, id := range e.PolicyIDs {
		if id == policyID {
			return true
		}
	}
	return false
}

// Emergencies stores emergencies (failback mode) and the changes that
// follow their end.
type Emergencies interface {
	// CreateEmergency stores e (Version 1, EndedAt zero). ErrConflict when
	// the organization already has an open emergency or the ID exists;
	// ErrNotFound when a scoped policy ID is not a policy of the org.
	CreateEmergency(ctx context.Context, e Emergency) error
	// GetEmergency returns orgID's emergency id, ErrNotFound otherwise.
	GetEmergency(ctx context.Context, orgID, id string) (Emergency, error)
	// OpenEmergency returns orgID's open emergency (not ended, whether or
	// not EndsAt has passed), ErrNotFound when there is none.
	OpenEmergency(ctx context.Context, orgID string) (Emergency, error)
	// EmergencyInForce returns the emergency of orgID in force at now that
	// covers policyID ("" matches any scope), in one indexed query; its
	// PolicyIDs are left nil (Scoped still says whether it has some).
	// ErrNotFound when there is none. Sign-in asks it on every attempt.
	EmergencyInForce(ctx context.Context, orgID, policyID string, now time.Time) (Emergency, error)
	// ListEmergencies returns orgID's emergencies, newest first, at most
	// limit (0: 100).
	ListEmergencies(ctx context.Context, orgID string, limit int) ([]Emergency, error)
	// ListDueEmergencies returns open emergencies of every organization
	// whose EndsAt is at or before now: the expiry sweep ends them.
	ListDueEmergencies(ctx context.Context, now time.Time) ([]Emergency, error)
	// UpdateEmergency applies fn to orgID's emergency id under a row lock
	// and stores EndsAt, EndedAt, EndedBy*, EndReason, SignOutAtEnd (the
	// rest is fixed),
	// with Version+1; ErrConflict when it changed since it was read, fn's
	// error unchanged when fn refuses.
	UpdateEmergency(ctx context.Context, orgID, id string, fn func(e *Emergency) error) (Emergency, error)
	// ClearEmergencyPasswords removes every password set during emergency
	// id (PasswordOrigin PasswordEmergency, PasswordEmergencyID id): hash
	// and origin become empty, Version+1, UpdatedAt at. It returns the IDs
	// of the accounts changed, sorted.
	ClearEmergencyPasswords(ctx context.Context, id string, at time.Time) ([]string, error)
	// ListEmergencySessions returns the sessions made under emergency id,
	// live or not, newest first.
	ListEmergencySessions(ctx context.Context, id string) ([]Session, error)
	// RevokeEmergencySessions revokes the live sessions made under
	// emergency id (not revoked, not past ExpiresAt at `at`) and returns
	// them as they were before, so the caller can invalidate each on every
	// node.
	RevokeEmergencySessions(ctx context.Context, id, reason string, at time.Time) ([]Session, error)
}
