package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/session"
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
	return PathLogoutAsk + "?" + url.Values{"r": {req.RedirectURI}, "sig": {p.sign(req.RedirectURI)}}.Encode(), nil
}

// sign binds a validated return URL to the confirmation page, so the page
// cannot be used to redirect anywhere else.
func (p *Provider) sign(s string) string {
	m := hmac.New(sha256.New, p.signKey)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *Provider) signed(s, sig string) bool { return hmac.Equal([]byte(p.sign(s)), []byte(sig)) }

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out</title></head>
<body><main>
<h1>Sign out of Gatehouse?</h1>
<p>An app asked to sign you out. You're signed in as {{.Email}}.</p>
<form method="post" action="/oidc/logout">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="r" value="{{.Return}}">
<input type="hidden" name="sig" value="{{.Sig}}">
<button type="submit">Sign out</button>
</form>
<p><a href="{{.Return}}">Stay signed in</a></p>
</main></body></html>
`))

// logoutAsk shows the confirmation for a logout request without a
// matching id_token_hint.
func (p *Provider) logoutAsk(w http.ResponseWriter, r *http.Request) {
	ret, sig := r.URL.Query().Get("r"), r.URL.Query().Get("sig")
	if !p.signed(ret, sig) {
		p.fail(w, http.StatusBadRequest, "This sign-out link is not valid.")
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = logoutPage.Execute(w, map[string]string{"Email": v.Account.Email, "CSRF": httpserver.CSRFToken(r), "Return": ret, "Sig": sig})
}

// logoutConfirm signs the browser out after the person confirmed (the
// CSRF middleware has checked the form came from the page).
func (p *Provider) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	ret, sig := r.PostFormValue("r"), r.PostFormValue("sig")
	if !p.signed(ret, sig) {
		p.fail(w, http.StatusBadRequest, "This sign-out link is not valid.")
		return
	}
	if tok := p.sessions.TokenFromRequest(r); tok != "" {
		if err := p.sessions.Logout(r.Context(), tok); err != nil && !errors.Is(err, session.ErrInvalid) {
			p.log.WarnContext(r.Context(), "oidc: sign-out", "err", err)
		}
	}
	p.sessions.ClearCookie(w)
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
