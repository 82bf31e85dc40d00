package oidc

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// authRequest is a stored authorization request as op sees it.
type authRequest struct {
	rec storage.OIDCAuthRequest
	req zoidc.AuthRequest
}

var _ op.AuthRequest = (*authRequest)(nil)

func loadAuthRequest(rec storage.OIDCAuthRequest) (*authRequest, error) {
	a := &authRequest{rec: rec}
	if err := json.Unmarshal(rec.Request, &a.req); err != nil {
		return nil, fmt.Errorf("oidc: auth request %s: %w", rec.ID, err)
	}
	return a, nil
}

func (a *authRequest) GetID() string          { return a.rec.ID }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return slices.Clone(a.rec.AMR) }
func (a *authRequest) GetAudience() []string  { return []string{a.rec.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.rec.AuthTime }
func (a *authRequest) GetClientID() string    { return a.rec.ClientID }
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                    { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string              { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() zoidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() zoidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                 { return slices.Clone(a.req.Scopes) }
func (a *authRequest) GetState() string                    { return a.req.State }
func (a *authRequest) GetSubject() string                  { return a.rec.AccountID }
func (a *authRequest) Done() bool                          { return !a.rec.DoneAt.IsZero() }
func (a *authRequest) emergencyID() string                 { return a.rec.EmergencyID }
func (a *authRequest) sessionID() string                   { return a.rec.SessionID }

// refreshRequest is a presented refresh token as op sees it.
type refreshRequest struct {
	tok    storage.OIDCToken
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return slices.Clone(r.tok.AMR) }
func (r *refreshRequest) GetAudience() []string       { return []string{r.tok.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.tok.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.tok.ClientID }
func (r *refreshRequest) GetScopes() []string         { return slices.Clone(r.scopes) }
func (r *refreshRequest) GetSubject() string          { return r.tok.AccountID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = slices.Clone(s) }
func (r *refreshRequest) emergencyID() string         { return r.tok.EmergencyID }
func (r *refreshRequest) sessionID() string           { return r.tok.SessionID }

// signIn is what both kinds of request know about the sign-in behind them.
type signIn interface {
	emergencyID() string
	sessionID() string
}
