package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The development IdP's users in these tests.
const (
	erinEmail    = "erin@corp.example"
	erinPassword = "correct horse battery"
	corpDomain   = "corp.example"
)

// devIdP is the development IdP's real HTTP handler on its own server.
type devIdP struct {
	*devidp.IdP
	srv *httptest.Server
}

// startDevIdP runs the development IdP with erin (groups staff and
// admins) on 127.0.0.1, sharing e's clock.
func (e *env) startDevIdP() *devIdP {
	e.t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	dev, err := devidp.New(devidp.Config{
		BaseURL: "http://" + ts.Listener.Addr().String(),
		Users: []devidp.User{{Email: erinEmail, Password: erinPassword, GivenName: "Erin", Surname: "Example",
			Groups: []string{"staff", "admins"}}},
		Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ts.Config.Handler = dev.Handler()
	ts.Start()
	e.t.Cleanup(ts.Close)
	return &devIdP{IdP: dev, srv: ts}
}

// adminCtx is the context test set-up acts in: the CLI on the server,
// which has the organization's full authority (owner-only changes
// included), and names the org in the actor for audit events.
func adminCtx(orgID string) context.Context {
	return reqctx.WithActor(context.Background(), "cli", "admin-"+orgID, "admin@"+orgID)
}

// verifyDomain claims name for org through the domain service and records
// a successful check directly in storage: these tests are about sign-in,
// and the DNS path has its own tests (the browser test uses it too).
func (e *env) verifyDomain(orgID, name string) storage.Domain {
	e.t.Helper()
	d, err := e.domains.Add(adminCtx(orgID), orgID, name)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	if err := e.store.RecordDomainCheck(context.Background(), orgID, d.ID, now, now, ""); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// connect creates org's IdP connection "Dev IdP" from dev's metadata URL.
func (e *env) connect(orgID string, dev *devIdP, edit func(*idp.CreateInput)) storage.IdPConnection {
	e.t.Helper()
	in := idp.CreateInput{Name: "Dev IdP", MetadataURL: dev.MetadataURL()}
	if edit != nil {
		edit(&in)
	}
	c, err := e.idps.Create(adminCtx(orgID), orgID, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// setSSO sets org's default policy to mode ("enforced", "optional",
// "off") through conn; enforcing an untested connection is forced.
func (e *env) setSSO(orgID, mode string, conn storage.IdPConnection) {
	e.t.Helper()
	ctx := adminCtx(orgID)
	if _, err := e.policies.EnsureDefault(ctx, orgID); err != nil {
		e.t.Fatal(err)
	}
	if mode == storage.SSOEnforced {
		e.factors.BreakGlassOwner(e.t, e.store, orgID) // enforcing needs one
	}
	slug := conn.Slug
	if _, err := e.policies.Update(ctx, orgID, policy.DefaultName, policy.UpdateInput{SSO: &mode, Connection: &slug, Force: true}); err != nil {
		e.t.Fatal(err)
	}
}

// corpOrg creates the organization "Corp" with corp.example verified and a
// connection to dev; SSO is not on yet.
func (e *env) corpOrg(dev *devIdP, edit func(*idp.CreateInput)) (storage.Organization, storage.IdPConnection) {
	e.t.Helper()
	org, err := e.accounts.CreateOrganization(adminCtx("corp"), "Corp", "corp-"+uuid.NewString()[:6])
	if err != nil {
		e.t.Fatal(err)
	}
	e.verifyDomain(org.ID, corpDomain)
	return org, e.connect(org.ID, dev, edit)
}

var (
	hiddenRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]*)">`)
	csrfRE    = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)
)

// refreshTarget is the path a page's meta refresh moves on to.
// flowSSOPathRe matches the path that continues a flow through SSO.
var flowSSOPathRe = regexp.MustCompile(`^/login/sso\?flow=[A-Za-z0-9_-]{43}$`)

func refreshTarget(t *testing.T, r response) string {
	t.Helper()
	m := refreshRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no meta refresh on the page (status %d):\n%s", r.status, text(r.body))
	}
	return html.UnescapeString(m[1])
}

// idpForm is the form the development IdP's page would post.
type idpForm struct {
	action string
	fields url.Values
}

func readForm(t *testing.T, res *http.Response, err error) idpForm {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d\n%s", res.Request.URL, res.StatusCode, text(string(b)))
	}
	f := idpForm{fields: url.Values{}}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(b), -1) {
		f.fields.Add(m[1], html.UnescapeString(m[2]))
	}
	if m := actionRE.FindStringSubmatch(string(b)); m != nil {
		f.action = html.UnescapeString(m[1])
	}
	return f
}

// signInAtIdP opens idpURL (the sign-in page the IdP was sent to), signs
// in there as email and returns the form that posts the SAMLResponse to
// Gatehouse's ACS.
func (d *devIdP) signInAtIdP(t *testing.T, idpURL, email, password string) idpForm {
	t.Helper()
	res, err := d.srv.Client().Get(idpURL)
	login := readForm(t, res, err)
	login.fields.Set("email", email)
	login.fields.Set("password", password)
	target, err := url.Parse(idpURL)
	if err != nil {
		t.Fatal(err)
	}
	res, err = d.srv.Client().PostForm(target.ResolveReference(&url.URL{Path: login.action}).String(), login.fields)
	post := readForm(t, res, err)
	if post.fields.Get("SAMLResponse") == "" {
		t.Fatalf("the IdP's page has no SAMLResponse: %+v", post)
	}
	return post
}

// idpInitiated signs email in at the IdP without a request from us: the
// IdP posts to acsURL with audience and relayState.
func (d *devIdP) idpInitiated(t *testing.T, acsURL, audience, relayState string) idpForm {
	t.Helper()
	q := url.Values{"sp": {acsURL}, "audience": {audience}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return d.signInAtIdP(t, d.srv.URL+"/idp-initiated?"+q.Encode(), erinEmail, erinPassword)
}

// postACS posts the IdP's form to Gatehouse as the browser would: a
// cross-origin form post (Origin is the IdP's), with c's cookies.
func (c *client) postACS(f idpForm, idpOrigin string) response {
	c.t.Helper()
	if !strings.HasPrefix(f.action, c.e.srv.URL+"/saml/") {
		c.t.Fatalf("the IdP posts to %q, not to this server's ACS", f.action)
	}
	return c.postRaw(strings.TrimPrefix(f.action, c.e.srv.URL), f.fields.Encode(), http.Header{"Origin": {idpOrigin}})
}

// startSSO goes through the email step for email, which must send the
// browser on to SSO, and follows /saml/{slug}/login; it returns the IdP
// URL Gatehouse redirected to.
func (c *client) startSSO(email, returnTo string) string {
	c.t.Helper()
	form := url.Values{"email": {email}}
	if returnTo != "" {
		form.Set("return_to", returnTo)
	}
	r := c.post("/login", form)
	if r.status != http.StatusOK {
		c.t.Fatalf("email step: %d\n%s", r.status, text(r.body))
	}
	return c.beginSSO(refreshTarget(c.t, r))
}

// beginSSO opens a /saml/{slug}/login path and returns where it redirects.
func (c *client) beginSSO(path string) string {
	c.t.Helper()
	r := c.get(path)
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("GET %s: %d, want 303\n%s", path, r.status, text(r.body))
	}
	return r.location()
}

// bindingCookie returns the SAML browser-binding cookie c holds, or nil.
func (c *client) bindingCookie() *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "gatehouse_saml" {
			return ck
		}
	}
	return nil
}

// startTest posts the console's test sign-in form for the connection slug
// and returns the IdP URL the page then moves on to.
func (c *client) startTest(slug string) string {
	c.t.Helper()
	r := c.post("/saml/"+slug+"/test", nil)
	if r.status != http.StatusOK {
		c.t.Fatalf("POST /saml/%s/test: %d\n%s", slug, r.status, text(r.body))
	}
	return refreshTarget(c.t, r)
}
