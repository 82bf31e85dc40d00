package drill

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is one person's browser: a cookie jar shared by Gatehouse and
// the IdP, redirects not followed (the drill looks at each one), and
// forms posted the way a browser posts them (CSRF token, Origin).
type Browser struct {
	t   *testing.T
	h   *Harness
	jar *cookiejar.Jar
	hc  *http.Client
}

// Browser opens a new browser with no cookies.
func (h *Harness) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: h.t, h: h, jar: jar, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Page is one answer as the browser received it.
type Page struct {
	URL    string
	Status int
	Header http.Header
	Body   string
}

// Location is where a redirect points.
func (p Page) Location() string { return p.Header.Get("Location") }

var (
	tagRE     = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
	refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]*)">`)
	formRE    = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRE   = regexp.MustCompile(`<input\b[^>]*>`)
	attrRE    = regexp.MustCompile(`([a-zA-Z_:-]+)="([^"]*)"`)
)

// Text is the page's visible text, entities decoded, spaces collapsed.
func (p Page) Text() string {
	s := strings.ReplaceAll(p.Body, "<wbr>", "")
	s = html.UnescapeString(tagRE.ReplaceAllString(s, " "))
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// Refresh is the URL a page's meta refresh moves on to ("" if none).
func (p Page) Refresh() string {
	if m := refreshRE.FindStringSubmatch(p.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// Form is a form on a page: where it posts and its inputs' values.
type Form struct {
	Action string
	Fields url.Values
}

// Form returns the first form on the page that posts to an action
// containing action ("" for the first form at all); ok is false if none.
func (p Page) Form(action string) (Form, bool) {
	for _, m := range formRE.FindAllStringSubmatch(p.Body, -1) {
		formAttrs := attrs(m[1])
		if !strings.Contains(formAttrs["action"], action) {
			continue
		}
		f := Form{Action: formAttrs["action"], Fields: url.Values{}}
		for _, in := range inputRE.FindAllString(m[2], -1) {
			a := attrs(in)
			if a["name"] != "" && a["type"] != "submit" {
				f.Fields.Add(a["name"], a["value"])
			}
		}
		return f, true
	}
	return Form{}, false
}

func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// expect fails t unless p has status and its visible text contains every
// want.
func expect(t *testing.T, p Page, status int, wants ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d; page text:\n%s", p.URL, p.Status, status, p.Text())
	}
	text := p.Text()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: page text lacks %q:\n%s", p.URL, w, text)
		}
	}
}

func readPage(t *testing.T, res *http.Response) Page {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Page{URL: res.Request.URL.String(), Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// abs resolves a path against Gatehouse's public URL; absolute URLs (the
// IdP's) stay as they are.
func (b *Browser) abs(target string) string {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return target
	}
	return b.h.URL + target
}

// TryGet opens target (a path on Gatehouse or an absolute URL) and returns
// the transport error instead of failing: the IdP may be down.
func (b *Browser) TryGet(target string) (Page, error) {
	res, err := b.hc.Get(b.abs(target))
	if err != nil {
		return Page{}, err
	}
	defer res.Body.Close()
	return readPage(b.t, res), nil
}

// Get opens target and fails the test if nothing answers.
func (b *Browser) Get(target string) Page {
	b.t.Helper()
	p, err := b.TryGet(target)
	if err != nil {
		b.t.Fatalf("GET %s: %v", target, err)
	}
	return p
}

// Post submits form to target on Gatehouse as its own page would: with
// the CSRF token (unless form has one) and Gatehouse's Origin.
func (b *Browser) Post(target string, form url.Values) Page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", b.csrf())
	}
	return b.PostFrom(b.h.URL, target, form)
}

// PostFrom submits form to target as a page of origin would (the IdP's
// page posting a SAMLResponse is cross-origin).
func (b *Browser) PostFrom(origin, target string, form url.Values) Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(target), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", target, err)
	}
	defer res.Body.Close()
	return readPage(b.t, res)
}

// PostJSON posts body as JSON to target on Gatehouse as its own page's
// script does (fetch with the X-CSRF-Token header), e.g. the passkey
// ceremonies' endpoints.
func (b *Browser) PostJSON(target string, body any) Page {
	b.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.abs(target), bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.h.URL)
	req.Header.Set("X-CSRF-Token", b.csrf())
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", target, err)
	}
	defer res.Body.Close()
	return readPage(b.t, res)
}

// cookie returns the value of Gatehouse's cookie name ("" if unset).
func (b *Browser) cookie(name string) string {
	u, _ := url.Parse(b.h.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// csrf returns the CSRF cookie, opening /login first if there is none.
func (b *Browser) csrf() string {
	b.t.Helper()
	if v := b.cookie("gatehouse_csrf"); v != "" {
		return v
	}
	b.Get("/login")
	if v := b.cookie("gatehouse_csrf"); v != "" {
		return v
	}
	b.t.Fatal("Gatehouse set no CSRF cookie")
	return ""
}

// SessionCookie is the browser's Gatehouse session cookie ("" if none).
func (b *Browser) SessionCookie() string { return b.cookie(b.h.App.Sessions.CookieName()) }

// EmailStep opens /login and submits email: the page the sign-in engine
// answers with (an SSO hand-off, a password form, …).
func (b *Browser) EmailStep(email string) Page {
	b.t.Helper()
	b.Get("/login")
	return b.Post("/login", url.Values{"email": {email}})
}

// StartSSO takes the email step for email, which must hand the browser
// to SSO, follows the hand-off and returns the IdP URL Gatehouse
// redirects to (not opened yet).
func (b *Browser) StartSSO(email string) string {
	b.t.Helper()
	p := b.EmailStep(email)
	next := p.Refresh()
	if p.Status != http.StatusOK || !strings.HasPrefix(next, "/login/sso?flow=") {
		b.t.Fatalf("the email step for %s did not hand over to SSO: %d, moves on to %q\n%s", email, p.Status, next, p.Text())
	}
	p = b.Get(next)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), b.h.IdP.SSOURL()+"?") {
		b.t.Fatalf("GET %s: %d → %q, want a redirect to the IdP", next, p.Status, p.Location())
	}
	return p.Location()
}

// AtIdP opens idpURL (where Gatehouse sent the browser), signs in there
// as email and posts the IdP's answer to Gatehouse's ACS as the IdP's
// page does; it returns Gatehouse's answer.
func (b *Browser) AtIdP(idpURL, email, password string) Page {
	b.t.Helper()
	login, ok := b.Get(idpURL).Form("")
	if !ok {
		b.t.Fatalf("the IdP shows no sign-in form at %s", idpURL)
	}
	login.Fields.Set("email", email)
	login.Fields.Set("password", password)
	base, _ := url.Parse(idpURL)
	action := base.ResolveReference(&url.URL{Path: login.Action}).String()
	post, ok := b.PostFrom(b.h.IdP.Origin(), action, login.Fields).Form("/saml/")
	if !ok || post.Fields.Get("SAMLResponse") == "" {
		b.t.Fatalf("the IdP did not answer %s with a SAMLResponse form", email)
	}
	if !strings.HasPrefix(post.Action, b.h.URL+"/saml/") {
		b.t.Fatalf("the IdP posts to %q, not to Gatehouse", post.Action)
	}
	return b.PostFrom(b.h.IdP.Origin(), post.Action, post.Fields)
}

// SignInSSO signs email in through SSO from the email step on and checks
// that Gatehouse made a session and sent the browser to its return URL.
func (b *Browser) SignInSSO(email, password string) Page {
	b.t.Helper()
	p := b.AtIdP(b.StartSSO(email), email, password)
	if p.Status != http.StatusSeeOther || b.SessionCookie() == "" {
		b.t.Fatalf("SSO sign-in of %s: %d → %q, session cookie %t\n%s", email, p.Status, p.Location(), b.SessionCookie() != "", p.Text())
	}
	return p
}

// PasswordStep takes the email step for email with the sign-in page's
// "Use a password instead" button (the page after the email depends on
// the domain only, so under an enforcing default policy a break-glass
// person asks for the password form the same way), and submits password;
// it returns Gatehouse's answer (a redirect on success, or the next step,
// e.g. an MFA prompt).
func (b *Browser) PasswordStep(email, password string) Page {
	b.t.Helper()
	login := b.Get("/login")
	if !strings.Contains(login.Body, `name="method" value="password"`) {
		b.t.Fatalf("/login offers no password button:\n%s", login.Text())
	}
	p := b.Post("/login", url.Values{"email": {email}, "method": {"password"}})
	f, ok := p.Form("/login/password")
	if !ok || !f.Fields.Has("password") {
		b.t.Fatalf("the email step for %s shows no password form: %d\n%s", email, p.Status, p.Text())
	}
	f.Fields.Set("password", password)
	return b.Post(f.Action, f.Fields)
}

// SignInPassword signs email in with password and checks it worked.
func (b *Browser) SignInPassword(email, password string) Page {
	b.t.Helper()
	p := b.PasswordStep(email, password)
	if p.Status != http.StatusSeeOther || b.SessionCookie() == "" {
		b.t.Fatalf("password sign-in of %s: %d → %q\n%s", email, p.Status, p.Location(), p.Text())
	}
	return p
}

// SignedIn checks that the browser's session opens /account as email.
func (b *Browser) SignedIn(email string) {
	b.t.Helper()
	expect(b.t, b.Get("/account"), http.StatusOK, email)
}
