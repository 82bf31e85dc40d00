package storage

import (
	"context"
	"time"
)

// LoginFlow is one sign-in in progress: the server-side transaction the
// sign-in engine (internal/signin) moves forward step by step. The browser
// holds only its ID (in the page) and a secret (in a cookie) whose hash is
// BrowserHash, so a flow is usable only in the browser that started it.
type LoginFlow struct {
	ID          string
	BrowserHash string // hex SHA-256 of the browser's secret
	// Step is where the flow stands: "identify", "password", "sso",
	// "authenticated" (first factor done, session not yet issued) or
	// "done" (a session was issued; the flow is spent).
	Step  string
	Email string // the normalised address typed at the identify step
	// Chosen is the method the person picked explicitly ("password" when
	// they asked to use a password instead of SSO), "" otherwise.
	Chosen       string
	AccountID    string   // set once a first factor succeeded
	Methods      []string // authentication methods completed so far (amr values)
	ConnectionID string   // the IdP connection of an SSO first factor
	AuthTime     time.Time
	ReturnTo     string
	// PrevSession is the session ID this browser held when it was sent to
	// the IdP, ended when the flow issues its session: the IdP's answer is
	// a cross-site post that does not carry the session cookie.
	PrevSession string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // when a session was issued from it; zero before
	Version     int64
}

// LoginFlows stores sign-ins in progress.
type LoginFlows interface {
	// CreateLoginFlow stores f; ErrConflict on a duplicate ID.
	CreateLoginFlow(ctx context.Context, f LoginFlow) error
	// GetLoginFlow returns the flow with id, ErrNotFound if there is none.
	GetLoginFlow(ctx context.Context, id string) (LoginFlow, error)
	// UpdateLoginFlow applies fn to the current flow and stores the result,
	// locking the row where the dialect can; ErrConflict when the flow
	// changed since it was read (two submits of one step race), and fn's
	// error unchanged when fn refuses. ID, BrowserHash and CreatedAt are not
	// fn's to change.
	UpdateLoginFlow(ctx context.Context, id string, fn func(f *LoginFlow) error) (LoginFlow, error)
	// DeleteExpiredLoginFlows removes flows that expired before now and
	// returns how many.
	DeleteExpiredLoginFlows(ctx context.Context, now time.Time) (int, error)
}
