package storage

import (
	"context"
	"time"
)

// PasskeyReadinessQuery selects an organization's active accounts whose
// policy is one of PolicyIDs (an account under no named policy falls to
// the organization's default, as in PolicyFor). Which policies those are
// is the caller's rule; storage only resolves membership.
type PasskeyReadinessQuery struct {
	OrgID     string
	PolicyIDs []string // none: no account matches
	// WithoutPasskey keeps only accounts with no usable passkey (one whose
	// clone was not suspected).
	WithoutPasskey bool
	// Emails, when non-empty, keeps only these (normalized) addresses.
	Emails []string
	// AfterEmail pages: only accounts whose email sorts after it.
	AfterEmail string
	Limit      int // at most this many rows; <= 0 means 100
}

// PasskeyReadinessRow is one account covered by the query, with what it
// has of passkeys and when it was last reminded to register one.
type PasskeyReadinessRow struct {
	AccountID   string
	Email       string
	DisplayName string
	PolicyID    string // the policy that applies to the account
	// Passkeys counts usable passkeys (a passkey whose clone is suspected
	// is refused at sign-in, so it does not count); EmergencyPasskeys
	// those of them the person flagged as emergency credentials.
	Passkeys          int
	EmergencyPasskeys int
	LastRemindedAt    time.Time // zero when never reminded
}

// PasskeyReadinessCounts sums a query over all its accounts.
type PasskeyReadinessCounts struct {
	Covered       int // active accounts under the policies
	WithPasskey   int // of them, with at least one usable passkey
	WithEmergency int // of them, with at least one usable emergency passkey
}

// PasskeyReadiness answers "who under these policies can sign in with a
// passkey" for many accounts in one query per page, and records reminders.
type PasskeyReadiness interface {
	// ListPasskeyReadiness returns one page of q, ordered by email.
	ListPasskeyReadiness(ctx context.Context, q PasskeyReadinessQuery) ([]PasskeyReadinessRow, error)
	// CountPasskeyReadiness sums q (its Emails, AfterEmail, Limit and
	// WithoutPasskey are ignored).
	CountPasskeyReadiness(ctx context.Context, q PasskeyReadinessQuery) (PasskeyReadinessCounts, error)
	// ClaimPasskeyReminders records a reminder at `at` for each of
	// accountIDs that belongs to orgID and was not reminded after
	// notAfter, and returns the IDs it recorded (sorted). Two concurrent
	// claims of one account: only one gets it.
	ClaimPasskeyReminders(ctx context.Context, orgID string, accountIDs []string, at, notAfter time.Time) ([]string, error)
}
