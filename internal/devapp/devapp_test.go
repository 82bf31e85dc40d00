package devapp_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/devapp"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const (
	email    = "grace@corp.example"
	password = "correct horse battery staple 42"
)

var refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

var inputRE = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// TestDevAppSignsInThroughGatehouse runs what the README's "Sign in to an
// app" asks a newcomer to do: the development app signs a person in
// through a real Gatehouse server, shows the claims, refreshes its tokens
// and signs out through Gatehouse.
func TestDevAppSignsInThroughGatehouse(t *testing.T) {
	p := startPair(t)
	a, issuer, base := p.App, p.Issuer, p.AppURL
	ctx := authz.AsCLI(context.Background(), "test")
	jar, _ := cookiejar.New(nil)
	// The browser follows redirects by itself except onto Gatehouse's
	// sign-in page, where the person types.
	hc := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), issuer+"/login") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	do := func(method, target string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, target, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if strings.HasPrefix(target, issuer) {
				req.Header.Set("Origin", issuer)
			}
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res, string(raw)
	}

	res, _ := do(http.MethodGet, base+"/login", nil)
	loginURL, err := res.Location()
	if err != nil || loginURL.Path != "/login" {
		t.Fatalf("the app's sign-in did not reach Gatehouse's sign-in page: %d %v", res.StatusCode, err)
	}
	returnTo := loginURL.Query().Get("return_to")
	do(http.MethodGet, loginURL.String(), nil)
	var csrf string
	gu, _ := url.Parse(issuer)
	for _, c := range jar.Cookies(gu) {
		if c.Name == "gatehouse_csrf" {
			csrf = c.Value
		}
	}
	_, page := do(http.MethodPost, issuer+"/login", url.Values{"email": {email}, "return_to": {returnTo}, "csrf_token": {csrf}})
	form := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	form.Set("password", password)
	res, page = do(http.MethodPost, issuer+"/login/password", form)
	// Gatehouse leaves the form post for the app by a page that refreshes
	// itself (a browser holds redirects after a form to its CSP), as a
	// browser would follow it.
	if m := refreshRE.FindStringSubmatch(page); m != nil && res.Request.URL.Host != strings.TrimPrefix(base, "http://") {
		next := html.UnescapeString(m[1])
		if strings.HasPrefix(next, "/") {
			next = issuer + next
		}
		res, page = do(http.MethodGet, next, nil)
	}
	if res.Request.URL.String() != base+"/" || !strings.Contains(page, "grace@corp.example") || !strings.Contains(page, "Grace Hopper") {
		t.Fatalf("after signing in the browser is at %s with:\n%s", res.Request.URL, page)
	}
	for _, want := range []string{">amr<", "pwd", ">org<", "corp", "Refresh tokens"} {
		if !strings.Contains(page, want) {
			t.Errorf("the app's page lacks %q", want)
		}
	}

	_, page = do(http.MethodPost, base+"/refresh", url.Values{})
	if !strings.Contains(page, "Tokens refreshed") || !strings.Contains(page, "grace@corp.example") {
		t.Fatalf("refresh: the app's page says:\n%s", page)
	}

	res, page = do(http.MethodPost, base+"/logout", url.Values{})
	if !strings.HasPrefix(res.Request.URL.String(), base+"/") || !strings.Contains(page, "Sign in with Gatehouse") {
		t.Fatalf("sign-out ended at %s with:\n%s", res.Request.URL, page)
	}
	if sessions, err := a.Store.ListSessions(ctx, mustAccount(t, a, email).ID, a.Now()); err != nil || len(sessions) != 0 {
		t.Fatalf("after signing out of the app the Gatehouse session is still live: %d sessions, %v", len(sessions), err)
	}
}

func mustAccount(t *testing.T, a *app.App, email string) storage.Account {
	t.Helper()
	acc, err := a.Store.GetAccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// pair is a full Gatehouse server with one member and the development app
// registered with it and running.
type pair struct {
	App            *app.App
	Issuer, AppURL string
}

func startPair(t *testing.T) pair {
	t.Helper()

	ctx := authz.AsCLI(context.Background(), "test")
	gs := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(gs.Listener.Addr().String())
	issuer := "http://localhost:" + port
	cfg := config.Default()
	cfg.DataDir, cfg.PublicURL, cfg.Listen = t.TempDir(), issuer, gs.Listener.Addr().String()
	a, err := app.OpenWith(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h, err := server.Handler(a)
	if err != nil {
		t.Fatal(err)
	}
	gs.Config.Handler = h
	gs.Start()
	t.Cleanup(gs.Close)
	org, err := a.Accounts.CreateOrganization(ctx, "Corp", "corp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accounts.AddMember(ctx, org.ID, account.MemberInput{Email: email, DisplayName: "Grace Hopper",
		Role: storage.RoleMember, Password: password}); err != nil {
		t.Fatal(err)
	}

	as := httptest.NewUnstartedServer(nil)
	_, appPort, _ := net.SplitHostPort(as.Listener.Addr().String())
	base := "http://127.0.0.1:" + appPort
	reg, secret, err := a.Apps.Create(ctx, org.ID, apps.Input{Name: "Dev app", RedirectURIs: []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"}, Scopes: []string{"profile", "email", "groups", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := devapp.New(t.Context(), devapp.Config{Issuer: issuer, BaseURL: base, ClientID: reg.ClientID, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	as.Config.Handler = dev.Handler()
	as.Start()
	t.Cleanup(as.Close)

	return pair{App: a, Issuer: issuer, AppURL: base}
}
