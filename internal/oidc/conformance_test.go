package oidc_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// TestConformanceBasicOP is the OpenID Foundation conformance suite's
// Basic OP plan, as far as it applies to a provider that offers only the
// authorization code flow: one subtest per check, named after it, with a
// real browser walk (cookies, redirects, the login page) and the token
// endpoint called as an app calls it. Time moves on the test's clock.
func TestConformanceBasicOP(t *testing.T) {
	g0 := startClocked(t)
	wiki := g0.app(g0.org.ID, apps.Input{Name: "Wiki", Scopes: []string{"profile", "email", "groups", "offline_access"}})
	check := func(name string, fn func(t *testing.T, g *clocked)) {
		t.Run(name, func(t *testing.T) { fn(t, g0.in(t)) })
	}

	check("request without nonce succeeds", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		q.Del("nonce")
		w := g.browser().authorize(q)
		status, tok := g.redeem(wiki, w.code(), v)
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, tok)
		}
		if c := g.idClaims(wiki, tok); c["nonce"] != nil {
			t.Errorf("nonce %v in an ID token for a request without one", c["nonce"])
		}
	})

	check("prompt=login forces a fresh sign-in", func(t *testing.T, g *clocked) {
		b := g.browser()
		first := g.idClaims(wiki, g.signedIn(b, wiki, "openid"))
		g.clock.Advance(10 * time.Second)
		q, v := authQuery(wiki.ClientID, "openid")
		q.Set("prompt", "login")
		w := b.authorize(q)
		if len(w.logins) != 1 {
			t.Fatalf("prompt=login with a session: login pages shown %v", w.logins)
		}
		_, tok := g.redeem(wiki, w.code(), v)
		if again := g.idClaims(wiki, tok); num(again, "auth_time") <= num(first, "auth_time") {
			t.Errorf("auth_time %d after prompt=login, %d before", num(again, "auth_time"), num(first, "auth_time"))
		}
	})

	check("prompt=none with a session returns a code without any page", func(t *testing.T, g *clocked) {
		b := g.browser()
		g.signedIn(b, wiki, "openid")
		q, v := authQuery(wiki.ClientID, "openid")
		q.Set("prompt", "none")
		w := b.walk("/oidc/authorize?"+q.Encode(), false)
		if len(w.logins) != 0 || w.code() == "" {
			t.Fatalf("prompt=none with a session: ended at %s, login pages %v", w.final, w.logins)
		}
		if status, tok := g.redeem(wiki, w.code(), v); status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, tok)
		}
	})

	check("prompt=none without a session returns login_required", func(t *testing.T, g *clocked) {
		q, _ := authQuery(wiki.ClientID, "openid")
		q.Set("prompt", "none")
		w := g.browser().walk("/oidc/authorize?"+q.Encode(), false)
		if w.query().Get("error") != "login_required" || w.query().Get("state") != "st4te" || len(w.logins) != 0 {
			t.Fatalf("prompt=none without a session: ended at %s, login pages %v", w.final, w.logins)
		}
	})

	check("max_age=1 forces a fresh sign-in after more than a second", func(t *testing.T, g *clocked) {
		b := g.browser()
		first := g.idClaims(wiki, g.signedIn(b, wiki, "openid"))
		g.clock.Advance(2 * time.Second)
		q, v := authQuery(wiki.ClientID, "openid")
		q.Set("max_age", "1")
		w := b.authorize(q)
		if len(w.logins) != 1 {
			t.Fatalf("max_age=1, 2 s after the sign-in: login pages shown %v", w.logins)
		}
		_, tok := g.redeem(wiki, w.code(), v)
		again := g.idClaims(wiki, tok)
		if num(again, "auth_time") <= num(first, "auth_time") || num(again, "auth_time") != g.clock.Now().Unix() {
			t.Errorf("auth_time %d after max_age=1, %d before, now %d", num(again, "auth_time"), num(first, "auth_time"), g.clock.Now().Unix())
		}
		// Within max_age the session answers without a page.
		q, _ = authQuery(wiki.ClientID, "openid")
		q.Set("max_age", "60")
		if w := b.authorize(q); len(w.logins) != 0 || w.code() == "" {
			t.Errorf("max_age=60 right after a sign-in: ended at %s, login pages %v", w.final, w.logins)
		}
	})

	check("unknown parameters ignored", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		q.Set("extra", "foobar")
		q.Set("x-gatehouse-nonsense", "<script>")
		w := g.browser().authorize(q)
		if status, tok := g.redeem(wiki, w.code(), v); status != http.StatusOK {
			t.Fatalf("with unknown parameters: ended at %s; exchange %d %v", w.final, status, tok)
		}
	})

	check("id_token_hint honoured", func(t *testing.T, g *clocked) {
		b := g.browser()
		hint := str(g.signedIn(b, wiki, "openid"), "id_token")
		q, _ := authQuery(wiki.ClientID, "openid")
		q.Set("prompt", "none")
		q.Set("id_token_hint", hint)
		if w := b.walk("/oidc/authorize?"+q.Encode(), false); w.code() == "" {
			t.Fatalf("id_token_hint of the signed-in account with prompt=none: ended at %s (%d) %s", w.final, w.status, w.body)
		}
		// Another account's ID token: the session cannot answer for it.
		g.member(g.org.ID, "grace@corp.example", "Grace Hopper")
		other := g.browser()
		other.email = "grace@corp.example"
		graceHint := str(g.signedIn(other, wiki, "openid"), "id_token")
		q.Set("id_token_hint", graceHint)
		w := b.walk("/oidc/authorize?"+q.Encode(), false)
		if w.query().Get("error") != "login_required" || w.code() != "" {
			t.Fatalf("another subject's id_token_hint with prompt=none: ended at %s (%d) %s", w.final, w.status, w.body)
		}
	})

	check("login_hint prefills the email on the login page", func(t *testing.T, g *clocked) {
		q, _ := authQuery(wiki.ClientID, "openid")
		q.Set("login_hint", email)
		w := g.browser().walk("/oidc/authorize?"+q.Encode(), false)
		if len(w.logins) != 1 || !strings.Contains(w.body, `value="`+email+`"`) {
			t.Fatalf("login_hint: login pages %v, page:\n%s", w.logins, w.body)
		}
	})

	check("scopes profile and email give name and email in userinfo", func(t *testing.T, g *clocked) {
		acct := g.account(email)
		if err := g.App.Store.SetAccountGroups(t.Context(), acct.ID, []string{"eng", "wiki-editors"}); err != nil {
			t.Fatal(err)
		}
		tok := g.signedIn(g.browser(), wiki, "openid profile email")
		status, ui := g.userinfo(str(tok, "access_token"))
		if status != http.StatusOK || ui["sub"] != acct.ID || ui["email"] != email || ui["email_verified"] != true ||
			ui["name"] != "Ada Lovelace" || ui["groups"] != nil {
			t.Errorf("userinfo for profile email: %d %v", status, ui)
		}
		tok = g.signedIn(g.browser(), wiki, "openid groups")
		_, ui = g.userinfo(str(tok, "access_token"))
		groups, _ := ui["groups"].([]any)
		if len(groups) != 2 || groups[0] != "eng" || ui["email"] != nil || ui["name"] != nil {
			t.Errorf("userinfo for groups only: %v", ui)
		}
	})

	check("userinfo by GET, POST with the header, POST with access_token in the body", func(t *testing.T, g *clocked) {
		at := str(g.signedIn(g.browser(), wiki, "openid email"), "access_token")
		if status, ui := g.userinfo(at); status != http.StatusOK || ui["email"] != email {
			t.Errorf("GET: %d %v", status, ui)
		}
		if status, ui := g.form("/oidc/userinfo", "", "", url.Values{}, "Authorization", "Bearer "+at); status != http.StatusOK || ui["email"] != email {
			t.Errorf("POST with the header: %d %v", status, ui)
		}
		if status, ui := g.form("/oidc/userinfo", "", "", url.Values{"access_token": {at}}); status != http.StatusOK || ui["email"] != email {
			t.Errorf("POST with the body: %d %v", status, ui)
		}
		if status, _ := g.userinfo(at + "x"); status != http.StatusUnauthorized {
			t.Errorf("a bad token at userinfo: %d, want 401", status)
		}
		// A token that was good and is no longer: 401 with the RFC 6750
		// challenge, so the app knows to sign the person in again.
		if _, err := g.App.Sessions.RevokeAll(g.Admin, g.account(email).ID, "", "test"); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/oidc/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("a revoked token at userinfo: %d, WWW-Authenticate %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	})

	check("refresh token grant", func(t *testing.T, g *clocked) {
		tok := g.signedIn(g.browser(), wiki, "openid email offline_access")
		rt := str(tok, "refresh_token")
		if rt == "" {
			t.Fatalf("no refresh token with offline_access: %v", tok)
		}
		g.clock.Advance(time.Minute)
		status, fresh := g.refresh(wiki, rt)
		if status != http.StatusOK || str(fresh, "access_token") == "" || str(fresh, "refresh_token") == rt || str(fresh, "refresh_token") == "" {
			t.Fatalf("refresh: %d %v", status, fresh)
		}
		if c := g.idClaims(wiki, fresh); c["sub"] != g.account(email).ID {
			t.Errorf("refreshed ID token: %v", c)
		}
		if status, ui := g.userinfo(str(fresh, "access_token")); status != http.StatusOK || ui["email"] != email {
			t.Errorf("userinfo with the refreshed access token: %d %v", status, ui)
		}
	})

	check("code reuse fails", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		if status, _ := g.redeem(wiki, w.code(), v); status != http.StatusOK {
			t.Fatal("first redemption failed")
		}
		if status, out := g.redeem(wiki, w.code(), v); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("second redemption: %d %v", status, out)
		}
	})

	check("code reuse 30 seconds later fails", func(t *testing.T, g *clocked) {
		q, v := authQuery(wiki.ClientID, "openid")
		w := g.browser().authorize(q)
		if status, _ := g.redeem(wiki, w.code(), v); status != http.StatusOK {
			t.Fatal("first redemption failed")
		}
		g.clock.Advance(30 * time.Second)
		if status, out := g.redeem(wiki, w.code(), v); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("redemption 30 s later: %d %v", status, out)
		}
	})

	check("registered redirect URI enforced", func(t *testing.T, g *clocked) {
		q, _ := authQuery(wiki.ClientID, "openid")
		q.Set("redirect_uri", "https://attacker.example/callback")
		w := g.browser().walk("/oidc/authorize?"+q.Encode(), false)
		if w.status != http.StatusBadRequest || !strings.HasPrefix(w.final, "/oidc/authorize") {
			t.Fatalf("unregistered redirect_uri: %d, ended at %s", w.status, w.final)
		}
	})

	check("valid PKCE succeeds", func(t *testing.T, g *clocked) {
		spa := g.app(g.org.ID, apps.Input{Name: "SPA", Public: true, Scopes: []string{"email"}})
		q, v := authQuery(spa.ClientID, "openid email")
		w := g.browser().authorize(q)
		status, tok := g.redeem(spa, w.code(), v)
		if status != http.StatusOK || str(tok, "access_token") == "" {
			t.Fatalf("public client with PKCE S256: %d %v", status, tok)
		}
		g.idClaims(spa, tok)
	})

	for _, rt := range []string{"token", "id_token", "code id_token", "id_token token", "code token"} {
		check("response_type="+rt+" refused", func(t *testing.T, g *clocked) {
			q, _ := authQuery(wiki.ClientID, "openid")
			q.Set("response_type", rt)
			w := g.browser().walk("/oidc/authorize?"+q.Encode(), true)
			if w.code() != "" || strings.Contains(w.final, "access_token=") || strings.Contains(w.final, "id_token=") || len(w.logins) != 0 {
				t.Fatalf("response_type=%s: ended at %s after login pages %v", rt, w.final, w.logins)
			}
			if e := w.query().Get("error"); e != "unsupported_response_type" && e != "unauthorized_client" && e != "invalid_request" {
				t.Errorf("response_type=%s: error %q at %s", rt, e, w.final)
			}
		})
	}

	check("password grant refused", func(t *testing.T, g *clocked) {
		status, out := g.form("/oidc/token", wiki.ClientID, wiki.SecretHash, url.Values{"grant_type": {"password"},
			"username": {email}, "password": {password}, "scope": {"openid"}})
		if status == http.StatusOK || out["access_token"] != nil {
			t.Fatalf("password grant: %d %v", status, out)
		}
	})

	check("discovery document", func(t *testing.T, g *clocked) {
		res, err := http.Get(g.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		doc := decode(t, res)
		want := map[string]string{"issuer": g.URL, "authorization_endpoint": g.URL + "/oidc/authorize",
			"token_endpoint": g.URL + "/oidc/token", "userinfo_endpoint": g.URL + "/oidc/userinfo",
			"jwks_uri": g.URL + "/oidc/keys", "introspection_endpoint": g.URL + "/oidc/introspect",
			"revocation_endpoint": g.URL + "/oidc/revoke", "end_session_endpoint": g.URL + "/oidc/end_session"}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s = %v, want %s", k, doc[k], v)
			}
		}
		list := func(k string) []string {
			var out []string
			xs, _ := doc[k].([]any)
			for _, x := range xs {
				s, _ := x.(string)
				out = append(out, s)
			}
			return out
		}
		if got := list("code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
			t.Errorf("code_challenge_methods_supported = %v", got)
		}
		if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
			t.Errorf("response_types_supported = %v", got)
		}
		if got := list("subject_types_supported"); !slices.Equal(got, []string{"public"}) {
			t.Errorf("subject_types_supported = %v", got)
		}
		algs := list("id_token_signing_alg_values_supported")
		if !slices.Contains(algs, "RS256") || !slices.Contains(algs, "ES256") || slices.Contains(algs, "none") || slices.Contains(algs, "HS256") {
			t.Errorf("id_token_signing_alg_values_supported = %v", algs)
		}
		claims := list("claims_supported")
		for _, c := range []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "email", "email_verified", "name", "groups", "org", "emergency"} {
			if !slices.Contains(claims, c) {
				t.Errorf("claims_supported lacks %s: %v", c, claims)
			}
		}
		if grants := list("grant_types_supported"); slices.Contains(grants, "password") || slices.Contains(grants, "implicit") {
			t.Errorf("grant_types_supported = %v", grants)
		}
	})

	check("JWKS has no private parts", func(t *testing.T, g *clocked) {
		res, err := http.Get(g.URL + "/oidc/keys")
		if err != nil {
			t.Fatal(err)
		}
		doc := decode(t, res)
		keys, _ := doc["keys"].([]any)
		if len(keys) < 2 {
			t.Fatalf("key set: %v", doc)
		}
		kinds := map[string]bool{}
		for _, k := range keys {
			jwk, _ := k.(map[string]any)
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := jwk[private]; ok {
					t.Errorf("published key %v has private member %q", jwk["kid"], private)
				}
			}
			if jwk["kid"] == "" || jwk["use"] != "sig" {
				t.Errorf("published key without kid or use=sig: %v", jwk)
			}
			kinds[str(jwk, "kty")+"/"+str(jwk, "alg")] = true
		}
		if !kinds["RSA/RS256"] || !kinds["EC/ES256"] {
			t.Errorf("key set kinds %v, want RSA/RS256 and EC/ES256", kinds)
		}
	})

	// iat and exp are stamped by the op package from the wall clock (it
	// takes no clock); every other time is Gatehouse's, on the test clock.
	check("ID token claims", func(t *testing.T, g *clocked) {
		acct := g.account(email)
		if err := g.App.Store.SetAccountGroups(t.Context(), acct.ID, []string{"eng"}); err != nil {
			t.Fatal(err)
		}
		b := g.browser()
		signedAt, wall := g.clock.Now(), time.Now().Unix()
		c := g.idClaims(wiki, g.signedIn(b, wiki, "openid profile email groups"))
		aud, _ := c["aud"].([]any)
		if aud == nil {
			aud = []any{c["aud"]}
		}
		groups, _ := c["groups"].([]any)
		amr, _ := c["amr"].([]any)
		if c["iss"] != g.URL || len(aud) != 1 || aud[0] != wiki.ClientID || c["sub"] != acct.ID ||
			num(c, "iat") < wall || num(c, "iat") > time.Now().Unix() || num(c, "exp") != num(c, "iat")+3600 ||
			num(c, "auth_time") != signedAt.Unix() || c["nonce"] != "n-0S6" || len(amr) != 1 || amr[0] != "pwd" ||
			c["email"] != email || c["email_verified"] != true || c["name"] != "Ada Lovelace" ||
			len(groups) != 1 || groups[0] != "eng" || c["org"] != "corp" {
			t.Errorf("ID token claims: %v", c)
		}
		if _, ok := c["emergency"]; ok {
			t.Errorf("an ordinary sign-in's ID token carries the emergency claim: %v", c)
		}
		// sub is the same for the same account in a later sign-in and in
		// another app.
		blog := g.app(g.org.ID, apps.Input{Name: "Blog", Scopes: []string{"email"}})
		g.clock.Advance(time.Minute)
		again := g.idClaims(blog, g.signedIn(g.browser(), blog, "openid"))
		if again["sub"] != acct.ID {
			t.Errorf("sub %v in another app after another sign-in, want %s", again["sub"], acct.ID)
		}
	})

	check("emergency sign-in is marked, others are not", func(t *testing.T, g *clocked) {
		em, err := g.App.Emergencies.Start(g.Admin, g.org.ID, emergency.StartInput{Reason: "the IdP is down (conformance test)"})
		if err != nil {
			t.Fatal(err)
		}
		// The session the sign-in engine issues under an emergency (see
		// signin.finish): its emergency and the "emergency" method.
		acct := g.account(email)
		token, _, err := g.App.Sessions.Start(t.Context(), session.StartParams{Account: acct,
			Methods: []string{session.MethodHardware, session.MethodEmergency}, EmergencyID: em.ID})
		if err != nil {
			t.Fatal(err)
		}
		b := g.browser()
		u, _ := url.Parse(g.URL)
		b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: g.App.Sessions.CookieName(), Value: token, Path: "/"}})
		q, v := authQuery(wiki.ClientID, "openid email")
		w := b.walk("/oidc/authorize?"+q.Encode(), false)
		if len(w.logins) != 0 || w.code() == "" {
			t.Fatalf("with an emergency session: ended at %s, login pages %v", w.final, w.logins)
		}
		_, tok := g.redeem(wiki, w.code(), v)
		c := g.idClaims(wiki, tok)
		amr, _ := c["amr"].([]any)
		if c["emergency"] != true || !slices.Contains(amr, any("emergency")) {
			t.Errorf("ID token of an emergency sign-in: %v", c)
		}
		if _, ui := g.userinfo(str(tok, "access_token")); ui["emergency"] != true {
			t.Errorf("userinfo of an emergency sign-in: %v", ui)
		}
		if _, err := g.App.Emergencies.End(g.Admin, g.org.ID, em.ID, emergency.EndInput{}); err != nil {
			t.Fatal(err)
		}
		tok = g.signedIn(g.browser(), wiki, "openid email")
		if c := g.idClaims(wiki, tok); c["emergency"] != nil {
			t.Errorf("an ordinary sign-in's ID token: %v", c)
		}
		if _, ui := g.userinfo(str(tok, "access_token")); ui["emergency"] != nil {
			t.Errorf("an ordinary sign-in's userinfo: %v", ui)
		}
	})
}
