package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// login is where op sends the browser with a new authorization request
// (/oidc/login?id=…). It never authenticates anyone: it uses the browser's
// Gatehouse session, or sends the browser to /login, which comes back here
// once the sign-in engine has issued one.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	rec, err := p.store.GetOIDCAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		p.problem(w, r, unknownRequest())
		return
	}
	if err == nil && !p.now().Before(rec.ExpiresAt) {
		app, err := p.apps.ByClientID(ctx, rec.ClientID)
		p.problem(w, r, expiredRequest(app, err == nil))
		return
	}
	if err != nil {
		p.serverError(w, r, "load auth request", err)
		return
	}
	ar, err := loadAuthRequest(rec)
	if err != nil {
		p.serverError(w, r, "load auth request", err)
		return
	}
	if ar.Done() {
		http.Redirect(w, r, callbackPath(id), http.StatusSeeOther)
		return
	}
	app, err := p.apps.ByClientID(ctx, rec.ClientID)
	if err != nil {
		// The app was deleted mid-sign-in: its redirect URI is no longer
		// registered, so the error is not sent there.
		p.problem(w, r, page.Problem{Status: http.StatusBadRequest, OrgID: rec.OrgID,
			Heading: "This app isn't registered any more",
			Message: "The app you were signing in to was removed from Gatehouse while you were signing in, so you can't continue to it. " +
				"If you think it should still be there, ask your admin."})
		return
	}
	v, signedIn, err := p.browserSession(r)
	if err != nil {
		p.serverError(w, r, "validate session", err)
		return
	}
	if !signedIn || !p.usable(v, rec, ar) {
		if slices.Contains(ar.req.Prompt, zoidc.PromptNone) {
			op.AuthRequestError(w, r, ar, zoidc.ErrLoginRequired(), p.op)
			return
		}
		http.Redirect(w, r, signInURL(id, ar.req.LoginHint, signedIn), http.StatusSeeOther)
		return
	}
	groups, err := p.store.ListAccountGroups(ctx, v.Account.ID)
	if err != nil {
		p.serverError(w, r, "list groups", err)
		return
	}
	if !apps.Admits(app, groups) {
		op.AuthRequestError(w, r, ar, zoidc.ErrAccessDenied().WithDescription("you are not in a group this app admits"), p.op)
		return
	}
	if err := p.complete(ctx, rec, app, v); err != nil && !errors.Is(err, storage.ErrConflict) {
		p.serverError(w, r, "complete auth request", err)
		return
	}
	http.Redirect(w, r, callbackPath(id), http.StatusSeeOther)
}

// usable reports whether the browser's session may answer the request:
// an account of the app's organization, the one an id_token_hint names,
// and recent enough for max_age (prompt=login arrives as max_age=0). A
// session begun after the request was made always is: the person has
// just signed in for it, and an IdP that vouched for an older
// authentication of its own must not send them round in circles.
func (p *Provider) usable(v session.Validated, rec storage.OIDCAuthRequest, ar *authRequest) bool {
	if v.Account.OrgID != rec.OrgID || (rec.HintSubject != "" && rec.HintSubject != v.Account.ID) {
		return false
	}
	if !v.Session.CreatedAt.Before(rec.CreatedAt) {
		return true
	}
	if ar.req.MaxAge != nil && p.now().Sub(v.Session.AuthTime) > time.Duration(*ar.req.MaxAge)*time.Second {
		return false
	}
	return true
}

// complete records the sign-in on the request and audits app.signin, in
// one transaction.
func (p *Provider) complete(ctx context.Context, rec storage.OIDCAuthRequest, app storage.App, v session.Validated) error {
	now := storage.Truncate(p.now())
	s := v.Session
	return p.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CompleteOIDCAuthRequest(ctx, rec.ID, storage.OIDCAuthRequest{DoneAt: now, AccountID: v.Account.ID,
			SessionID: s.ID, AuthTime: s.AuthTime, AMR: v.Methods(), EmergencyID: s.EmergencyID}); err != nil {
			return err
		}
		details := map[string]string{"client_id": app.ClientID, "session_id": s.ID, "amr": strings.Join(s.AMR, " ")}
		if s.EmergencyID != "" {
			details["emergency_id"] = s.EmergencyID
		}
		return recordAudit(ctx, tx, storage.AuditEvent{OrgID: app.OrgID, Time: now, ActorType: "account",
			ActorID: v.Account.ID, ActorEmail: v.Account.Email, Action: "app.signin", TargetType: "app",
			TargetID: app.ID, Outcome: "success", Details: details})
	})
}

// callback hands a completed request to op, which issues the code. Only
// the browser whose session completed the request may collect it: a
// request started by someone else and completed by a victim who followed
// their link must not deliver the victim's code to them.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	rec, err := p.store.GetOIDCAuthRequest(r.Context(), r.URL.Query().Get("id"))
	if err == nil && !rec.DoneAt.IsZero() {
		v, ok, err := p.browserSession(r)
		if err != nil {
			p.serverError(w, r, "validate session", err)
			return
		}
		if !ok || v.Session.ID != rec.SessionID {
			p.problem(w, r, page.Problem{Status: http.StatusForbidden, Heading: "This sign-in can't be finished here",
				Message: "It was made in another browser, or you have signed out since. " + msgStartAgain})
			return
		}
	}
	op.AuthorizeCallback(w, r, p.op)
}

// browserSession is the Gatehouse session of the browser, if any.
func (p *Provider) browserSession(r *http.Request) (session.Validated, bool, error) {
	tok := p.sessions.TokenFromRequest(r)
	if tok == "" {
		return session.Validated{}, false, nil
	}
	v, err := p.sessions.Validate(r.Context(), tok)
	if errors.Is(err, session.ErrInvalid) {
		return session.Validated{}, false, nil
	}
	if err != nil {
		return session.Validated{}, false, err
	}
	return v, true, nil
}

func callbackPath(id string) string { return PathCallback + "?id=" + url.QueryEscape(id) }

// signInURL is the login page, coming back to the request. With a session
// already there (of another organization, too old, or not the hinted
// account) it asks for a fresh sign-in (reauth=app), which replaces it.
func signInURL(id, loginHint string, signedIn bool) string {
	q := url.Values{"return_to": {PathLogin + "?id=" + url.QueryEscape(id)}}
	if signedIn {
		q.Set("reauth", "app")
	}
	if h := strings.TrimSpace(loginHint); h != "" && len(h) <= 320 {
		q.Set("email", h)
	}
	return "/login?" + q.Encode()
}

// serverError logs what failed and shows the person the error page with
// the request ID, nothing of the failure itself.
func (p *Provider) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.log.ErrorContext(r.Context(), "oidc: "+what, "err", err)
	p.problem(w, r, page.Problem{Status: http.StatusInternalServerError,
		Message: "Something went wrong on our side. Try again in a moment."})
}
