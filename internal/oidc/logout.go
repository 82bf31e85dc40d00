package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// endSession ends the browser's Gatehouse session for RP-initiated logout
// when the id_token_hint names its account; op has already checked the
// hint's signature and post_logout_redirect_uri against the app's list.
// Without a matching hint anyone could sign a person out with a link, so
// the person is asked first.
func (p *Provider) endSession(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	st := stateFrom(ctx)
	if st == nil {
		return req.RedirectURI, nil
	}
	v, ok, err := p.browserSession(st.r)
	if err != nil {
		return "", err
	}
	if !ok {
		return req.RedirectURI, nil
	}
	if req.IDTokenHintClaims != nil && req.UserID == v.Account.ID {
		if err := p.sessions.Logout(ctx, p.sessions.TokenFromRequest(st.r)); err != nil {
			return "", err
		}
		p.sessions.ClearCookie(st.w)
		return req.RedirectURI, nil
	}
	return PathLogoutAsk + "?" + url.Values{"c": {req.ClientID}, "r": {req.RedirectURI},
		"sig": {p.sign(req.ClientID, req.RedirectURI)}}.Encode(), nil
}

// sign binds a validated return URL, and the app that asked (named on the
// page), to the confirmation page, so the page can neither redirect
// anywhere else nor be made to name another app.
func (p *Provider) sign(clientID, ret string) string {
	m := hmac.New(sha256.New, p.signKey)
	m.Write([]byte(url.Values{"c": {clientID}, "r": {ret}}.Encode()))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *Provider) signed(clientID, ret, sig string) bool {
	return hmac.Equal([]byte(p.sign(clientID, ret)), []byte(sig))
}

// badLogoutLink: a confirmation link or form that was not made here.
func badLogoutLink() page.Problem {
	return page.Problem{Status: http.StatusBadRequest, Heading: "This sign-out link doesn't work",
		Message: "It was changed or damaged on the way, so nothing was changed: if you were signed in, you still are. " +
			"You can sign out from your account page.", LinkHref: "/account", LinkText: "Go to your account"}
}

// logoutForm is the confirmation page's own data: what the form posts
// back, all of it checked again by logoutConfirm.
type logoutForm struct {
	Client, Return, Sig string
}

// logoutAsk shows the confirmation for a logout request without a
// matching id_token_hint.
func (p *Provider) logoutAsk(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ret, sig := q.Get("c"), q.Get("r"), q.Get("sig")
	if !p.signed(c, ret, sig) {
		p.problem(w, r, badLogoutLink())
		return
	}
	v, ok, err := p.browserSession(r)
	if err != nil {
		p.serverError(w, r, "validate session", err)
		return
	}
	if !ok {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	rend := p.renderer()
	view := &page.View{Title: "Sign out", Org: rend.OrgName(r.Context(), &v.Account), Email: v.Account.Email,
		LinkHref: ret, LinkText: "Cancel", OIDC: logoutForm{Client: c, Return: ret, Sig: sig}}
	if c != "" {
		if app, err := p.apps.ByClientID(r.Context(), c); err == nil {
			view.App = app.Name
		}
	}
	if ret == p.op.DefaultLogoutRedirectURI() {
		// No app address to go back to: staying signed in is staying here.
		view.LinkHref = "/account"
	}
	w.Header().Set("Cache-Control", "no-store")
	rend.Render(w, r, oidcPages, http.StatusOK, "logout", view)
}

// logoutConfirm signs the browser out after the person confirmed (the
// CSRF middleware has checked the form came from the page).
func (p *Provider) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	c, ret, sig := r.PostFormValue("c"), r.PostFormValue("r"), r.PostFormValue("sig")
	if !p.signed(c, ret, sig) {
		p.problem(w, r, badLogoutLink())
		return
	}
	// Who is signing out, for the organization's name on the next page.
	var acct *storage.Account
	if v, ok, err := p.browserSession(r); err == nil && ok {
		acct = &v.Account
	}
	if tok := p.sessions.TokenFromRequest(r); tok != "" {
		if err := p.sessions.Logout(r.Context(), tok); err != nil && !errors.Is(err, session.ErrInvalid) {
			p.log.WarnContext(r.Context(), "oidc: sign-out", "err", err)
		}
	}
	p.sessions.ClearCookie(w)
	if strings.HasPrefix(ret, p.issuer+"/") {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	// Back to the app, on another origin: Chrome applies this form's CSP
	// form-action 'self' to a redirect that follows its submission, so the
	// browser goes on by a page that refreshes itself (a new navigation)
	// and links there too. ret is an address the app registered for
	// after sign-out (op checked it; the signature binds it here).
	rend := p.renderer()
	view := &page.View{Title: "Signed out", Org: rend.OrgName(r.Context(), acct), Refresh: ret,
		LinkHref: ret, LinkText: "Continue"}
	if c != "" {
		if app, err := p.apps.ByClientID(r.Context(), c); err == nil {
			view.App, view.LinkText = app.Name, "Back to "+app.Name
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	rend.Render(w, r, oidcPages, http.StatusOK, "signedout", view)
}
