package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

var testNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const (
	spEntityID = "http://127.0.0.1:8080/saml/acme/metadata"
	acsURL     = "http://127.0.0.1:8080/saml/acme/acs"
)

var testUsers = []User{
	{Email: "Alice@Example.com", Password: "correct horse", GivenName: "Alice", Surname: "Liddell", Groups: []string{"engineering", "admins"}},
	{Email: "bob@example.com", Password: "battery staple", DisplayName: "Bob B."},
}

// One generated key for the whole test binary: generating takes a while.
var (
	keyOnce sync.Once
	testKey *samltest.Keypair
	keyErr  error
)

func testKeypair(t *testing.T) *samltest.Keypair {
	keyOnce.Do(func() { testKey, keyErr = GenerateKeypair(testNow) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return testKey
}

// startIdP runs a development IdP on a loopback port with the fixed clock.
func startIdP(t *testing.T, edit func(*Config)) (*IdP, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	kp := testKeypair(t)
	cfg := Config{
		BaseURL: "http://" + ts.Listener.Addr().String(),
		Users:   testUsers,
		Key:     kp.Key,
		Cert:    kp.Cert,
		Now:     func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&cfg)
	}
	idp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = idp.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return idp, ts
}

// page is a fetched HTML page with its hidden fields and form action.
type page struct {
	status int
	header http.Header
	body   string
	hidden url.Values
	action string
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

func readPage(t *testing.T, resp *http.Response, err error) page {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(b), hidden: url.Values{}}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		p.hidden.Add(m[1], html.UnescapeString(m[2]))
	}
	if m := actionRE.FindStringSubmatch(p.body); m != nil {
		p.action = html.UnescapeString(m[1])
	}
	// Every page obeys the CSP it is sent with: no scripts, no inline
	// styles.
	for _, bad := range []string{"<script", "style=", "onclick", "onload"} {
		if strings.Contains(strings.ToLower(p.body), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	return p
}

// signIn posts the sign-in form of p with the given credentials.
func signIn(t *testing.T, ts *httptest.Server, p page, email, password string) page {
	t.Helper()
	form := url.Values{}
	for k, v := range p.hidden {
		form[k] = v
	}
	form.Set("email", email)
	form.Set("password", password)
	resp, err := ts.Client().PostForm(ts.URL+"/sso", form)
	return readPage(t, resp, err)
}

// startLogin sends the browser to the IdP with a fresh AuthnRequest, as
// Gatehouse does, and returns the request ID and the sign-in page.
func startLogin(t *testing.T, ts *httptest.Server, md saml.IdPMetadata, acs, nameIDFormat string) (string, page) {
	t.Helper()
	id, req := saml.NewAuthnRequest(saml.AuthnRequestParams{SPEntityID: spEntityID, ACSURL: acs, IdPSSOURL: md.SSOURLRedirect, NameIDFormat: nameIDFormat, Now: testNow})
	redirect, err := saml.RedirectURL(md.SSOURLRedirect, req, "relay-42", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Get(redirect)
	return id, readPage(t, resp, err)
}

func fetchMetadata(t *testing.T, ts *httptest.Server) saml.IdPMetadata {
	t.Helper()
	body, err := saml.FetchMetadata(context.Background(), ts.Client(), ts.URL+"/metadata")
	if err != nil {
		t.Fatal(err)
	}
	md, err := saml.ParseIdPMetadata(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return md
}

func TestMetadata(t *testing.T) {
	idp, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	if md.EntityID != ts.URL+"/metadata" || md.EntityID != idp.EntityID() || md.SSOURLRedirect != ts.URL+"/sso" || md.SSOURLPost != "" {
		t.Errorf("metadata %+v", md)
	}
	if len(md.SigningCertificates) != 1 || !md.SigningCertificates[0].Equal(idp.Certificate()) {
		t.Errorf("certificates %d", len(md.SigningCertificates))
	}
	want := []string{saml.NameIDFormatEmailAddress, saml.NameIDFormatPersistent}
	if strings.Join(md.NameIDFormats, " ") != strings.Join(want, " ") {
		t.Errorf("NameID formats %v", md.NameIDFormats)
	}
}

func validator() *saml.Validator { return &saml.Validator{Now: func() time.Time { return testNow }} }

func trust(md saml.IdPMetadata) saml.IdP {
	return saml.IdP{EntityID: md.EntityID, Certificates: md.SigningCertificates, AllowIdPInitiated: true}
}

func TestSPInitiatedRoundTrip(t *testing.T) {
	_, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	requestID, login := startLogin(t, ts, md, acsURL, saml.NameIDFormatEmailAddress)
	if login.status != http.StatusOK || login.hidden.Get("SAMLRequest") == "" || login.hidden.Get("RelayState") != "relay-42" {
		t.Fatalf("sign-in page %d, hidden %v\n%s", login.status, login.hidden, login.body)
	}
	for _, want := range []string{spEntityID, acsURL, "bob@example.com", "engineering, admins"} {
		if !strings.Contains(login.body, html.EscapeString(want)) {
			t.Errorf("sign-in page does not show %q", want)
		}
	}

	done := signIn(t, ts, login, " alice@example.COM", "correct horse")
	if done.status != http.StatusOK || done.action != acsURL {
		t.Fatalf("status %d, form action %q\n%s", done.status, done.action, done.body)
	}
	if done.hidden.Get("RelayState") != "relay-42" {
		t.Errorf("RelayState %q", done.hidden.Get("RelayState"))
	}
	if csp := done.header.Get("Content-Security-Policy"); strings.Contains(csp, "form-action 'self'") {
		t.Errorf("the page posting to the ACS forbids it: %q", csp)
	}

	a, err := validator().Validate(trust(md), saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), requestID)
	if err != nil {
		t.Fatalf("Gatehouse's validator rejects the response: %v", err)
	}
	if a.InResponseTo != requestID || a.NameID != "alice@example.com" || a.NameIDFormat != saml.NameIDFormatEmailAddress {
		t.Errorf("InResponseTo %q NameID %q (%s)", a.InResponseTo, a.NameID, a.NameIDFormat)
	}
	if want := testNow.Add(5*time.Minute + saml.DefaultMaxSkew); !a.NotOnOrAfter.Equal(want) {
		t.Errorf("NotOnOrAfter %v, want %v (five minutes and the skew)", a.NotOnOrAfter, want)
	}
	id, err := saml.MapIdentity(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "alice@example.com" || id.Subject != ObjectID("alice@example.com") || id.GivenName != "Alice" ||
		id.DisplayName != "Alice Liddell" || strings.Join(id.Groups, ",") != "engineering,admins" {
		t.Errorf("identity %+v", id)
	}

	// Five minutes later the same response is no longer accepted.
	late := &saml.Validator{Now: func() time.Time { return testNow.Add(5*time.Minute + saml.DefaultMaxSkew + time.Second) }}
	if _, err := late.Validate(trust(md), saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), requestID); saml.ReasonOf(err) != saml.ReasonExpired {
		t.Errorf("late validation: %v, want expired", err)
	}
	// It answers this request only.
	if _, err := validator().Validate(trust(md), saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), "_another"); saml.ReasonOf(err) != saml.ReasonInResponseToMismatch {
		t.Errorf("other request: %v", err)
	}
}

func TestPersistentNameID(t *testing.T) {
	_, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	requestID, login := startLogin(t, ts, md, acsURL, saml.NameIDFormatPersistent)
	done := signIn(t, ts, login, "bob@example.com", "battery staple")
	a, err := validator().Validate(trust(md), saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), requestID)
	if err != nil {
		t.Fatal(err)
	}
	if a.NameID != ObjectID("bob@example.com") || a.NameIDFormat != saml.NameIDFormatPersistent {
		t.Errorf("NameID %q (%s)", a.NameID, a.NameIDFormat)
	}
	id, err := saml.MapIdentity(a, nil)
	if err != nil || id.Email != "bob@example.com" || id.DisplayName != "Bob B." || id.Groups != nil {
		t.Errorf("identity %+v, %v", id, err)
	}
}

func TestIdPInitiated(t *testing.T) {
	_, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	resp, err := ts.Client().Get(ts.URL + "/idp-initiated?" + url.Values{"sp": {acsURL}, "audience": {spEntityID}}.Encode())
	login := readPage(t, resp, err)
	if login.status != http.StatusOK {
		t.Fatalf("status %d\n%s", login.status, login.body)
	}
	done := signIn(t, ts, login, "alice@example.com", "correct horse")
	if done.action != acsURL || done.hidden.Has("RelayState") {
		t.Fatalf("action %q hidden %v", done.action, done.hidden)
	}
	a, err := validator().Validate(trust(md), saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), "")
	if err != nil {
		t.Fatal(err)
	}
	if a.InResponseTo != "" {
		t.Errorf("InResponseTo %q in an unsolicited response", a.InResponseTo)
	}
	// A connection that does not allow IdP-initiated login refuses it.
	strict := trust(md)
	strict.AllowIdPInitiated = false
	if _, err := validator().Validate(strict, saml.SP{EntityID: spEntityID, ACSURL: acsURL}, done.hidden.Get("SAMLResponse"), ""); saml.ReasonOf(err) != saml.ReasonUnsolicitedNotAllowed {
		t.Errorf("strict connection: %v", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	_, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	_, login := startLogin(t, ts, md, acsURL, "")
	for name, c := range map[string][2]string{
		"wrong password":          {"alice@example.com", "incorrect horse"},
		"another user's password": {"alice@example.com", "battery staple"},
		"unknown user":            {"mallory@example.com", "correct horse"},
		"empty password":          {"alice@example.com", ""},
	} {
		t.Run(name, func(t *testing.T) {
			p := signIn(t, ts, login, c[0], c[1])
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong email or password.") {
				t.Errorf("status %d\n%s", p.status, p.body)
			}
			if strings.Contains(p.body, "SAMLResponse") || p.action != "/sso" {
				t.Errorf("a response was issued (form action %q)", p.action)
			}
			// The form keeps the request, so the user can try again.
			if p.hidden.Get("SAMLRequest") != login.hidden.Get("SAMLRequest") || p.hidden.Get("RelayState") != "relay-42" {
				t.Errorf("hidden fields lost: %v", p.hidden)
			}
		})
	}
}

func TestACSHosts(t *testing.T) {
	_, ts := startIdP(t, func(c *Config) { c.AllowedACSHosts = []string{"Gatehouse.test:8443", "sso.corp.test"} })
	md := fetchMetadata(t, ts)
	cases := []struct {
		acs  string
		want int
	}{
		{"http://localhost:8080/saml/acs", http.StatusOK},
		{"http://[::1]:8080/saml/acs", http.StatusOK},
		{"https://gatehouse.test:8443/saml/acs", http.StatusOK},
		{"https://sso.corp.test/saml/acs", http.StatusOK},
		{"https://evil.example/saml/acs", http.StatusBadRequest},
		{"https://gatehouse.test/saml/acs", http.StatusBadRequest}, // allowed with port 8443 only
		{"https://gatehouse.test.evil.example:8443/saml/acs", http.StatusBadRequest},
		{"http://127.0.0.1.nip.io/saml/acs", http.StatusBadRequest},
		{"javascript:alert(1)//127.0.0.1", http.StatusBadRequest},
		{"ftp://127.0.0.1/acs", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.acs, func(t *testing.T) {
			_, p := startLogin(t, ts, md, c.acs, "")
			if p.status != c.want {
				t.Fatalf("status %d, want %d\n%s", p.status, c.want, p.body)
			}
			if c.want == http.StatusOK {
				return
			}
			if !strings.Contains(p.body, "not on this computer") && !strings.Contains(p.body, "not an absolute http(s) URL") {
				t.Errorf("no explanation:\n%s", p.body)
			}
			// Posting credentials with the same request is refused too.
			_, req := saml.NewAuthnRequest(saml.AuthnRequestParams{SPEntityID: spEntityID, ACSURL: c.acs, Now: testNow})
			redirect, _ := saml.RedirectURL(md.SSOURLRedirect, req, "", nil)
			u, _ := url.Parse(redirect)
			forged := page{hidden: url.Values{"SAMLRequest": {u.Query().Get("SAMLRequest")}}}
			done := signIn(t, ts, forged, "alice@example.com", "correct horse")
			if done.status != http.StatusBadRequest || strings.Contains(done.body, "SAMLResponse") {
				t.Errorf("POST status %d\n%s", done.status, done.body)
			}
		})
	}
	t.Run("IdP-initiated to an unknown host", func(t *testing.T) {
		resp, err := ts.Client().Get(ts.URL + "/idp-initiated?" + url.Values{"sp": {"https://evil.example/acs"}, "audience": {spEntityID}}.Encode())
		if p := readPage(t, resp, err); p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
		forged := page{hidden: url.Values{"sp": {"https://evil.example/acs"}, "audience": {spEntityID}}}
		if done := signIn(t, ts, forged, "alice@example.com", "correct horse"); done.status != http.StatusBadRequest || strings.Contains(done.body, "SAMLResponse") {
			t.Errorf("POST status %d", done.status)
		}
	})
}

func TestBadRequests(t *testing.T) {
	_, ts := startIdP(t, nil)
	deflated := func(xml string) string {
		redirect, err := saml.RedirectURL("http://127.0.0.1/sso", []byte(xml), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(redirect)
		return u.Query().Get("SAMLRequest")
	}
	const ns = `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`
	good := `<samlp:AuthnRequest ` + ns + ` ID="_1" Version="2.0" AssertionConsumerServiceURL="` + acsURL + `"><saml:Issuer>` + spEntityID + `</saml:Issuer></samlp:AuthnRequest>`
	cases := map[string]struct{ query, want string }{
		"no SAMLRequest":       {"", "There is no SAMLRequest"},
		"not base64":           {"SAMLRequest=" + url.QueryEscape("not*base64!"), "not base64"},
		"not deflated":         {"SAMLRequest=" + url.QueryEscape("PHNhbWxwOkF1dGhuUmVxdWVzdC8+"), "DEFLATE"},
		"not an AuthnRequest":  {"SAMLRequest=" + url.QueryEscape(deflated(`<samlp:LogoutRequest `+ns+` ID="_1" Version="2.0"/>`)), "not a SAML 2.0 AuthnRequest"},
		"no Issuer":            {"SAMLRequest=" + url.QueryEscape(deflated(strings.Replace(good, "<saml:Issuer>"+spEntityID+"</saml:Issuer>", "", 1))), "no Issuer"},
		"no ACS URL":           {"SAMLRequest=" + url.QueryEscape(deflated(strings.Replace(good, `AssertionConsumerServiceURL="`+acsURL+`"`, "", 1))), "no AssertionConsumerServiceURL"},
		"for another IdP":      {"SAMLRequest=" + url.QueryEscape(deflated(strings.Replace(good, `ID="_1"`, `ID="_1" Destination="https://login.microsoftonline.com/x/saml2"`, 1))), "not to this IdP"},
		"artifact binding":     {"SAMLRequest=" + url.QueryEscape(deflated(strings.Replace(good, `ID="_1"`, `ID="_1" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"`, 1))), "only answers with HTTP-POST"},
		"DTD":                  {"SAMLRequest=" + url.QueryEscape(deflated(`<!DOCTYPE x [<!ENTITY e "x">]>`+good)), "DTD"},
		"RelayState too large": {"SAMLRequest=" + url.QueryEscape(deflated(good)) + "&RelayState=" + strings.Repeat("r", 1025), "RelayState"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := ts.Client().Get(ts.URL + "/sso?" + c.query)
			p := readPage(t, resp, err)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, html.EscapeString(c.want)) {
				t.Errorf("status %d, want 400 mentioning %q\n%s", p.status, c.want, p.body)
			}
		})
	}
	t.Run("the well-formed one is accepted", func(t *testing.T) {
		resp, err := ts.Client().Get(ts.URL + "/sso?SAMLRequest=" + url.QueryEscape(deflated(good)))
		if p := readPage(t, resp, err); p.status != http.StatusOK {
			t.Errorf("status %d\n%s", p.status, p.body)
		}
	})
}

func TestPagesAndAssets(t *testing.T) {
	idp, ts := startIdP(t, nil)
	resp, err := ts.Client().Get(ts.URL + "/")
	p := readPage(t, resp, err)
	if p.status != http.StatusOK || !strings.Contains(p.body, idp.MetadataURL()) || !strings.Contains(p.body, saml.Fingerprint(idp.Certificate())) {
		t.Errorf("index %d\n%s", p.status, p.body)
	}
	resp, err = ts.Client().Get(ts.URL + "/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = ts.Client().Get(ts.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", resp.StatusCode)
	}
}

func TestNewChecksConfig(t *testing.T) {
	kp := testKeypair(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := samltest.NewCertificate(otherKey, "other", testNow, testNow.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	base := Config{BaseURL: "http://127.0.0.1:8081", Users: testUsers, Key: kp.Key, Cert: kp.Cert}
	cases := map[string]func(*Config){
		"base URL with a path":  func(c *Config) { c.BaseURL = "http://127.0.0.1:8081/idp" },
		"base URL not http":     func(c *Config) { c.BaseURL = "127.0.0.1:8081" },
		"no users":              func(c *Config) { c.Users = nil },
		"user without password": func(c *Config) { c.Users = []User{{Email: "a@example.com"}} },
		"duplicate users": func(c *Config) {
			c.Users = []User{{Email: "a@example.com", Password: "x"}, {Email: "A@example.com", Password: "y"}}
		},
		"certificate, no key": func(c *Config) { c.Key = nil },
		"another key's cert":  func(c *Config) { c.Cert = otherCert },
	}
	for name, edit := range cases {
		cfg := base
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	t.Run("a key without certificate gets one", func(t *testing.T) {
		cfg := base
		cfg.Cert = nil
		cfg.BaseURL = "http://localhost:8081/"
		idp, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if idp.EntityID() != "http://localhost:8081/metadata" || idp.Certificate() == nil {
			t.Errorf("entity %q", idp.EntityID())
		}
	})
}

func TestParseUsers(t *testing.T) {
	users, err := ParseUsers([]byte(`
users:
  - email: alice@example.com
    password: correct horse
    given_name: Alice
    surname: Liddell
    groups: [engineering, admins]
  - {email: bob@example.com, password: pw, display_name: Bob}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].GivenName != "Alice" || strings.Join(users[0].Groups, ",") != "engineering,admins" || users[1].DisplayName != "Bob" {
		t.Errorf("users %+v", users)
	}
	for name, doc := range map[string]string{
		"unknown key":       "users:\n  - {email: a@example.com, password: x, groupz: [a]}\n",
		"no password":       "users:\n  - {email: a@example.com}\n",
		"not an email":      "users:\n  - {email: alice, password: x}\n",
		"duplicate email":   "users:\n  - {email: a@example.com, password: x}\n  - {email: A@Example.com, password: y}\n",
		"not a list":        "users: alice\n",
		"top-level unknown": "people: []\n",
	} {
		if _, err := ParseUsers([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Every problem is reported at once.
	_, err = ParseUsers([]byte("users:\n  - {email: alice}\n  - {email: b@example.com}\n"))
	if err == nil || !strings.Contains(err.Error(), "user 1") || !strings.Contains(err.Error(), "user 2") {
		t.Errorf("error %v", err)
	}
}
