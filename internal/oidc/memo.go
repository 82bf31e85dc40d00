package oidc

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// One grant asks the same questions several times: op looks the client
// up for the client, again for its secret, and Gatehouse checks the app
// and the session behind the presented token and again behind the new
// tokens, then reads the account for the claims. Within one request the
// answers are the same lookup a few microseconds apart, so each is asked
// of storage once per request and kept on the request's state; nothing is
// kept across requests, so every grant still sees a deleted app, a
// revoked session or a disabled account.

// appByClientID is apps.ByClientID, once per request.
func (p *Provider) appByClientID(ctx context.Context, clientID string) (storage.App, error) {
	st := stateFrom(ctx)
	if st != nil && st.app != nil && st.app.ClientID == clientID {
		return *st.app, nil
	}
	app, err := p.apps.ByClientID(ctx, clientID)
	if err != nil {
		return storage.App{}, err
	}
	if st != nil {
		st.app = &app
	}
	return app, nil
}

// validateSession is session.ValidateID, once per request. Only a live
// session is kept.
func (p *Provider) validateSession(ctx context.Context, id string) (session.Validated, error) {
	st := stateFrom(ctx)
	if st != nil && st.sess != nil && st.sess.Session.ID == id {
		return *st.sess, nil
	}
	v, err := p.sessions.ValidateID(ctx, id)
	if err != nil {
		return session.Validated{}, err
	}
	if st != nil {
		st.sess = &v
	}
	return v, nil
}

// account returns the account for claims: the one validated with the
// request's session when it is that account, else storage's.
func (p *Provider) account(ctx context.Context, id string) (storage.Account, error) {
	if st := stateFrom(ctx); st != nil && st.sess != nil && st.sess.Account.ID == id {
		return st.sess.Account, nil
	}
	return p.store.GetAccount(ctx, id)
}
