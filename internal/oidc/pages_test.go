package oidc_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// page is the text a person reads on an HTML answer (tags dropped,
// entities decoded), after checking it is a page.
func pageText(t *testing.T, what, body string) string {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(body), "<!doctype html>") {
		t.Fatalf("%s: not a page:\n%s", what, body)
	}
	var b strings.Builder
	in := false
	for _, r := range body {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// The refusals a person sees at Gatehouse are pages in plain words with
// the right status, never a redirect to an address the app did not
// register, and never the protocol's internals.
func TestProviderRefusalPages(t *testing.T) {
	g := start(t)
	rp := relyingParty(t)
	app := g.registerAt(rp.URL)
	b := g.browser()
	cases := []struct {
		name, target string
		status       int
		says         string
	}{
		{"unknown client", authorizeURL(g, "no-such-client", rp.URL+"/callback"), http.StatusBadRequest, "This app isn't registered"},
		{"no client", "/oidc/authorize?response_type=code&scope=openid", http.StatusBadRequest, "This sign-in link is incomplete"},
		{"redirect URI with a trailing slash", authorizeURL(g, app.ClientID, rp.URL+"/callback/"), http.StatusBadRequest,
			appName + " asked to send you back to an address that isn't registered for it"},
		{"unknown sign-in request", "/oidc/login?id=nope", http.StatusBadRequest, "This sign-in has expired"},
		{"unknown callback", "/oidc/authorize/callback?id=nope", http.StatusBadRequest, "This sign-in has expired"},
		{"sign-out to an unregistered address", "/oidc/end_session?" + url.Values{"client_id": {app.ClientID},
			"post_logout_redirect_uri": {"https://evil.example/bye"}}.Encode(), http.StatusBadRequest, "This sign-out request isn't valid"},
		{"forged sign-out link", "/oidc/logout?" + url.Values{"r": {"https://evil.example/"}, "sig": {"AAAA"}}.Encode(),
			http.StatusBadRequest, "This sign-out link doesn't work"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, loc, body := b.do(http.MethodGet, c.target, nil)
			if status != c.status || loc != "" {
				t.Fatalf("%d → %q, want %d and no redirect", status, loc, c.status)
			}
			text := pageText(t, c.name, body)
			if !strings.Contains(text, c.says) {
				t.Errorf("the page says %q, want %q", text, c.says)
			}
			for _, internal := range []string{"redirect_uri", "client_id", "invalid_request", "unable to retrieve", "evil.example"} {
				if strings.Contains(text, internal) {
					t.Errorf("the page shows %q: %q", internal, text)
				}
			}
		})
	}
	// The app's name is text, never markup.
	_, _, body := b.do(http.MethodGet, authorizeURL(g, app.ClientID, rp.URL+"/nope"), nil)
	if strings.Contains(body, "<Docs>") || !strings.Contains(body, "Team Wiki &amp; &lt;Docs&gt;") {
		t.Errorf("the app's name is not escaped:\n%s", body)
	}
}

// The sign-in pages name the app only from a live request of the
// registry: a return_to that names none, or another path with a real id,
// shows the organization as before.
func TestSignInPagesNameTheApp(t *testing.T) {
	g := start(t)
	rp := relyingParty(t)
	app := g.registerAt(rp.URL)
	b := g.browser()
	status, loc, _ := b.do(http.MethodGet, authorizeURL(g, app.ClientID, rp.URL+"/callback"), nil)
	if status != http.StatusFound {
		t.Fatalf("authorize: %d", status)
	}
	_, loc, _ = b.do(http.MethodGet, loc, nil) // the glue sends the browser to /login
	u, _ := url.Parse(loc)
	returnTo := u.Query().Get("return_to")
	id, _ := url.Parse(returnTo)

	for _, c := range []struct {
		name, returnTo, want string
	}{
		{"the app's request", returnTo, "to continue to " + appName},
		{"an unknown request", "/oidc/login?id=forged", "to continue to Corp"},
		{"another path with the request's id", "/account?id=" + id.Query().Get("id"), "to continue to Corp"},
	} {
		_, _, body := b.do(http.MethodGet, "/login?"+url.Values{"return_to": {c.returnTo}}.Encode(), nil)
		if text := pageText(t, c.name, body); !strings.Contains(text, c.want) {
			t.Errorf("%s: the page says %q, want %q", c.name, text, c.want)
		}
	}
}

// A signed-in person whom the app cannot take as they are is told why
// on the sign-in page: the app wants a fresh sign-in, or an account of
// its own organization.
func TestAppReauthSentences(t *testing.T) {
	g := start(t)
	rp := relyingParty(t)
	app := g.registerAt(rp.URL)
	other, err := g.App.Accounts.CreateOrganization(g.Admin, "Globex", "globex")
	if err != nil {
		t.Fatal(err)
	}
	const bob = "bob@globex.example"
	if _, err := g.App.Accounts.AddMember(g.Admin, other.ID, account.MemberInput{Email: bob, Role: storage.RoleMember, Password: password}); err != nil {
		t.Fatal(err)
	}

	signInPage := func(b *browser, extra url.Values) string {
		t.Helper()
		q, _ := url.ParseQuery(strings.SplitN(authorizeURL(g, app.ClientID, rp.URL+"/callback"), "?", 2)[1])
		for k, v := range extra {
			q[k] = v
		}
		_, loc, _ := b.do(http.MethodGet, "/oidc/authorize?"+q.Encode(), nil)
		_, loc, _ = b.do(http.MethodGet, loc, nil)
		if !strings.Contains(loc, "reauth=app") {
			t.Fatalf("the glue sent a signed-in browser to %q", loc)
		}
		_, _, body := b.do(http.MethodGet, loc, nil)
		return body
	}

	// Ada is signed in; the app asks for a fresh sign-in.
	ada := g.browser()
	ada.signIn("/account")
	body := signInPage(ada, url.Values{"prompt": {"login"}})
	if text := pageText(t, "prompt=login", body); !strings.Contains(text, "For your security, "+appName+" asks you to sign in again.") {
		t.Errorf("prompt=login: the page says %q", text)
	}
	if !strings.Contains(body, `value="`+email+`"`) {
		t.Error("prompt=login: the page does not offer the signed-in address")
	}

	// Bob of Globex is signed in; the app is Corp's.
	bb := g.browser()
	_, _, _ = bb.do(http.MethodGet, "/login", nil)
	form := url.Values{"email": {bob}, "method": {"password"}, "return_to": {"/account"}, "csrf_token": {bb.cookie("gatehouse_csrf")}}
	_, _, pg := bb.do(http.MethodPost, "/login", form)
	form = url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(pg, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	form.Set("password", password)
	if status, _, _ := bb.do(http.MethodPost, "/login/password", form); status != http.StatusSeeOther {
		t.Fatalf("Bob's sign-in: %d", status)
	}
	body = signInPage(bb, nil)
	want := "You're signed in as " + bob + ", but " + appName + " is for Corp accounts. Sign in with your Corp account to continue."
	if text := pageText(t, "other organization", body); !strings.Contains(text, want) {
		t.Errorf("another organization: the page says %q", text)
	}
	if strings.Contains(body, `value="`+bob+`"`) {
		t.Error("another organization: the page offers the address the app cannot take")
	}
}
