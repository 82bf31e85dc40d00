package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// issue stores a new access token (and, withRefresh, a refresh token) for
// a redeemed code or a presented refresh token. The code is spent, or the
// refresh token rotated, in the same transaction as the new tokens are
// written, by one conditional UPDATE: of two concurrent redemptions one
// wins, and the loser is treated as the replay it may be.
func (p *Provider) issue(ctx context.Context, req op.TokenRequest, _ string, withRefresh bool) (string, string, time.Time, error) {
	now := storage.Truncate(p.now())
	var base storage.OIDCToken
	var spend func(tx storage.Store) error
	var lost func()
	rotation := false
	switch r := req.(type) {
	case *authRequest:
		rec := r.rec
		base = storage.OIDCToken{FamilyID: rec.ID, AuthRequestID: rec.ID, ClientID: rec.ClientID, OrgID: rec.OrgID,
			AccountID: rec.AccountID, SessionID: rec.SessionID, Scopes: r.GetScopes(), AuthTime: rec.AuthTime,
			AMR: rec.AMR, EmergencyID: rec.EmergencyID}
		spend = func(tx storage.Store) error { return tx.UseOIDCAuthCode(ctx, rec.ID, now) }
		lost = func() { p.codeReplay(ctx, rec) }
	case *refreshRequest:
		base = r.tok
		base.Scopes = r.scopes
		spend = func(tx storage.Store) error { return tx.RotateOIDCRefreshToken(ctx, r.tok.ID, now) }
		lost = func() { p.refreshReuse(ctx, r.tok) }
		rotation = true
	default:
		return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
	base.Kind, base.TokenHash, base.CreatedAt, base.RevokedAt, base.RotatedAt = "", "", now, time.Time{}, time.Time{}
	v, app, err := p.liveSignIn(ctx, base)
	if err != nil {
		return "", "", time.Time{}, zoidc.ErrInvalidGrant().WithParent(err)
	}
	access := base
	access.ID, access.Kind = uuid.NewString(), storage.OIDCAccessToken
	// No token outlives the sign-in it stands on.
	access.ExpiresAt = earliest(now.Add(p.accessTTL(app)), v.Session.ExpiresAt)
	var refreshToken string
	var refresh storage.OIDCToken
	if withRefresh {
		refreshToken = newSecret()
		refresh = base
		refresh.ID, refresh.Kind, refresh.TokenHash = uuid.NewString(), storage.OIDCRefreshToken, sum(refreshToken)
		refresh.ExpiresAt = earliest(now.Add(p.refreshTTL(app)), v.Session.ExpiresAt)
	}
	err = p.store.InTx(ctx, func(tx storage.Store) error {
		if err := spend(tx); err != nil {
			return err
		}
		if err := tx.CreateOIDCToken(ctx, access); err != nil {
			return err
		}
		if withRefresh {
			return tx.CreateOIDCToken(ctx, refresh)
		}
		return nil
	})
	if errors.Is(err, storage.ErrConflict) {
		lost()
		return "", "", time.Time{}, zoidc.ErrInvalidGrant().WithDescription("the grant was already used")
	}
	if err != nil {
		return "", "", time.Time{}, zoidc.ErrServerError().WithParent(err)
	}
	if rotation {
		// App activity keeps the sign-in alive, as a request with the
		// cookie would; never past the session's own lifetime.
		if err := p.sessions.KeepAlive(ctx, v); err != nil {
			p.log.WarnContext(ctx, "oidc: recording session activity failed", "session_id", base.SessionID, "err", err)
		}
	}
	return access.ID, refreshToken, access.ExpiresAt, nil
}

func earliest(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// newSecret is a refresh token: 256 random bits.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// liveSignIn checks what every token stands on: its app still exists (in
// the same organization), and its Gatehouse session is live with the same
// account, active.
func (p *Provider) liveSignIn(ctx context.Context, tok storage.OIDCToken) (session.Validated, storage.App, error) {
	app, err := p.appByClientID(ctx, tok.ClientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return session.Validated{}, storage.App{}, errInvalidToken
		}
		return session.Validated{}, storage.App{}, zoidc.ErrServerError().WithParent(err)
	}
	if app.OrgID != tok.OrgID {
		return session.Validated{}, storage.App{}, errInvalidToken
	}
	v, err := p.validateSession(ctx, tok.SessionID)
	if errors.Is(err, session.ErrInvalid) || (err == nil && v.Account.ID != tok.AccountID) {
		return session.Validated{}, storage.App{}, errInvalidToken
	}
	if err != nil {
		return session.Validated{}, storage.App{}, zoidc.ErrServerError().WithParent(err)
	}
	return v, app, nil
}

// liveToken is liveSignIn for a stored token that must itself be live.
func (p *Provider) liveToken(ctx context.Context, tok storage.OIDCToken) (session.Validated, storage.App, error) {
	if !tok.RevokedAt.IsZero() || !p.now().Before(tok.ExpiresAt) {
		return session.Validated{}, storage.App{}, errInvalidToken
	}
	return p.liveSignIn(ctx, tok)
}

// accessToken returns the live access token id issued to subject.
func (p *Provider) accessToken(ctx context.Context, id, subject string) (storage.OIDCToken, error) {
	tok, err := p.store.GetOIDCToken(ctx, id)
	if err != nil || tok.Kind != storage.OIDCAccessToken || tok.AccountID != subject {
		return storage.OIDCToken{}, errInvalidToken
	}
	if _, _, err := p.liveToken(ctx, tok); err != nil {
		return storage.OIDCToken{}, err
	}
	return tok, nil
}

// codeReplay revokes every token issued from a code presented again, and
// records it: a code that is used twice has leaked.
func (p *Provider) codeReplay(ctx context.Context, rec storage.OIDCAuthRequest) {
	now := p.now()
	err := p.store.InTx(ctx, func(tx storage.Store) error {
		n, err := tx.RevokeOIDCAuthRequestTokens(ctx, rec.ID, now)
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, storage.AuditEvent{OrgID: rec.OrgID, Time: now, Action: "oidc.code_replay",
			TargetType: "account", TargetID: rec.AccountID, Outcome: "failure", Reason: "code_replay",
			Details: map[string]string{"client_id": rec.ClientID, "auth_request_id": rec.ID, "revoked": strconv.Itoa(n)}})
	})
	if err != nil {
		p.log.ErrorContext(ctx, "oidc: revoking the tokens of a replayed code failed", "auth_request_id", rec.ID, "err", err)
	}
}

// refreshReuse revokes the whole family of a rotated refresh token
// presented again (RFC 9700 §4.14.2): either the app or a thief holds a
// stale copy, and Gatehouse cannot tell which.
func (p *Provider) refreshReuse(ctx context.Context, tok storage.OIDCToken) {
	now := p.now()
	err := p.store.InTx(ctx, func(tx storage.Store) error {
		n, err := tx.RevokeOIDCTokenFamily(ctx, tok.FamilyID, now)
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, storage.AuditEvent{OrgID: tok.OrgID, Time: now, Action: "oidc.refresh_reuse",
			TargetType: "account", TargetID: tok.AccountID, Outcome: "failure", Reason: "refresh_reuse",
			Details: map[string]string{"client_id": tok.ClientID, "family_id": tok.FamilyID, "revoked": strconv.Itoa(n)}})
	})
	if err != nil {
		p.log.ErrorContext(ctx, "oidc: revoking a reused refresh token's family failed", "family_id", tok.FamilyID, "err", err)
	}
}

// fillClaims sets the claims about accountID that scopes grant, plus the
// organization and the emergency mark every app gets.
func (p *Provider) fillClaims(ctx context.Context, ui *zoidc.UserInfo, accountID string, scopes []string, emergencyID string) error {
	acct, err := p.account(ctx, accountID)
	if err != nil {
		return fmt.Errorf("oidc: claims: %w", err)
	}
	org, err := p.store.GetOrganization(ctx, acct.OrgID)
	if err != nil {
		return fmt.Errorf("oidc: claims: %w", err)
	}
	ui.Subject = acct.ID
	for _, s := range scopes {
		switch s {
		case zoidc.ScopeEmail:
			ui.Email, ui.EmailVerified = acct.Email, true
		case zoidc.ScopeProfile:
			ui.Name = acct.DisplayName
		case "groups":
			groups, err := p.store.ListAccountGroups(ctx, acct.ID)
			if err != nil {
				return fmt.Errorf("oidc: claims: %w", err)
			}
			if groups == nil {
				groups = []string{}
			}
			ui.AppendClaims("groups", groups)
		}
	}
	ui.AppendClaims("org", org.Slug)
	if emergencyID != "" {
		ui.AppendClaims("emergency", true)
	}
	return nil
}
