// Package storage defines Gatehouse's domain records, the small per-area
// interfaces every backend implements, and the sentinel errors callers match.
//
// There is one implementation (internal/storage/sqlstore) with two SQL
// dialects; internal/storage/storagetest is the conformance suite both run.
// Storage knows nothing of policy: it stores and returns records, enforces
// uniqueness, and makes multi-record changes atomic through InTx.
package storage

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// Sentinel errors. Backends wrap them with %w; callers use errors.Is.
// They carry errs kinds, so an edge that meets one unmapped still answers
// 404 or 409 rather than 500.
var (
	// ErrNotFound: no record matches.
	ErrNotFound error = errs.New(errs.NotFound, "", "storage: not found")
	// ErrConflict: a uniqueness constraint would be violated, or a record
	// changed since it was read (stale version, token already used).
	ErrConflict error = errs.New(errs.Conflict, "", "storage: conflict")
)

// Store is everything a service may ask of the database. Each embedded
// interface is one area. The services that change state take the whole
// Store: InTx hands the closure a Store, and a change reaches several areas
// in one transaction (the record, its audit event, the lockout check).
// Components that only read or append within one area take that area's
// interface: ratelimit.New takes Throttles, audit.NewService and
// audit.Verify/ExportJSONL take Audit.
type Store interface {
	Organizations
	Accounts
	Members
	Sessions
	OneTimeTokens
	APITokens
	Throttles
	Audit
	Invalidations
	Domains
	IdPConnections
	Policies
	PolicyGroups
	PolicyDomains
	SSOLinks
	SAMLState
	LoginFlows
	OrgRecoveryCodes
	SSOHealth
	Passkeys
	MFATOTP
	Emergencies
	PasskeyReadiness
	Apps
	OIDC
	Activity
	Deployment
	MemberRecords

	// InTx runs fn inside one read-write transaction: every change fn makes
	// through tx commits together, or none does. Calling InTx on a tx runs fn
	// in the same transaction. fn may be retried by the backend on a
	// serialization failure, so it must not have side effects outside tx.
	InTx(ctx context.Context, fn func(tx Store) error) error

	// Ready reports whether the database is reachable and fully migrated.
	Ready(ctx context.Context) error
	// Close releases the connection pool. Not valid on a tx.
	Close() error
}

// Organization is a tenant; nothing crosses between organizations.
type Organization struct {
	ID        string
	Slug      string // URL-safe, unique, lowercase
	Name      string // shown on sign-in pages
	CreatedAt time.Time
}

// Organizations stores tenants.
type Organizations interface {
	CreateOrganization(ctx context.Context, o Organization) error // ErrConflict on duplicate slug
	GetOrganization(ctx context.Context, id string) (Organization, error)
	GetOrganizationBySlug(ctx context.Context, slug string) (Organization, error)
	ListOrganizations(ctx context.Context) ([]Organization, error)
	// SoleOrganization returns the organization when exactly one exists
	// (a single-company deployment), ErrNotFound otherwise. Sign-in pages
	// ask it on every request, so it must not read the whole table.
	SoleOrganization(ctx context.Context) (Organization, error)
}

// Role is an account's role in its organization.
type Role string

// Roles, from most to least privileged.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// IsAdmin reports whether the role may administer its organization.
func (r Role) IsAdmin() bool { return r == RoleOwner || r == RoleAdmin }

// AccountStatus says whether an account may sign in.
type AccountStatus string

// Account statuses.
const (
	StatusActive    AccountStatus = "active"
	StatusSuspended AccountStatus = "suspended"
)

// Account is a person. Email is stored normalized (trimmed, lowercased) and is
// unique across the whole deployment, because sign-in is identifier-first:
// the email alone must name one account.
type Account struct {
	ID                string
	OrgID             string
	Email             string
	DisplayName       string
	PasswordHash      string    // argon2id PHC string; empty when the account never set a password
	PasswordChangedAt time.Time // zero when never set
	Role              Role
	Status            AccountStatus
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Version increases by one on every update; UpdateAccount uses it to
	// detect a write based on a stale read.
	Version int64
	// Origin is how the account came to exist (OriginAdmin, OriginSetup,
	// OriginJIT); set at creation, never changed. An account an admin
	// created may fail back during an emergency even if it never signed in
	// through SSO; one the IdP created must have done so recently.
	Origin string
	// PasswordOrigin is under what conditions the current password was set
	// (PasswordOpen, PasswordEnforced, PasswordEmergency; "" when there is
	// none), and PasswordEmergencyID the emergency it was set during. A
	// password set while SSO was enforced never signs in; one set during an
	// emergency works only during that emergency.
	PasswordOrigin      string
	PasswordEmergencyID string
}

// Account origins.
const (
	OriginAdmin = "admin" // invited or added by an admin, the CLI or the API
	OriginSetup = "setup" // the first owner, through the set-up link
	OriginJIT   = "jit"   // created by an SSO sign-in
)

// Password origins.
const (
	PasswordOpen      = "open"      // set while the account's policy did not enforce SSO
	PasswordEnforced  = "enforced"  // set while SSO was enforced and no emergency covered the account
	PasswordEmergency = "emergency" // set during emergency PasswordEmergencyID
)

// Accounts stores people.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error // ErrConflict on duplicate email or ID
	GetAccount(ctx context.Context, id string) (Account, error)
	GetAccountByEmail(ctx context.Context, email string) (Account, error)
	ListAccounts(ctx context.Context, orgID string) ([]Account, error) // ordered by email
	// UpdateAccount reads the account (locking it for the rest of the
	// transaction where the dialect can), lets fn change the copy, and writes
	// it back with Version+1 and UpdatedAt set by fn's caller through the
	// copy. It returns ErrConflict if the row's version moved between read
	// and write, and fn's error unchanged if fn fails (nothing is written).
	// ID, OrgID and CreatedAt cannot be changed through fn.
	UpdateAccount(ctx context.Context, id string, fn func(a *Account) error) (Account, error)
	// CountAccounts counts accounts with one of the given roles across all
	// organizations (no roles: all accounts). Used to decide whether the
	// first-admin link is still needed.
	CountAccounts(ctx context.Context, roles ...Role) (int, error)
	// ListAccountsByEmailSkeleton returns orgID's accounts whose email has
	// the given emailaddr.Skeleton, ordered by email. The store derives
	// the skeleton from the email on every create and update, so callers
	// never write it; lookalike addresses are found through an index.
	ListAccountsByEmailSkeleton(ctx context.Context, orgID, skeleton string) ([]Account, error)
}

// Session is a server-side sign-in. Only the SHA-256 of the cookie token is
// stored (hex), so a database leak does not hand out live sessions.
type Session struct {
	ID           string
	TokenHash    string // hex SHA-256 of the cookie token; unique
	AccountID    string
	OrgID        string
	Method       string // "password", "sso", "setup", "recovery", "reset"; see AMR for the methods used
	CreatedAt    time.Time
	LastSeenAt   time.Time
	IdleTimeout  time.Duration // the session ends after this long without a request
	ExpiresAt    time.Time     // absolute end, whatever the activity
	IP           string
	UserAgent    string
	RevokedAt    time.Time // zero while live
	RevokeReason string
	// For Method "sso": the IdP connection and the IdP's authentication
	// instant. The session does not depend on the IdP after sign-in.
	ConnectionID string
	IdPAuthnAt   time.Time
	// AMR lists the authentication methods that made the session: RFC 8176
	// "amr" values where one exists ("pwd", "otp", "hwk", "mfa", …) and
	// Gatehouse's own ("sso", "emergency", "recovery"). The session service
	// checks them against its allow-list; storage keeps them as given, in
	// order.
	AMR []string
	// AuthTime is when the person authenticated (OIDC auth_time). It is
	// CreatedAt unless the sign-in reused an earlier authentication.
	AuthTime time.Time
	// EmergencyID is the emergency (failback mode) the session was made
	// under, "" for an ordinary sign-in; ending an emergency may end its
	// sessions.
	EmergencyID string
}

// Sessions stores server-side sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error // ErrConflict on duplicate ID or token hash
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession moves LastSeenAt forward (never backward).
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	// ListSessions lists an account's sessions that are neither revoked nor
	// past ExpiresAt at now, newest first. Idle expiry is the caller's call.
	ListSessions(ctx context.Context, accountID string, now time.Time) ([]Session, error)
	// RevokeSession marks one session revoked; revoking twice is not an error.
	RevokeSession(ctx context.Context, id, reason string, at time.Time) error
	// RevokeAccountSessions revokes every live session of the account except
	// exceptID (may be empty) and returns how many it revoked.
	RevokeAccountSessions(ctx context.Context, accountID, exceptID, reason string, at time.Time) (int, error)
	// DeleteExpiredSessions removes sessions that ended before cutoff.
	DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error)
}

// Purposes of one-time tokens.
const (
	PurposeSetup    = "setup"    // the first-admin link printed by serve
	PurposeReset    = "reset"    // password reset (also for accounts that never had one)
	PurposeInvite   = "invite"   // an invited member sets a first password
	PurposeRecovery = "recovery" // `gatehouse recover` admin sign-in link
)

// OneTimeToken is a single-use, short-lived secret sent by mail or printed.
// Only its SHA-256 (hex) is stored.
type OneTimeToken struct {
	TokenHash string
	Purpose   string
	AccountID string // empty for the setup token
	OrgID     string // empty for the setup token
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until consumed
	RequestIP string
}

// OneTimeTokens stores reset, invite, setup and recovery tokens.
type OneTimeTokens interface {
	CreateToken(ctx context.Context, t OneTimeToken) error
	GetToken(ctx context.Context, tokenHash string) (OneTimeToken, error)
	// UseToken marks the token used at `at`. It returns ErrConflict if it
	// was already used, so two concurrent uses cannot both succeed.
	UseToken(ctx context.Context, tokenHash string, at time.Time) error
	// InvalidateTokens marks every unused token of the account and purpose
	// used (e.g. a newer reset supersedes older links). accountID may be
	// empty to mean the setup token.
	InvalidateTokens(ctx context.Context, accountID, purpose string, at time.Time) error
	DeleteExpiredTokens(ctx context.Context, cutoff time.Time) (int, error)
}

// APIToken authenticates calls to /api/v1 on behalf of an organization.
type APIToken struct {
	ID        string
	OrgID     string
	Name      string
	TokenHash string // hex SHA-256; unique
	CreatedBy string // account ID, or "cli"
	// Scope is what the token may do: TokenScopeRead, TokenScopeAdmin or
	// TokenScopeOwner. Storage keeps it verbatim; an unknown scope grants
	// nothing (internal/authz).
	Scope      string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// LastUsedIP is the client address of the last recorded use ("" if
	// never used); written with LastUsedAt.
	LastUsedIP string
	RevokedAt  time.Time
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time
}

// API token scopes, from least to most authority.
const (
	TokenScopeRead  = "read"  // GET only: reads the organization's data, changes nothing
	TokenScopeAdmin = "admin" // what an admin may do in the console
	TokenScopeOwner = "owner" // what an owner may do, including acting on owners
)

// APITokens stores admin API tokens.
type APITokens interface {
	CreateAPIToken(ctx context.Context, t APIToken) error // ErrConflict on duplicate name in org
	GetAPITokenByHash(ctx context.Context, tokenHash string) (APIToken, error)
	ListAPITokens(ctx context.Context, orgID string) ([]APIToken, error)      // revoked ones included, newest first
	RevokeAPIToken(ctx context.Context, orgID, id string, at time.Time) error // ErrNotFound if not in org
	// TouchAPIToken records a use at `at` from ip. It moves LastUsedAt
	// forward only: an older use arriving late changes nothing.
	TouchAPIToken(ctx context.Context, id string, at time.Time, ip string) error
}

// Throttle counts recent failures for one key ("acct:<email>", "ip:<addr>").
type Throttle struct {
	Key         string
	Failures    int       // failures since WindowStart
	WindowStart time.Time // first failure of the current window
	LastFailure time.Time
	// BlockedUntil is when ReserveAttempt next admits an attempt on this
	// key; zero (or past) when it is not blocked. Counters kept with
	// RecordFailure leave it zero.
	BlockedUntil time.Time
}

// Backoff is how ReserveAttempt blocks a key: the first Limit attempts in
// Window pass; the Limit-th blocks the key for BaseDelay after it, and each
// further admitted attempt doubles the delay, up to MaxDelay.
type Backoff struct {
	Window    time.Duration
	Limit     int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// Throttles stores brute-force counters in the database so every node sees them.
type Throttles interface {
	// GetThrottle returns the counter, or a zero Throttle with Key set if none.
	GetThrottle(ctx context.Context, key string) (Throttle, error)
	// RecordFailure atomically adds one failure at now; a window that started
	// before now-window is restarted at now with one failure.
	RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (Throttle, error)
	// ReserveAttempt counts one attempt on key at now, before it is
	// evaluated, if the key is not blocked at now, and reports whether it
	// did. Check and count are one atomic statement, so concurrent callers
	// on any number of nodes are admitted one after another and never more
	// than b allows. A refused attempt changes nothing; the Throttle
	// returned then is the blocking counter (see BlockedUntil).
	ReserveAttempt(ctx context.Context, key string, now time.Time, b Backoff) (Throttle, bool, error)
	// ReleaseAttempt gives back one attempt ReserveAttempt admitted, for an
	// attempt that turned out not to be a failure (a correct password, a
	// refusal before evaluation). Below b.Limit the key is unblocked;
	// above it the delay halves, as if the released attempt had not been
	// made. Releasing an unknown key does nothing.
	ReleaseAttempt(ctx context.Context, key string, b Backoff) error
	ClearThrottle(ctx context.Context, key string) error
	// DeleteStaleThrottles removes counters whose last failure is before
	// cutoff and that do not block beyond it.
	DeleteStaleThrottles(ctx context.Context, cutoff time.Time) (int, error)
}

// AuditEvent is one entry of an organization's append-only, hash-chained log.
// OrgID is empty for events that belong to no organization (a sign-in
// attempt for an unknown email, deployment set-up).
type AuditEvent struct {
	OrgID      string
	Seq        int64 // position in the organization's chain, from 1; set by AppendAudit
	ID         string
	Time       time.Time
	ActorType  string // "account", "api_token", "cli", "system", "anonymous"
	ActorID    string
	ActorEmail string
	Action     string // e.g. "login.success", "login.failure", "session.revoke"
	TargetType string
	TargetID   string
	Outcome    string // "success" or "failure"
	Reason     string // machine-readable, e.g. "bad_credentials", "throttled"
	IP         string
	UserAgent  string
	RequestID  string
	Details    map[string]string
	PrevHash   string // Hash of the previous event of the chain; "" for the first
	Hash       string // set by AppendAudit: see HashAuditEvent
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	OrgID    string // required: chains are per organization ("" is the no-organization chain)
	ActorID  string // matches ActorID or ActorEmail
	Action   string // exact, or a prefix when it ends with "*" ("login.*")
	Since    time.Time
	Until    time.Time
	AfterSeq int64 // cursor: only events with Seq > AfterSeq
	Limit    int   // 0 means 100; at most 1000

	Outcome    string // exact: "success", "failure" or "denied"
	TargetType string // exact
	TargetID   string // exact
	// BeforeSeq is the cursor of a newest-first page: only events with
	// Seq < BeforeSeq. It combines with AfterSeq into a window.
	BeforeSeq int64
	// Newest returns the newest matching events first (descending Seq):
	// with Limit, the Limit events just below BeforeSeq (or the chain's
	// newest) rather than the oldest ones.
	Newest bool
}

// AuditHead is the newest position of one organization's chain, recorded
// by every append beside the events themselves. Deleting the newest events
// leaves a chain that still links; only the head shows they existed.
type AuditHead struct {
	OrgID string
	Seq   int64     // Seq of the newest event; 0 for a chain never appended to
	Hash  string    // Hash of that event
	Time  time.Time // Time of that event
}

// Audit stores the audit log. There is deliberately no update or delete.
type Audit interface {
	// AppendAudit assigns Seq, PrevHash and Hash and inserts the event,
	// serializing appends per organization so the chain never forks. It
	// advances the chain head in the same transaction and, once that
	// commits, logs the new head (org_id, seq, hash, time) so a copy of it
	// leaves the database.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns matching events in chain order (ascending Seq),
	// or newest first when f.Newest is set.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// AuditHead returns orgID's chain head; a chain never appended to has
	// the zero head (Seq 0, Hash "").
	AuditHead(ctx context.Context, orgID string) (AuditHead, error)
}

// Invalidation tells every node to drop cached state: Kind "session" (Key is
// a session ID) or "account" (Key is an account ID: all its sessions).
type Invalidation struct {
	Seq       int64
	Kind      string
	Key       string
	CreatedAt time.Time
}

// Invalidations is the feed nodes poll to keep their caches honest.
type Invalidations interface {
	PublishInvalidation(ctx context.Context, kind, key string, at time.Time) error
	// InvalidationsSince returns entries created at or after since, oldest
	// first. Pollers overlap their windows: dropping a cache entry twice is
	// harmless, missing one is not (sequence numbers may commit out of order).
	InvalidationsSince(ctx context.Context, since time.Time) ([]Invalidation, error)
	DeleteInvalidations(ctx context.Context, before time.Time) (int, error)
}

// LocalInvalidations is implemented by a Store that can tell this process
// about the invalidations it publishes itself, as soon as they commit.
// Caches subscribe so that a change made on this node (a suspension, an
// admin's revocation, new IdP groups) takes effect here at once, without
// waiting for the next poll of the feed; other nodes still learn of it
// from the feed. Subscribers run synchronously after the commit and must
// be quick.
type LocalInvalidations interface {
	// OnInvalidation calls fn for every invalidation this store publishes
	// once it is committed, until the returned function is called.
	OnInvalidation(fn func(inv Invalidation)) (unsubscribe func())
}
