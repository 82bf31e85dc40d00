package storage

import (
	"context"
	"time"
)

// MemberRecords answers what an admin's page about one person asks beyond
// the account itself (when and how they last signed in, what the audit log
// says about them, why a policy applies), and removes what an admin may
// take away (an SSO link, the account).
type MemberRecords interface {
	// LastSession returns the account's newest session by CreatedAt,
	// whatever its state (live, revoked, expired but not yet pruned):
	// the person's last sign-in. ErrNotFound when there is none.
	LastSession(ctx context.Context, accountID string) (Session, error)
	// LastSignInAt is when the account last signed in, kept on the account
	// by CreateSession, so it outlives pruned sessions; zero when never.
	// ErrNotFound for an unknown account.
	LastSignInAt(ctx context.Context, accountID string) (time.Time, error)
	// ListAuditAbout returns orgID's events whose target is the account or
	// whose actor is it, newest first (descending Seq), at most limit
	// (0 means 20; at most 100).
	ListAuditAbout(ctx context.Context, orgID, accountID string, limit int) ([]AuditEvent, error)
	// ExplicitPolicy returns the ID of the named policy the account is an
	// explicit member of (SetPolicyMember), "" when it is in none.
	ExplicitPolicy(ctx context.Context, orgID, accountID string) (string, error)
	// DeleteSSOLink removes the link of subject at connectionID;
	// ErrNotFound if there is none.
	DeleteSSOLink(ctx context.Context, connectionID, subject string) error
	// DeleteAccount removes the account of orgID with everything that
	// exists only for it: sessions, SSO links, groups, second factors,
	// passkeys, policy membership and its unused one-time tokens.
	// Audit events are not touched (the log is append-only). ErrNotFound
	// if the account is not orgID's.
	DeleteAccount(ctx context.Context, orgID, id string) error
}
