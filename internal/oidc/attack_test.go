package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TestAttacks is what an attacker tries against the provider: each
// subtest is one attack, and passes when the provider refuses it.
func TestAttacks(t *testing.T) {
	g0 := startClocked(t)
	wiki := g0.app(g0.org.ID, apps.Input{Name: "Wiki", Scopes: []string{"profile", "email", "offline_access"}})
	blog := g0.app(g0.org.ID, apps.Input{Name: "Blog", Scopes: []string{"email", "offline_access"}})
	spa := g0.app(g0.org.ID, apps.Input{Name: "SPA", Public: true, Scopes: []string{"email"}})
	attack := func(name string, fn func(t *testing.T, g *clocked)) {
		t.Run(name, func(t *testing.T) { fn(t, g0.in(t)) })
	}

	attack("redirect URI mismatch", func(t *testing.T, g *clocked) {
		for _, uri := range []string{
			rpCallback + "/",                        // trailing slash
			"https://RP.example.test/callback",      // host case
			"https://rp.example.test/Callback",      // path case
			"HTTPS://rp.example.test/callback",      // scheme case
			rpCallback + "?next=https://evil.test",  // extra query
			rpCallback + "#frag",                    // fragment
			"https://rp.example.test:8443/callback", // another port
			"https://rp.example.test:443/callback",  // the default port, spelled out
			"http://rp.example.test/callback",       // http for https
			"https://rp.example.test.evil/callback", // a suffix on the host
			"https://rp.example.test/callback/../x", // a path that leaves
			"https://evil.test/?https://rp.example.test/callback",
			"//evil.test/callback",
			"",
		} {
			q, _ := authQuery(wiki.ClientID, "openid")
			q.Set("redirect_uri", uri)
			w := g.browser().walk("/oidc/authorize?"+q.Encode(), true)
			if w.status != http.StatusBadRequest || !strings.HasPrefix(w.final, "/oidc/authorize") || len(w.logins) != 0 {
				t.Errorf("redirect_uri %q: %d, ended at %s", uri, w.status, w.final)
			}
		}
		// At the token endpoint, the code's redirect_uri must be the one
		// it was issued for.
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		status, out := g.form("/oidc/token", wiki.ClientID, wiki.SecretHash, url.Values{"grant_type": {"authorization_code"},
			"code": {w.code()}, "redirect_uri": {rpCallback + "/"}, "code_verifier": {v}})
		if status == http.StatusOK {
			t.Errorf("a code was redeemed with another redirect_uri: %v", out)
		}
	})

	attack("missing and wrong PKCE verifier, plain refused", func(t *testing.T, g *clocked) {
		for _, a := range []storage.App{wiki, spa} {
			q, v := authQuery(a.ClientID, "openid")
			w := g.browser().authorize(q)
			if status, out := g.redeem(a, w.code(), ""); status == http.StatusOK {
				t.Errorf("%s: redeemed without the verifier: %v", a.Name, out)
			}
			if status, out := g.redeem(a, w.code(), oauth2Verifier()); status == http.StatusOK {
				t.Errorf("%s: redeemed with a wrong verifier: %v", a.Name, out)
			}
			if status, out := g.redeem(a, w.code(), q.Get("code_challenge")); status == http.StatusOK {
				t.Errorf("%s: redeemed with the challenge as verifier: %v", a.Name, out)
			}
			if status, out := g.redeem(a, w.code(), v); status != http.StatusOK {
				t.Errorf("%s: the rightful redemption failed after the attempts: %d %v", a.Name, status, out)
			}
		}
		for _, method := range []string{"plain", "", "S512"} {
			q, v := authQuery(wiki.ClientID, "openid")
			q.Set("code_challenge", v)
			q.Set("code_challenge_method", method)
			w := g.browser().authorize(q)
			if w.code() != "" || w.query().Get("error") != "invalid_request" {
				t.Errorf("code_challenge_method %q: ended at %s", method, w.final)
			}
		}
		// A public client must use PKCE at all.
		q, _ := authQuery(spa.ClientID, "openid")
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		if w := g.browser().authorize(q); w.code() != "" {
			t.Errorf("a public client got a code without PKCE: %s", w.final)
		}
	})

	attack("authorization code replay revokes what the code issued", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid email offline_access")
		w := g.browser().authorize(q)
		status, tok := g.redeem(wiki, w.code(), v)
		if status != http.StatusOK || str(tok, "refresh_token") == "" {
			t.Fatalf("first redemption: %d %v", status, tok)
		}
		if !g.introspect(wiki, str(tok, "access_token")) {
			t.Fatal("a fresh access token introspected inactive")
		}
		if status, out := g.redeem(wiki, w.code(), v); status == http.StatusOK {
			t.Fatalf("second redemption: %v", out)
		}
		if status, _ := g.userinfo(str(tok, "access_token")); status != http.StatusUnauthorized {
			t.Errorf("userinfo with the first redemption's access token: %d", status)
		}
		if g.introspect(wiki, str(tok, "access_token")) {
			t.Error("introspection: the first redemption's access token is active")
		}
		if status, out := g.refresh(wiki, str(tok, "refresh_token")); status == http.StatusOK {
			t.Errorf("refresh with the first redemption's refresh token: %v", out)
		}
	})

	attack("refresh token reuse revokes the whole family", func(t *testing.T, g *clocked) {
		tok := g.signedIn(g.browser(), wiki, "openid email offline_access")
		r1 := str(tok, "refresh_token")
		_, second := g.refresh(wiki, r1)
		r2 := str(second, "refresh_token")
		_, third := g.refresh(wiki, r2)
		if str(third, "refresh_token") == "" {
			t.Fatalf("rotation: %v", third)
		}
		if status, out := g.refresh(wiki, r1); status == http.StatusOK {
			t.Fatalf("a rotated refresh token was accepted again: %v", out)
		}
		if status, out := g.refresh(wiki, str(third, "refresh_token")); status == http.StatusOK {
			t.Errorf("the family's newest refresh token still works after reuse: %v", out)
		}
		for i, at := range []string{str(tok, "access_token"), str(second, "access_token"), str(third, "access_token")} {
			if status, _ := g.userinfo(at); status != http.StatusUnauthorized {
				t.Errorf("access token %d of the family still works at userinfo: %d", i, status)
			}
			if g.introspect(wiki, at) {
				t.Errorf("access token %d of the family introspects active", i)
			}
		}
	})

	attack("a code redeemed concurrently is issued at most once", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		const n = 8
		ok := make(chan bool, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/oidc/token", strings.NewReader(url.Values{
					"grant_type": {"authorization_code"}, "code": {w.code()}, "redirect_uri": {rpCallback}, "code_verifier": {v}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(wiki.ClientID, wiki.SecretHash)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					ok <- false
					return
				}
				res.Body.Close()
				ok <- res.StatusCode == http.StatusOK
			}()
		}
		wg.Wait()
		close(ok)
		wins := 0
		for won := range ok {
			if won {
				wins++
			}
		}
		if wins > 1 {
			t.Errorf("one code was redeemed %d times", wins)
		}
	})

	attack("expired code", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		g.clock.Advance(time.Minute + time.Second)
		if status, out := g.redeem(wiki, w.code(), v); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("a code a minute old: %d %v", status, out)
		}
	})

	attack("wrong client secret", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		f := url.Values{"grant_type": {"authorization_code"}, "code": {w.code()}, "redirect_uri": {rpCallback}, "code_verifier": {v}}
		for _, secret := range []string{"", "ghs_wrong", blog.SecretHash, wiki.SecretHash + "x", strings.ToUpper(wiki.SecretHash)} {
			if status, out := g.form("/oidc/token", wiki.ClientID, secret, f); status == http.StatusOK {
				t.Errorf("secret %q accepted: %v", secret, out)
			}
		}
		// client_secret_post with a wrong secret, and a confidential
		// client naming itself without any secret (as a public one would).
		for _, secret := range []string{"ghs_wrong", ""} {
			g2 := url.Values{"client_id": {wiki.ClientID}, "client_secret": {secret}}
			for k, v := range f {
				g2[k] = v
			}
			if secret == "" {
				g2.Del("client_secret")
			}
			if status, out := g.form("/oidc/token", "", "", g2); status == http.StatusOK {
				t.Errorf("client_secret_post %q accepted: %v", secret, out)
			}
		}
		if status, _ := g.redeem(wiki, w.code(), v); status != http.StatusOK {
			t.Error("the rightful redemption failed after the attempts")
		}
	})

	attack("client A's code redeemed by client B", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		if status, out := g.redeem(blog, w.code(), v); status == http.StatusOK {
			t.Fatalf("Blog redeemed Wiki's code: %v", out)
		}
		// A public client naming the confidential one's code.
		if status, out := g.redeem(spa, w.code(), v); status == http.StatusOK {
			t.Fatalf("SPA redeemed Wiki's code: %v", out)
		}
	})

	attack("a public client authenticating with a client secret", func(t *testing.T, g *clocked) {
		q, v := authQuery(spa.ClientID, "openid")
		w := g.browser().authorize(q)
		f := url.Values{"grant_type": {"authorization_code"}, "code": {w.code()}, "redirect_uri": {rpCallback}, "code_verifier": {v}}
		for _, secret := range []string{"anything", wiki.SecretHash} {
			if status, out := g.form("/oidc/token", spa.ClientID, secret, f); status == http.StatusOK {
				t.Errorf("a public client authenticated with secret %q: %v", secret, out)
			}
		}
		if status, out := g.form("/oidc/introspect", spa.ClientID, "anything", url.Values{"token": {"x"}}); status == http.StatusOK && out["active"] == true {
			t.Errorf("a public client introspected: %v", out)
		}
	})

	attack("forged tokens: alg none and HS256 with the public key", func(t *testing.T, g *clocked) {
		b := g.browser()
		real := g.signedIn(b, wiki, "openid email")
		acct := g.account(email)
		now := g.clock.Now()
		claims := map[string]any{"iss": g.URL, "sub": acct.ID, "aud": []string{wiki.ClientID}, "azp": wiki.ClientID,
			"client_id": wiki.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
			"auth_time": now.Unix(), "jti": "forged", "scope": "openid email"}
		forged := forgeries(t, g, claims)
		for name, tok := range forged {
			if status, out := g.userinfo(tok); status != http.StatusUnauthorized {
				t.Errorf("%s as a bearer token at userinfo: %d %v", name, status, out)
			}
			if g.introspect(wiki, tok) {
				t.Errorf("%s introspects active", name)
			}
			// As an id_token_hint naming the signed-in account with
			// prompt=none: refused, not answered with a code.
			q, _ := authQuery(wiki.ClientID, "openid")
			q.Set("prompt", "none")
			q.Set("id_token_hint", tok)
			if w := b.walk("/oidc/authorize?"+q.Encode(), false); w.code() != "" {
				t.Errorf("%s as id_token_hint: a code was issued", name)
			}
			// At logout, a hint that verified would sign the person out
			// without asking.
			status, loc, _ := b.do(http.MethodGet, "/oidc/end_session?"+url.Values{"id_token_hint": {tok},
				"post_logout_redirect_uri": {rpLoggedOut}, "client_id": {wiki.ClientID}}.Encode(), nil)
			if strings.HasPrefix(loc, rpLoggedOut) {
				t.Errorf("%s as id_token_hint at logout: %d → %s", name, status, loc)
			}
			if _, err := g.App.Sessions.Validate(t.Context(), b.cookie(g.App.Sessions.CookieName())); err != nil {
				t.Fatalf("%s as id_token_hint at logout ended the session: %v", name, err)
			}
		}
		// The real ID token is no access token.
		if status, _ := g.userinfo(str(real, "id_token")); status != http.StatusUnauthorized {
			t.Errorf("the ID token as a bearer token at userinfo: %d", status)
		}
		if g.introspect(wiki, str(real, "id_token")) {
			t.Error("the ID token introspects active")
		}
	})

	attack("client B presents client A's refresh token", func(t *testing.T, g *clocked) {
		tok := g.signedIn(g.browser(), wiki, "openid email offline_access")
		rt := str(tok, "refresh_token")
		if status, out := g.refresh(blog, rt); status == http.StatusOK {
			t.Fatalf("Blog refreshed with Wiki's refresh token: %v", out)
		}
		g.form("/oidc/revoke", blog.ClientID, blog.SecretHash, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}})
		if status, out := g.refresh(wiki, rt); status != http.StatusOK {
			t.Fatalf("Wiki's refresh token stopped working after Blog's attempts: %d %v", status, out)
		}
	})

	attack("a code redeemed after the person signed out", func(t *testing.T, g *clocked) {
		b := g.browser()
		q, v := authQuery(wiki.ClientID, "openid")
		w := b.authorize(q)
		b.do(http.MethodPost, "/logout", url.Values{"csrf_token": {b.cookie("gatehouse_csrf")}})
		if status, out := g.redeem(wiki, w.code(), v); status == http.StatusOK {
			t.Errorf("a code outlived the sign-in it was issued for: %v", out)
		}
	})

	attack("refresh after the app lost offline_access", func(t *testing.T, g *clocked) {
		a := g.app(g.org.ID, apps.Input{Name: "Shrinking", Scopes: []string{"email", "offline_access"}})
		tok := g.signedIn(g.browser(), a, "openid email offline_access")
		in := apps.InputOf(a)
		in.Scopes = []string{"email"}
		if _, err := g.App.Apps.Update(g.Admin, g.org.ID, a.ID, in); err != nil {
			t.Fatal(err)
		}
		if status, out := g.refresh(a, str(tok, "refresh_token")); status == http.StatusOK {
			t.Errorf("refresh for an app no longer allowed offline_access: %v", out)
		}
	})

	attack("the issuer does not follow the Host header", func(t *testing.T, g *clocked) {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/.well-known/openid-configuration", nil)
		req.Host = "evil.test"
		req.Header.Set("X-Forwarded-Host", "evil.test")
		req.Header.Set("X-Forwarded-Proto", "https")
		_, doc := g.send(req)
		for k, v := range doc {
			if s, ok := v.(string); ok && strings.Contains(s, "evil.test") {
				t.Errorf("%s = %s", k, s)
			}
		}
	})

	attack("request_uri is never fetched and request objects are not trusted", func(t *testing.T, g *clocked) {
		hits := make(chan string, 10)
		rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits <- r.URL.String() }))
		defer rec.Close()
		q, _ := authQuery(wiki.ClientID, "openid")
		q.Set("request_uri", rec.URL+"/request.jwt")
		// An unsigned request object naming another redirect_uri.
		body, _ := json.Marshal(map[string]any{"client_id": wiki.ClientID, "redirect_uri": "https://evil.test/cb",
			"response_type": "code", "scope": "openid"})
		q.Set("request", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))+"."+base64.RawURLEncoding.EncodeToString(body)+".")
		w := g.browser().authorize(q)
		if strings.HasPrefix(w.final, "https://evil.test") {
			t.Errorf("a request object's redirect_uri was used: %s", w.final)
		}
		select {
		case u := <-hits:
			t.Errorf("the provider fetched request_uri %s", u)
		default:
		}
	})

	attack("a token for app A introspected by app B", func(t *testing.T, g *clocked) {
		tok := g.signedIn(g.browser(), wiki, "openid email")
		if g.introspect(blog, str(tok, "access_token")) {
			t.Error("Blog learnt that Wiki's access token is active")
		}
		if status, _ := g.form("/oidc/revoke", blog.ClientID, blog.SecretHash, url.Values{"token": {str(tok, "access_token")}}); status == http.StatusOK && !g.introspect(wiki, str(tok, "access_token")) {
			t.Error("Blog revoked Wiki's access token")
		}
		if !g.introspect(wiki, str(tok, "access_token")) {
			t.Error("Wiki's own token introspects inactive")
		}
	})

	// Every kind of end to the sign-in or the app ends the tokens at once.
	ends := map[string]func(t *testing.T, g *clocked, b *browser, a storage.App){
		"app deleted": func(t *testing.T, g *clocked, _ *browser, a storage.App) {
			if err := g.App.Apps.Delete(g.Admin, g.org.ID, a.ID); err != nil {
				t.Fatal(err)
			}
		},
		"account suspended": func(t *testing.T, g *clocked, _ *browser, _ storage.App) {
			acct := g.account("suspend-me@corp.example")
			if _, err := g.App.Accounts.SetStatus(g.Admin, g.org.ID, acct.ID, storage.StatusSuspended); err != nil {
				t.Fatal(err)
			}
		},
		"admin revoked the sessions": func(t *testing.T, g *clocked, _ *browser, _ storage.App) {
			acct := g.account("suspend-me@corp.example")
			if _, err := g.App.Sessions.RevokeAll(g.Admin, acct.ID, "", "test"); err != nil {
				t.Fatal(err)
			}
		},
		"signed out": func(t *testing.T, g *clocked, b *browser, _ storage.App) {
			status, loc, _ := b.do(http.MethodPost, "/logout", url.Values{"csrf_token": {b.cookie("gatehouse_csrf")}})
			if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Fatalf("sign-out: %d → %s", status, loc)
			}
		},
	}
	g0.member(g0.org.ID, "suspend-me@corp.example", "Suspended Person")
	for name, end := range ends {
		attack("tokens after "+name, func(t *testing.T, g *clocked) {
			if name == "account suspended" {
				// Reactivated below, so the other subtests can sign in.
				acct := g.account("suspend-me@corp.example")
				defer func() {
					if _, err := g.App.Accounts.SetStatus(g.Admin, g.org.ID, acct.ID, storage.StatusActive); err != nil {
						t.Fatal(err)
					}
				}()
			}
			a := g.app(g.org.ID, apps.Input{Name: "Doomed " + name, Scopes: []string{"email", "offline_access"}})
			b := g.browser()
			b.email = "suspend-me@corp.example"
			tok := g.signedIn(b, a, "openid email offline_access")
			if !g.introspect(a, str(tok, "access_token")) {
				t.Fatal("a fresh access token introspects inactive")
			}
			end(t, g, b, a)
			if status, _ := g.userinfo(str(tok, "access_token")); status != http.StatusUnauthorized {
				t.Errorf("userinfo: %d", status)
			}
			if status, out := g.form("/oidc/introspect", a.ClientID, a.SecretHash, url.Values{"token": {str(tok, "access_token")}}); out["active"] == true {
				t.Errorf("introspection: %d %v", status, out)
			}
			if status, out := g.refresh(a, str(tok, "refresh_token")); status == http.StatusOK {
				t.Errorf("refresh: %v", out)
			}
		})
	}

	attack("open redirects on return URLs", func(t *testing.T, g *clocked) {
		b := g.browser()
		hint := str(g.signedIn(b, wiki, "openid"), "id_token")
		evil := "https://evil.test/phish"
		// post_logout_redirect_uri not registered, with and without a hint.
		for _, q := range []url.Values{
			{"id_token_hint": {hint}, "post_logout_redirect_uri": {evil}},
			{"client_id": {wiki.ClientID}, "post_logout_redirect_uri": {evil}},
			{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut + "/../x"}},
			{"post_logout_redirect_uri": {evil}},
		} {
			w := b.walk("/oidc/end_session?"+q.Encode(), false)
			if strings.HasPrefix(w.final, "https://evil.test") || strings.Contains(w.final, "/x") {
				t.Errorf("end_session %v went to %s", q, w.final)
			}
		}
		// The logout confirmation only returns where it was signed for.
		for _, target := range []string{"/oidc/logout?r=" + url.QueryEscape(evil) + "&sig=x",
			"/oidc/logout?r=" + url.QueryEscape(evil)} {
			status, loc, _ := b.do(http.MethodGet, target, nil)
			if strings.HasPrefix(loc, "https://evil.test") || status != http.StatusBadRequest {
				t.Errorf("%s: %d → %s", target, status, loc)
			}
		}
		// After sign-in the browser goes nowhere but the registered
		// redirect_uri: the login page's return_to is Gatehouse's own.
		fresh := g.browser()
		for _, rt := range []string{evil, "//evil.test/x", "/\\evil.test", "https:evil.test", "/oidc/login?id=x&return_to=" + evil} {
			w := fresh.walk("/login?return_to="+url.QueryEscape(rt), false)
			if len(w.logins) != 1 {
				t.Fatalf("login page for return_to %s: %v", rt, w)
			}
			loc := fresh.signIn(rt)
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("return_to %q: after sign-in went to %q", rt, loc)
			}
		}
		q, _ := authQuery(wiki.ClientID, "openid")
		w := fresh.authorize(q)
		if !strings.HasPrefix(w.final, rpCallback+"?") {
			t.Errorf("authorization ended at %s", w.final)
		}
	})

	attack("another organization's app does not get this organization's account", func(t *testing.T, g *clocked) {
		other, err := g.App.Accounts.CreateOrganization(g.Admin, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		theirs := g.app(other.ID, apps.Input{Name: "Their wiki", Scopes: []string{"email"}})
		b := g.browser()
		g.signedIn(b, wiki, "openid") // signed in to Corp
		q, _ := authQuery(theirs.ClientID, "openid email")
		q.Set("prompt", "none")
		if w := b.walk("/oidc/authorize?"+q.Encode(), false); w.code() != "" || w.query().Get("error") != "login_required" {
			t.Errorf("prompt=none for another organization's app: ended at %s", w.final)
		}
		q.Del("prompt")
		w := b.walk("/oidc/authorize?"+q.Encode(), false)
		if w.code() != "" || len(w.logins) != 1 {
			t.Fatalf("another organization's app: ended at %s, login pages %v", w.final, w.logins)
		}
		// Signing in again with the Corp account does not help.
		u, _ := url.Parse(w.logins[0])
		next := b.walk(b.signIn(u.Query().Get("return_to")), false)
		if next.code() != "" {
			t.Errorf("Corp's account got a code for Other's app: %s", next.final)
		}
	})

	attack("a group-restricted app refuses a non-member", func(t *testing.T, g *clocked) {
		staff := g.app(g.org.ID, apps.Input{Name: "Staff only", Scopes: []string{"email"}, Groups: []string{"staff"}})
		acct := g.account(email)
		if err := g.App.Store.SetAccountGroups(t.Context(), acct.ID, []string{"eng"}); err != nil {
			t.Fatal(err)
		}
		q, _ := authQuery(staff.ClientID, "openid")
		w := g.browser().authorize(q)
		if w.code() != "" || w.query().Get("error") != "access_denied" {
			t.Errorf("a non-member: ended at %s", w.final)
		}
		if err := g.App.Store.SetAccountGroups(t.Context(), acct.ID, []string{"eng", "staff"}); err != nil {
			t.Fatal(err)
		}
		if w := g.browser().authorize(q); w.code() == "" {
			t.Errorf("a member: ended at %s", w.final)
		}
		if err := g.App.Store.SetAccountGroups(t.Context(), acct.ID, nil); err != nil {
			t.Fatal(err)
		}
	})

	attack("scope escalation", func(t *testing.T, g *clocked) {
		// Blog may have email and offline_access only.
		q, v := authQuery(blog.ClientID, "openid email profile groups phone address")
		w := g.browser().authorize(q)
		status, tok := g.redeem(blog, w.code(), v)
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, tok)
		}
		if tok["refresh_token"] != nil {
			t.Errorf("a refresh token without offline_access: %v", tok)
		}
		_, ui := g.userinfo(str(tok, "access_token"))
		if ui["email"] != email || ui["name"] != nil || ui["groups"] != nil {
			t.Errorf("userinfo beyond the allowed scopes: %v", ui)
		}
		_, out := g.form("/oidc/introspect", blog.ClientID, blog.SecretHash, url.Values{"token": {str(tok, "access_token")}})
		if s := str(out, "scope"); strings.Contains(s, "profile") || strings.Contains(s, "groups") || strings.Contains(s, "phone") {
			t.Errorf("granted scopes %q", s)
		}
		// An app without offline_access gets no refresh token however it asks.
		noRefresh := g.app(g.org.ID, apps.Input{Name: "No refresh", Scopes: []string{"email"}})
		if tok := g.signedIn(g.browser(), noRefresh, "openid email offline_access"); tok["refresh_token"] != nil {
			t.Errorf("a refresh token for an app not allowed one: %v", tok)
		}
		// Refresh asking for more than was granted.
		tok = g.signedIn(g.browser(), blog, "openid offline_access")
		if status, out := g.refresh(blog, str(tok, "refresh_token"), "openid", "offline_access", "email"); status == http.StatusOK {
			t.Errorf("refresh widened the grant: %v", out)
		}
		if status, out := g.refresh(blog, str(tok, "refresh_token"), "openid", "offline_access", "profile"); status == http.StatusOK {
			t.Errorf("refresh widened the grant beyond the app's scopes: %v", out)
		}
	})
}
