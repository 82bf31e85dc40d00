package storage

import (
	"context"
	"time"
)

// SSO outcome kinds counted per connection and minute. Started is a sign-in
// sent to the IdP; the other four are how it ended.
const (
	OutcomeStarted   = "started"
	OutcomeSucceeded = "succeeded"
	OutcomeIdPError  = "idp_error" // the IdP answered with a non-success status
	OutcomeInvalid   = "invalid"   // Gatehouse refused the response
	OutcomeAbandoned = "abandoned" // started, never answered before the request expired
)

// SSOOutcomeBucket is one connection's SSO outcome counts for one minute
// (or, from SumSSOOutcomes, a sum over several). Counts are aggregated by
// upsert: storage never holds one row per sign-in.
type SSOOutcomeBucket struct {
	ConnectionID string
	Minute       time.Time // start of the minute (UTC); zero for a sum
	Started      int
	Succeeded    int
	IdPError     int
	Invalid      int
	Abandoned    int
}

// Failures is the number of outcomes that did not sign anyone in.
func (b SSOOutcomeBucket) Failures() int { return b.IdPError + b.Invalid + b.Abandoned }

// Outcomes is the number of sign-ins that ended, one way or another.
func (b SSOOutcomeBucket) Outcomes() int { return b.Succeeded + b.Failures() }

// SSOLastOutcome is how a connection's most recent sign-in ended.
type SSOLastOutcome struct {
	ConnectionID string
	Kind         string // OutcomeSucceeded, OutcomeIdPError, OutcomeInvalid or OutcomeAbandoned
	At           time.Time
}

// Failed reports whether the outcome signed nobody in.
func (o SSOLastOutcome) Failed() bool { return o.Kind != "" && o.Kind != OutcomeSucceeded }

// Kinds of SSOCheck.
const (
	CheckProbe    = "probe"    // the health service's request to the IdP
	CheckMetadata = "metadata" // a metadata refresh from the connection's URL
)

// SSOCheck is one active check of a connection's IdP.
type SSOCheck struct {
	ConnectionID string
	Kind         string // CheckProbe or CheckMetadata
	At           time.Time
	OK           bool
	Latency      time.Duration // storage precision: microseconds
	Detail       string        // the error, or the HTTP status, in words
}

// SSOIncident is a period during which a connection's SSO was failing.
// A connection has at most one open incident (EndedAt zero).
type SSOIncident struct {
	ID           string
	OrgID        string
	ConnectionID string
	Cause        string // "failure_ratio" or "unreachable"
	StartedAt    time.Time
	EndedAt      time.Time // zero while open
	// LastFailingAt is the last time an evaluation found the cause still
	// present; the incident ends once it has been clear for a window.
	LastFailingAt time.Time
	Details       string // the figures that opened it, in words (no personal data)
}

// Open reports whether the incident is still going on.
func (i SSOIncident) Open() bool { return i.EndedAt.IsZero() }

// SSOCertNotice records that admins were told a connection's signing
// certificate expires within Days days, so each notice goes out once.
type SSOCertNotice struct {
	ConnectionID string
	Fingerprint  string // hex SHA-256 of the certificate's DER
	Days         int    // the threshold: 30, 7 or 1
	SentAt       time.Time
}

// SSOHealth stores what the SSO health service (internal/health) observes.
type SSOHealth interface {
	// RecordSSOOutcome adds n to kind's count in the connection's bucket of
	// at's minute, in one upsert. A kind other than OutcomeStarted also
	// becomes the connection's last outcome unless a later one is stored.
	RecordSSOOutcome(ctx context.Context, connectionID, kind string, at time.Time, n int) error
	// SumSSOOutcomes sums the connection's buckets whose minute is in
	// [since, until).
	SumSSOOutcomes(ctx context.Context, connectionID string, since, until time.Time) (SSOOutcomeBucket, error)
	// ListSSOOutcomes returns the buckets in [since, until), oldest first.
	ListSSOOutcomes(ctx context.Context, connectionID string, since, until time.Time) ([]SSOOutcomeBucket, error)
	// LastSSOOutcome returns the connection's most recent ending;
	// ErrNotFound when none was recorded.
	LastSSOOutcome(ctx context.Context, connectionID string) (SSOLastOutcome, error)
	// ClaimAbandonedAuthnRequests marks every AuthnRequest that expired at
	// or before now without being used, and was not claimed before, as
	// claimed, and returns them: each abandoned sign-in is counted once,
	// whichever node claims it.
	ClaimAbandonedAuthnRequests(ctx context.Context, now time.Time) ([]AuthnRequest, error)
	// MarkAuthnRequestCounted marks the request as counted already (a
	// refused answer to it was recorded), so it is never claimed as
	// abandoned. An unknown ID is not an error.
	MarkAuthnRequestCounted(ctx context.Context, id string) error
	// DeleteSSOOutcomes removes buckets whose minute is before cutoff.
	DeleteSSOOutcomes(ctx context.Context, cutoff time.Time) (int, error)

	// RecordSSOCheck appends a check result.
	RecordSSOCheck(ctx context.Context, c SSOCheck) error
	// ListSSOChecks returns the connection's checks of kind ("" for both),
	// newest first, at most limit (0 means 20).
	ListSSOChecks(ctx context.Context, connectionID, kind string, limit int) ([]SSOCheck, error)
	// DeleteSSOChecks removes checks made before cutoff.
	DeleteSSOChecks(ctx context.Context, cutoff time.Time) (int, error)

	// OpenSSOIncident stores a new open incident. ErrConflict when the
	// connection already has an open one: of several nodes opening at once
	// exactly one succeeds. ErrNotFound when the connection does not exist.
	OpenSSOIncident(ctx context.Context, inc SSOIncident) error
	// CloseSSOIncident ends the open incident id at endedAt and returns it;
	// ErrConflict when it was already closed, ErrNotFound when unknown.
	CloseSSOIncident(ctx context.Context, id string, endedAt time.Time) (SSOIncident, error)
	// MarkSSOIncidentFailing moves the open incident's LastFailingAt
	// forward to at (never back); closed or unknown incidents are left alone.
	MarkSSOIncidentFailing(ctx context.Context, id string, at time.Time) error
	// GetOpenSSOIncident returns the connection's open incident,
	// ErrNotFound when there is none.
	GetOpenSSOIncident(ctx context.Context, connectionID string) (SSOIncident, error)
	// ListSSOIncidents returns orgID's incidents still open or ended at or
	// after since, newest first.
	ListSSOIncidents(ctx context.Context, orgID string, since time.Time) ([]SSOIncident, error)

	// RecordSSOCertNotice stores the notice; ErrConflict when it was stored
	// before (the notice was sent already, maybe by another node).
	RecordSSOCertNotice(ctx context.Context, n SSOCertNotice) error
}
