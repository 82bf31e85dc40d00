package storage

import (
	"context"
	"time"
)

// Passkey is one WebAuthn credential an account registered: what the
// relying party must keep to verify its assertions (the credential record
// of WebAuthn §4), and what the person sees of it on /account.
type Passkey struct {
	ID           string
	AccountID    string
	OrgID        string
	CredentialID []byte // the authenticator's credential ID; unique across the deployment
	PublicKey    []byte // COSE-encoded public key
	// AttestationType and AttestationFormat are what the authenticator
	// said at registration ("none"/"none" for most passkeys).
	AttestationType   string
	AttestationFormat string
	AAGUID            []byte   // authenticator model; zeros when undisclosed
	SignCount         uint32   // the last signature counter seen
	Transports        []string // "internal", "hybrid", "usb", …, as the browser reported them
	BackupEligible    bool     // the credential may be synced (BE flag)
	BackupState       bool     // the credential is synced (BS flag)
	Name              string   // the person's label, e.g. "Work laptop"
	// Emergency marks a passkey the person registered to sign in with
	// when single sign-on is down (failback). Whether it may be a first
	// factor at a given moment is the sign-in engine's decision.
	Emergency bool
	// CloneSuspectedAt is when an assertion's signature counter did not
	// increase: two copies of the private key may exist. Such a passkey is
	// refused until the person removes it.
	CloneSuspectedAt time.Time
	CreatedAt        time.Time
	LastUsedAt       time.Time // zero until first used to sign in
}

// Purposes of passkey ceremony challenges.
const (
	PasskeyPurposeRegister = "register"
	PasskeyPurposeLogin    = "login"
)

// PasskeyChallenge is one WebAuthn ceremony in progress: the challenge
// sent to the browser and what verifying its answer needs. It is used at
// most once (ConsumePasskeyChallenge removes it).
type PasskeyChallenge struct {
	IDHash    string // hex SHA-256 of the opaque ID the browser holds
	AccountID string // "" for a discoverable login (the passkey names the account)
	Purpose   string // PasskeyPurposeRegister or PasskeyPurposeLogin
	Emergency bool   // registration only: the new passkey is an emergency credential
	Session   []byte // the WebAuthn library's session data, JSON
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Passkeys stores WebAuthn credentials and ceremony challenges.
type Passkeys interface {
	// CreatePasskey stores p; ErrConflict on a duplicate ID or credential
	// ID, ErrNotFound when the account does not exist.
	CreatePasskey(ctx context.Context, p Passkey) error
	GetPasskey(ctx context.Context, id string) (Passkey, error)
	GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// ListPasskeys returns the account's passkeys, oldest first.
	ListPasskeys(ctx context.Context, accountID string) ([]Passkey, error)
	// UpdatePasskey applies fn to the passkey under a row lock (the write
	// lock on SQLite) and stores the result; fn's error unchanged when it
	// refuses (nothing is written). ID, AccountID, OrgID, CredentialID,
	// PublicKey and CreatedAt are not fn's to change.
	UpdatePasskey(ctx context.Context, id string, fn func(p *Passkey) error) (Passkey, error)
	// DeletePasskey removes the account's passkey; ErrNotFound when the
	// account has no passkey with that ID.
	DeletePasskey(ctx context.Context, accountID, id string) error

	// CreatePasskeyChallenge stores c; ErrConflict on a duplicate IDHash.
	CreatePasskeyChallenge(ctx context.Context, c PasskeyChallenge) error
	// ConsumePasskeyChallenge removes the challenge and returns it, in one
	// statement, so of two concurrent uses only one gets it; ErrNotFound
	// when there is none (never created, already used). Expiry is the
	// caller's to check against its own clock.
	ConsumePasskeyChallenge(ctx context.Context, idHash string) (PasskeyChallenge, error)
	// DeleteExpiredPasskeyChallenges removes challenges that expired
	// before now and returns how many.
	DeleteExpiredPasskeyChallenges(ctx context.Context, now time.Time) (int, error)
}
