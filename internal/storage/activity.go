package storage

import (
	"context"
	"time"
)

// SignInCount is how many sign-in events of one kind an organization's
// audit log holds for one UTC day.
type SignInCount struct {
	Day    time.Time // the day's midnight, UTC
	Action string    // "login.success" or "login.failure"
	// Method is the "method" detail login.success records (the session's
	// method: "password", "sso", "emergency", "recovery", "hwk", …); ""
	// when the event has none (failures).
	Method string
	Count  int
}

// Attention are the counts the console overview asks an admin to act on.
type Attention struct {
	// InvitationsPending: active accounts with no password yet and an
	// invitation link that is neither used nor expired.
	InvitationsPending int
	// WithoutSecondFactor: active accounts with neither a confirmed
	// authenticator app nor a passkey.
	WithoutSecondFactor int
}

// Activity reads the aggregates of the console overview. They are counts
// over records other areas write; nothing here changes anything.
type Activity interface {
	// CountSignIns counts orgID's login.success and login.failure audit
	// events with since <= Time < until, grouped by UTC day (since must be
	// a UTC midnight), action and method. Days, actions and methods
	// without events are absent.
	CountSignIns(ctx context.Context, orgID string, since, until time.Time) ([]SignInCount, error)
	// CountAttention counts orgID's pending invitations (as of now) and
	// active accounts without a second factor.
	CountAttention(ctx context.Context, orgID string, now time.Time) (Attention, error)
}
