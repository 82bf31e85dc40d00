package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// adapter is op's Storage over Gatehouse's store, apps and sessions.
type adapter struct{ p *Provider }

var (
	_ op.Storage                        = (*adapter)(nil)
	_ op.CanSetUserinfoFromRequest      = (*adapter)(nil)
	_ op.CanTerminateSessionFromRequest = (*adapter)(nil)
)

// errInvalidToken is the answer for every token that is unknown, expired,
// revoked or no longer backed by a live session and app: the edge learns
// nothing about which.
var errInvalidToken = errors.New("oidc: token is not active")

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// --- clients ---

func (a *adapter) app(ctx context.Context, clientID string) (storage.App, error) {
	app, err := a.p.appByClientID(ctx, clientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return storage.App{}, fmt.Errorf("oidc: unknown client: %w", err)
		}
		return storage.App{}, zoidc.ErrServerError().WithParent(err)
	}
	return app, nil
}

func (a *adapter) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := a.app(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if st := stateFrom(ctx); st != nil {
		st.alg = app.SigningAlg
	}
	return client{app: app, p: a.p}, nil
}

// dummyApp makes a secret check for an unknown client cost what a real
// one does, so timing does not tell which client IDs exist.
var dummyApp = storage.App{SecretHash: sum("gatehouse: no such client")}

func (a *adapter) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	app, err := a.app(ctx, clientID)
	if err != nil {
		apps.VerifySecret(dummyApp, secret)
		return err
	}
	if app.Public || !apps.VerifySecret(app, secret) {
		return errors.New("oidc: invalid client secret")
	}
	return nil
}

// --- authorization requests ---

func (a *adapter) CreateAuthRequest(ctx context.Context, req *zoidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	app, err := a.app(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	if req.ResponseType != zoidc.ResponseTypeCode {
		return nil, zoidc.ErrUnauthorizedClient().WithDescription("only the authorization code flow (response_type=code) is supported")
	}
	switch {
	case req.CodeChallenge == "" && app.Public:
		return nil, zoidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required for this client")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != zoidc.CodeChallengeMethodS256:
		// plain (or no method, which means plain) protects nothing
		// against an observer of the authorization request.
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if !slices.Contains(req.Scopes, zoidc.ScopeOpenID) {
		return nil, zoidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	// Only the scopes the app may have are granted; others are dropped
	// (RFC 6749 §3.3), so offline_access yields a refresh token only for
	// an app allowed one.
	req.Scopes = slices.DeleteFunc(slices.Clone(req.Scopes), func(s string) bool {
		return s != zoidc.ScopeOpenID && !slices.Contains(app.Scopes, s)
	})
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: encode auth request: %w", err)
	}
	now := storage.Truncate(a.p.now())
	rec := storage.OIDCAuthRequest{ID: uuid.NewString(), ClientID: app.ClientID, OrgID: app.OrgID, Request: raw,
		HintSubject: hintSubject, CreatedAt: now, ExpiresAt: now.Add(loginRequestTTL)}
	if err := a.p.store.CreateOIDCAuthRequest(ctx, rec); err != nil {
		return nil, err
	}
	return loadAuthRequest(rec)
}

func (a *adapter) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	rec, err := a.p.store.GetOIDCAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return loadAuthRequest(rec)
}

// AuthRequestByCode finds the request a code was issued for. A code
// redeemed before is a replay: the tokens issued from it are revoked
// (RFC 6749 §4.1.2), whoever presents it.
func (a *adapter) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	rec, err := a.p.store.GetOIDCAuthRequestByCode(ctx, sum(code))
	if err != nil {
		return nil, err
	}
	if !rec.CodeUsedAt.IsZero() {
		a.p.codeReplay(ctx, rec)
		return nil, errors.New("oidc: authorization code already used")
	}
	if !a.p.now().Before(rec.CodeExpiresAt) {
		return nil, errors.New("oidc: authorization code expired")
	}
	return loadAuthRequest(rec)
}

func (a *adapter) SaveAuthCode(ctx context.Context, id, code string) error {
	return a.p.store.SetOIDCAuthCode(ctx, id, sum(code), a.p.now().Add(a.p.cfg.CodeTTL))
}

// DeleteAuthRequest keeps the request: op calls it once tokens are issued,
// and the record is what recognises a replayed code. Run purges it later.
func (a *adapter) DeleteAuthRequest(context.Context, string) error { return nil }

// --- tokens ---

func (a *adapter) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := a.p.issue(ctx, req, "", false)
	return id, exp, err
}

func (a *adapter) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return a.p.issue(ctx, req, current, true)
}

func (a *adapter) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	tok, err := a.p.store.GetOIDCRefreshToken(ctx, sum(token))
	if err != nil {
		return nil, errInvalidToken
	}
	if !tok.RotatedAt.IsZero() {
		a.p.refreshReuse(ctx, tok)
		return nil, errInvalidToken
	}
	if _, _, err := a.p.liveToken(ctx, tok); err != nil {
		return nil, err
	}
	return &refreshRequest{tok: tok, scopes: tok.Scopes}, nil
}

func (a *adapter) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	tok, err := a.p.store.GetOIDCRefreshToken(ctx, sum(token))
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return tok.AccountID, tok.ID, nil
}

// RevokeToken revokes an access token (by ID) or a refresh token (by ID,
// after GetRefreshTokenInfo) with its whole family. An unknown token is
// not an error (RFC 7009 §2.2); another client's token is refused.
func (a *adapter) RevokeToken(ctx context.Context, idOrToken, _, clientID string) *zoidc.Error {
	tok, err := a.p.store.GetOIDCToken(ctx, idOrToken)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return zoidc.ErrServerError().WithParent(err)
	}
	if tok.ClientID != clientID {
		return zoidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
	}
	now := a.p.now()
	if tok.Kind == storage.OIDCRefreshToken {
		_, err = a.p.store.RevokeOIDCTokenFamily(ctx, tok.FamilyID, now)
	} else {
		err = a.p.store.RevokeOIDCToken(ctx, tok.ID, now)
	}
	if err != nil {
		return zoidc.ErrServerError().WithParent(err)
	}
	return nil
}

// TerminateSession is unused: TerminateSessionFromRequest handles logout.
func (a *adapter) TerminateSession(context.Context, string, string) error { return nil }

func (a *adapter) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	return a.p.endSession(ctx, req)
}

// --- claims ---

// SetUserinfoFromScopes is op's deprecated hook; SetUserinfoFromRequest
// does the work.
func (a *adapter) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

func (a *adapter) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	emergency := ""
	if s, ok := req.(signIn); ok {
		emergency = s.emergencyID()
	}
	return a.p.fillClaims(ctx, ui, req.GetSubject(), scopes, emergency)
}

func (a *adapter) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, _ string) error {
	tok, err := a.p.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	return a.p.fillClaims(ctx, ui, tok.AccountID, tok.Scopes, tok.EmergencyID)
}

// SetIntrospectionFromToken answers for the client's own live access
// tokens only (a client may not learn about another's tokens).
func (a *adapter) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	tok, err := a.p.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if tok.ClientID != clientID {
		return errInvalidToken
	}
	ui := new(zoidc.UserInfo)
	if err := a.p.fillClaims(ctx, ui, tok.AccountID, tok.Scopes, tok.EmergencyID); err != nil {
		return err
	}
	resp.SetUserInfo(ui)
	resp.Scope = tok.Scopes
	resp.ClientID = tok.ClientID
	resp.TokenType = zoidc.BearerToken
	resp.Expiration = zoidc.FromTime(tok.ExpiresAt)
	resp.IssuedAt = zoidc.FromTime(tok.CreatedAt)
	resp.AuthTime = zoidc.FromTime(tok.AuthTime)
	resp.AuthenticationMethodsReferences = tok.AMR
	resp.Subject = tok.AccountID
	resp.Audience = []string{tok.ClientID}
	resp.Issuer = a.p.issuer
	resp.JWTID = tok.ID
	return nil
}

func (a *adapter) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: no client authenticates with a key (JWT profile
// and private_key_jwt are not offered).
func (a *adapter) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidc: client keys are not supported")
}

func (a *adapter) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oidc: the JWT profile grant is not supported")
}

// --- keys ---

func (a *adapter) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := "RS256"
	if st := stateFrom(ctx); st != nil && st.alg == "ES256" && slices.Contains(a.p.cfg.KeyAlgorithms, "ES256") {
		alg = "ES256"
	}
	return a.p.keys.signer(ctx, alg)
}

func (a *adapter) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	out := make([]jose.SignatureAlgorithm, 0, len(a.p.cfg.KeyAlgorithms))
	for _, alg := range a.p.cfg.KeyAlgorithms {
		out = append(out, jose.SignatureAlgorithm(alg))
	}
	return out, nil
}

func (a *adapter) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := a.p.keys.all(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		// A first start: make the keys so the set is never empty.
		if _, err := a.p.keys.signer(ctx, "RS256"); err != nil {
			return nil, err
		}
		if keys, err = a.p.keys.all(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, publicKey{id: k.id, alg: k.alg, pub: k.priv.Public()})
	}
	return out, nil
}

func (a *adapter) Health(ctx context.Context) error { return a.p.store.Ready(ctx) }

// recordAudit writes one provider event in tx.
func recordAudit(ctx context.Context, tx storage.Store, ev storage.AuditEvent) error {
	return audit.Record(ctx, tx, ev)
}
