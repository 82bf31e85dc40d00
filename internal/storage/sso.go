package storage

import (
	"context"
	"time"
)

// Domain is an email domain an organization claims. It counts only once
// verified by DNS; a name is verified by at most one organization.
type Domain struct {
	ID                string
	OrgID             string
	Name              string // lowercase, no trailing dot
	VerificationToken string // published as TXT "gatehouse-verification=<token>"
	CreatedAt         time.Time
	VerifiedAt        time.Time // zero until verified
	LastCheckedAt     time.Time
	LastError         string // why the last verification attempt failed
}

// Domains stores claimed and verified email domains.
type Domains interface {
	CreateDomain(ctx context.Context, d Domain) error // ErrConflict if the org already claims the name
	GetDomain(ctx context.Context, orgID, id string) (Domain, error)
	ListDomains(ctx context.Context, orgID string) ([]Domain, error) // ordered by name
	// GetVerifiedDomain returns the verification of name, whichever
	// organization holds it; ErrNotFound if none does.
	GetVerifiedDomain(ctx context.Context, name string) (Domain, error)
	// RecordDomainCheck stores the outcome of a DNS check. verifiedAt zero
	// records a failure (with lastError); non-zero marks it verified, and
	// returns ErrConflict if another organization verified the name first.
	// A failure never takes a verification away (a DNS hiccup must not end
	// SSO enforcement; DeleteDomain does that), and a repeated success keeps
	// the first VerifiedAt. ErrNotFound if the domain is not orgID's.
	RecordDomainCheck(ctx context.Context, orgID, id string, checkedAt, verifiedAt time.Time, lastError string) error
	DeleteDomain(ctx context.Context, orgID, id string) error // ErrNotFound if not orgID's
}

// SSO modes of a policy.
const (
	SSOEnforced = "enforced"
	SSOOptional = "optional"
	SSOOff      = "off"
)

// IdPConnection is one upstream SAML identity provider of an organization.
type IdPConnection struct {
	ID    string
	OrgID string
	// Slug names the connection in URLs (/saml/{slug}/acs); unique across
	// the deployment because the ACS URL must name one connection.
	Slug string
	Name string

	EntityID          string
	SSOURL            string
	SigningCertsPEM   []string // all trusted at once, for rollovers
	MetadataURL       string   // empty for pasted metadata or manual settings
	MetadataXML       string   // last good copy
	MetadataFetchedAt time.Time
	MetadataError     string // last refresh failure, kept beside the last good copy

	NameIDFormat      string            // "", "persistent", "emailAddress", "unspecified"
	AttributeMap      map[string]string // our field (email, given_name, surname, display_name, groups, subject) → SAML attribute name
	JIT               bool              // create accounts at first sign-in
	AllowIdPInitiated bool
	AllowSHA1         bool
	AllowExpiredCerts bool
	SignRequests      bool
	SPKeyPEM          string // SP signing/decryption key, encrypted at rest by the service
	SPCertPEM         string

	// TestedAt is when an admin last completed a test sign-in through this
	// connection; enforcing SSO requires it.
	TestedAt  time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// IdPConnections stores SAML connections.
type IdPConnections interface {
	CreateIdPConnection(ctx context.Context, c IdPConnection) error // ErrConflict on duplicate slug
	GetIdPConnection(ctx context.Context, id string) (IdPConnection, error)
	GetIdPConnectionBySlug(ctx context.Context, slug string) (IdPConnection, error)
	ListIdPConnections(ctx context.Context, orgID string) ([]IdPConnection, error) // orgID "" lists all (metadata refresher)
	// UpdateIdPConnection updates by closure like UpdateAccount (version-checked).
	UpdateIdPConnection(ctx context.Context, id string, fn func(c *IdPConnection) error) (IdPConnection, error)
	// DeleteIdPConnection deletes the connection with its SSO links, pending
	// AuthnRequests and replay-cache entries. ErrConflict while a policy
	// uses it; ErrNotFound if it is not orgID's.
	DeleteIdPConnection(ctx context.Context, orgID, id string) error
}

// Policy decides how its members sign in. Each organization has exactly one
// default policy (IsDefault) that catches accounts not named by another.
type Policy struct {
	ID           string
	OrgID        string
	Name         string
	IsDefault    bool
	SSO          string // SSOEnforced, SSOOptional or SSOOff
	ConnectionID string // required unless SSO is off
	// Failback says whether the policy's people may sign in another way
	// during an emergency (FailbackAllowed, the default) or never
	// (FailbackDenied).
	Failback string
	// MFA says whether a second factor is required after the first
	// (MFARequired) or only used when enrolled (MFAOptional, the default).
	MFA string
	// IdleTimeout and MaxLifetime bound the policy's sessions; zero means
	// the deployment's session settings.
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// FailbackWindowDays: during an emergency, an account created by
	// sign-in (JIT) may fail back only if it signed in through SSO within
	// this many days. An IdP that is down cannot say who has left.
	FailbackWindowDays int
	// AutoFailbackAfter: when the policy's connection has had an open
	// incident this long, emergency mode starts for the policy on its
	// own. Zero: never (the default).
	AutoFailbackAfter time.Duration
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int64
}

// Policy failback and MFA settings.
const (
	FailbackAllowed = "allowed"
	FailbackDenied  = "denied"
	MFARequired     = "required"
	MFAOptional     = "optional"

	// DefaultFailbackWindowDays is FailbackWindowDays when none is set.
	DefaultFailbackWindowDays = 30
)

// WithPolicyDefaults returns p with its unset settings filled in: failback
// allowed, MFA optional, a 30-day failback window. Storage applies it on
// every write, so a record never holds an empty setting.
func WithPolicyDefaults(p Policy) Policy {
	if p.Failback == "" {
		p.Failback = FailbackAllowed
	}
	if p.MFA == "" {
		p.MFA = MFAOptional
	}
	if p.FailbackWindowDays == 0 {
		p.FailbackWindowDays = DefaultFailbackWindowDays
	}
	return p
}

// Policies stores authentication policies and their explicit members.
type Policies interface {
	// CreatePolicy: ErrConflict on duplicate name in org or a second default;
	// ErrNotFound if ConnectionID is not a connection of the same org.
	CreatePolicy(ctx context.Context, p Policy) error
	GetPolicy(ctx context.Context, orgID, id string) (Policy, error)
	GetPolicyByName(ctx context.Context, orgID, name string) (Policy, error)
	ListPolicies(ctx context.Context, orgID string) ([]Policy, error) // default first, then by name
	UpdatePolicy(ctx context.Context, orgID, id string, fn func(p *Policy) error) (Policy, error)
	DeletePolicy(ctx context.Context, orgID, id string) error // ErrConflict for the default policy
	// SetPolicyMember puts accountID under policyID ("" removes it from any
	// named policy, back to the default). An account is in at most one.
	SetPolicyMember(ctx context.Context, orgID, accountID, policyID string) error
	ListPolicyMembers(ctx context.Context, orgID, policyID string) ([]string, error)
	// PolicyFor returns the policy that applies to the account: its named
	// policy, else the org's default; ErrNotFound if the org has no default.
	PolicyFor(ctx context.Context, orgID, accountID string) (Policy, error)
}

// SSOLink ties an account to a subject at one IdP connection. Accounts are
// found by (connection, subject), so an email changed at the IdP updates
// the account instead of creating a duplicate.
type SSOLink struct {
	ConnectionID string
	Subject      string // objectidentifier when present, else the NameID
	AccountID    string
	CreatedAt    time.Time
	LastLoginAt  time.Time
}

// SSOLinks stores account links.
type SSOLinks interface {
	// CreateSSOLink: ErrConflict if the subject is linked already;
	// ErrNotFound unless the connection and the account exist in one org.
	CreateSSOLink(ctx context.Context, l SSOLink) error
	GetSSOLink(ctx context.Context, connectionID, subject string) (SSOLink, error)
	// ListAccountSSOLinks returns every link of the account, at any
	// connection, ordered by connection ID then creation time.
	ListAccountSSOLinks(ctx context.Context, accountID string) ([]SSOLink, error)
	// ListLinkedAccountIDs returns, in one query, the IDs of the
	// organization's accounts linked to at least one IdP subject, sorted,
	// so a list of members need not ask per account.
	ListLinkedAccountIDs(ctx context.Context, orgID string) ([]string, error)
	// LastSSOLogins returns, in one query, each of the organization's
	// linked accounts' latest SSO sign-in at any connection, by account ID.
	LastSSOLogins(ctx context.Context, orgID string) (map[string]time.Time, error)
	TouchSSOLink(ctx context.Context, connectionID, subject string, at time.Time) error
	// SetAccountGroups replaces the account's groups (names as the IdP sends them).
	SetAccountGroups(ctx context.Context, accountID string, groups []string) error
	ListAccountGroups(ctx context.Context, accountID string) ([]string, error)
}

// AuthnRequest is an outstanding SP-initiated login, bound to the browser
// that started it (BrowserHash is the SHA-256 of a cookie value).
type AuthnRequest struct {
	ID           string // the AuthnRequest ID; InResponseTo must equal it
	ConnectionID string
	BrowserHash  string
	ReturnTo     string
	Test         bool // an admin's test sign-in
	// FlowID is the sign-in flow (LoginFlow) that sent the browser to the
	// IdP, "" for a sign-in started outside one.
	FlowID string
	// TesterID is the admin who started a test sign-in (Test), whose own
	// action the test is audited as.
	TesterID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// SAMLState stores outstanding AuthnRequests and the assertion replay cache,
// shared by all nodes.
type SAMLState interface {
	CreateAuthnRequest(ctx context.Context, r AuthnRequest) error
	// UseAuthnRequest consumes the request: ErrNotFound if unknown,
	// ErrConflict if used already. The caller checks binding and expiry.
	UseAuthnRequest(ctx context.Context, id string, at time.Time) (AuthnRequest, error)
	// RememberAssertion records an assertion ID until expiresAt; ErrConflict
	// if it was seen before (a replay). A remembered ID keeps conflicting
	// until DeleteExpiredSAMLState purges it, even past its expiresAt.
	RememberAssertion(ctx context.Context, connectionID, assertionID string, expiresAt time.Time) error
	DeleteExpiredSAMLState(ctx context.Context, now time.Time) (int, error)
}
