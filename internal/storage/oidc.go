package storage

import (
	"context"
	"time"
)

// OIDCAuthRequest is one authorization request of an app (an OpenID
// Connect relying party) from the moment it arrives at /oidc/authorize
// until its code is redeemed. It is kept after redemption, so a second
// redemption of the code is recognised and the tokens of the first are
// revoked.
type OIDCAuthRequest struct {
	ID       string
	ClientID string
	OrgID    string // the app's organization
	// Request is the parsed authorization request (JSON), as the provider
	// library reads it back; storage does not look inside.
	Request []byte
	// HintSubject is the subject of a valid id_token_hint ("" for none):
	// the sign-in must be that account's.
	HintSubject string
	CreatedAt   time.Time
	ExpiresAt   time.Time // the sign-in must complete before this
	// The completed sign-in, zero until then.
	DoneAt      time.Time
	AccountID   string
	SessionID   string
	AuthTime    time.Time
	AMR         []string
	EmergencyID string
	// CodeHash is the hex SHA-256 of the authorization code issued for
	// the request ("" before), CodeExpiresAt when it stops being
	// redeemable, CodeUsedAt when it was redeemed (zero before).
	CodeHash      string
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
}

// OIDC token kinds.
const (
	OIDCAccessToken  = "access"
	OIDCRefreshToken = "refresh"
)

// OIDCToken is an access or refresh token issued to an app. Access tokens
// are opaque to the app (an encryption of ID) and stored by ID; refresh
// tokens are random and stored as the hex SHA-256 of the token.
type OIDCToken struct {
	ID   string
	Kind string // OIDCAccessToken or OIDCRefreshToken
	// TokenHash is the hex SHA-256 of a refresh token; "" for access tokens.
	TokenHash string
	// FamilyID groups every token descended from one code redemption;
	// reuse of a rotated refresh token or a replayed code revokes it all.
	FamilyID      string
	AuthRequestID string
	ClientID      string
	OrgID         string
	AccountID     string
	SessionID     string // the Gatehouse session the tokens stand on
	Scopes        []string
	AuthTime      time.Time
	AMR           []string
	EmergencyID   string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time // zero while not revoked
	RotatedAt     time.Time // refresh tokens: when it was exchanged for a new one
}

// OIDCSigningKey is a key the provider signs ID tokens with. The private
// key is sealed (internal/secretbox) under the deployment's secret key.
type OIDCSigningKey struct {
	ID          string // the JWK "kid"
	Algorithm   string // "RS256" or "ES256"
	SealedKey   string // secretbox-sealed PKCS #8 DER private key
	PublicJWK   string // the public key as a JWK (JSON)
	CreatedAt   time.Time
	ActiveUntil time.Time // signs until then
	// ExpiresAt is when it leaves the key set: ActiveUntil plus the
	// longest lifetime of a token it may have signed.
	ExpiresAt time.Time
}

// OIDC stores the OpenID Provider's authorization requests, tokens and
// signing keys.
type OIDC interface {
	// CreateOIDCAuthRequest stores r; ErrConflict on a duplicate ID.
	CreateOIDCAuthRequest(ctx context.Context, r OIDCAuthRequest) error
	// GetOIDCAuthRequest returns the request with id; ErrNotFound otherwise.
	GetOIDCAuthRequest(ctx context.Context, id string) (OIDCAuthRequest, error)
	// GetOIDCAuthRequestByCode returns the request whose code has codeHash.
	GetOIDCAuthRequestByCode(ctx context.Context, codeHash string) (OIDCAuthRequest, error)
	// CompleteOIDCAuthRequest records the sign-in (DoneAt, AccountID,
	// SessionID, AuthTime, AMR, EmergencyID of done) on the request with
	// id, once: ErrConflict when it already has one, ErrNotFound when there
	// is no such request.
	CompleteOIDCAuthRequest(ctx context.Context, id string, done OIDCAuthRequest) error
	// SetOIDCAuthCode records the code of a completed request, once:
	// ErrConflict when the request has a code already or is not complete.
	SetOIDCAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error
	// UseOIDCAuthCode marks the request's code redeemed at at, in one
	// conditional statement: of two redemptions exactly one succeeds, the
	// other gets ErrConflict.
	UseOIDCAuthCode(ctx context.Context, id string, at time.Time) error
	// DeleteOIDCAuthRequest removes the request with id (not an error when
	// there is none).
	DeleteOIDCAuthRequest(ctx context.Context, id string) error

	// CreateOIDCToken stores t; ErrConflict on a duplicate ID or hash.
	CreateOIDCToken(ctx context.Context, t OIDCToken) error
	// GetOIDCToken returns the token with id; ErrNotFound otherwise.
	GetOIDCToken(ctx context.Context, id string) (OIDCToken, error)
	// GetOIDCRefreshToken returns the refresh token with tokenHash.
	GetOIDCRefreshToken(ctx context.Context, tokenHash string) (OIDCToken, error)
	// RotateOIDCRefreshToken marks the live, unrotated refresh token id
	// rotated at at, in one conditional statement: ErrConflict when it was
	// rotated or revoked already (of two concurrent uses one wins).
	RotateOIDCRefreshToken(ctx context.Context, id string, at time.Time) error
	// RevokeOIDCToken revokes one token; revoking twice is not an error.
	RevokeOIDCToken(ctx context.Context, id string, at time.Time) error
	// RevokeOIDCTokenFamily revokes every token of the family that is not
	// revoked yet and returns how many.
	RevokeOIDCTokenFamily(ctx context.Context, familyID string, at time.Time) (int, error)
	// RevokeOIDCAuthRequestTokens revokes every token issued from the
	// authorization request (a replayed code) and returns how many.
	RevokeOIDCAuthRequestTokens(ctx context.Context, authRequestID string, at time.Time) (int, error)

	// LockOIDCSigningKeys serializes key rotation across nodes until the
	// transaction ends (call it inside InTx): two nodes starting at once
	// must not both create a key.
	LockOIDCSigningKeys(ctx context.Context) error
	// CreateOIDCSigningKey stores k; ErrConflict on a duplicate ID.
	CreateOIDCSigningKey(ctx context.Context, k OIDCSigningKey) error
	// ListOIDCSigningKeys returns every key not expired at now, newest first.
	ListOIDCSigningKeys(ctx context.Context, now time.Time) ([]OIDCSigningKey, error)

	// DeleteExpiredOIDC removes auth requests, tokens and signing keys that
	// expired before cutoff, and returns how many rows went.
	DeleteExpiredOIDC(ctx context.Context, cutoff time.Time) (int, error)
}
