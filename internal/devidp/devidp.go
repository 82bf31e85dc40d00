// Package devidp is a small SAML 2.0 identity provider for trying Gatehouse
// on one machine: it answers SP-initiated (HTTP-Redirect) and IdP-initiated
// logins for a fixed list of users with Entra-ID-shaped, signed Responses.
//
// It is a development tool. Passwords are plain text, every SP is trusted,
// and Responses are only ever posted to ACS URLs on this machine or on
// explicitly allowed hosts. `gatehouse serve` never mounts it; it runs as
// `gatehouse devidp`.
package devidp

import (
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// Config configures the development IdP.
type Config struct {
	// BaseURL is where browsers reach the IdP, e.g. http://127.0.0.1:8081.
	// The entity ID is BaseURL + "/metadata" and the SSO URL BaseURL +
	// "/sso".
	BaseURL string
	Users   []User
	// Key and Cert sign Responses. A nil Key is generated (so is a nil
	// Cert, self-signed for Key); a restarted IdP with a new key is no
	// longer trusted by Gatehouse, which is why the command saves them.
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// AllowedACSHosts are hosts ("host" or "host:port") besides loopback
	// that Responses may be posted to, e.g. "gatehouse.test:8443".
	AllowedACSHosts []string
	// Logger receives a line per sign-in; nil discards.
	Logger *slog.Logger
}

// IdP is a running development identity provider.
type IdP struct {
	baseURL, entityID, ssoURL string
	tenantID                  string
	users                     []User
	byEmail                   map[string]User
	signer                    *samltest.IdP
	cert                      *x509.Certificate
	now                       func() time.Time
	allowedHosts              map[string]bool
	pages                     *template.Template
	css                       []byte
	log                       *slog.Logger
}

// New checks cfg and prepares the IdP.
func New(cfg Config) (*IdP, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("devidp: base URL %q must be an http(s) URL without a path, like http://127.0.0.1:8081", cfg.BaseURL)
	}
	if len(cfg.Users) == 0 {
		return nil, errors.New("devidp: no users; add at least one (email and password)")
	}
	if err := checkUsers(cfg.Users); err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	kp, err := keypair(cfg.Key, cfg.Cert, now())
	if err != nil {
		return nil, err
	}
	pages, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("devidp: templates: %w", err)
	}
	css, err := assets.ReadFile("static/style.css")
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	i := &IdP{
		baseURL:      base,
		entityID:     base + "/metadata",
		ssoURL:       base + "/sso",
		users:        cfg.Users,
		byEmail:      map[string]User{},
		cert:         kp.Cert,
		now:          now,
		allowedHosts: map[string]bool{},
		pages:        pages,
		css:          css,
		log:          log,
	}
	i.tenantID = uuid.NewSHA1(idNamespace, []byte("tenant:"+i.entityID)).String()
	i.signer = &samltest.IdP{Flavor: samltest.Entra, EntityID: i.entityID, Key: kp}
	for _, u := range cfg.Users {
		i.byEmail[strings.ToLower(strings.TrimSpace(u.Email))] = u
	}
	for _, h := range cfg.AllowedACSHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			i.allowedHosts[h] = true
		}
	}
	return i, nil
}

// keypair returns the signing key pair, generating what is missing.
func keypair(key *rsa.PrivateKey, cert *x509.Certificate, now time.Time) (*samltest.Keypair, error) {
	switch {
	case key == nil && cert != nil:
		return nil, errors.New("devidp: a certificate was given without its private key")
	case key == nil:
		return GenerateKeypair(now)
	case cert == nil:
		c, err := samltest.NewCertificate(key, certCommonName, now.Add(-time.Hour), now.AddDate(10, 0, 0))
		if err != nil {
			return nil, fmt.Errorf("devidp: %w", err)
		}
		return &samltest.Keypair{Key: key, Cert: c}, nil
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("devidp: the certificate is not for the private key")
	}
	return &samltest.Keypair{Key: key, Cert: cert}, nil
}

const certCommonName = "Gatehouse development IdP"

// GenerateKeypair makes a 2048-bit RSA key and a self-signed certificate
// valid for ten years from now.
func GenerateKeypair(now time.Time) (*samltest.Keypair, error) {
	kp, err := samltest.NewKeypair(certCommonName, now.Add(-time.Hour), now.AddDate(10, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	return kp, nil
}

// EntityID is the IdP's entity ID (its metadata URL).
func (i *IdP) EntityID() string { return i.entityID }

// MetadataURL is where the IdP metadata is served; Gatehouse's IdP
// connection takes it as its metadata URL.
func (i *IdP) MetadataURL() string { return i.entityID }

// SSOURL is the SingleSignOnService (HTTP-Redirect) endpoint.
func (i *IdP) SSOURL() string { return i.ssoURL }

// Certificate is the signing certificate.
func (i *IdP) Certificate() *x509.Certificate { return i.cert }

// Handler serves the IdP:
//
//	GET  /               what this is and where the metadata is
//	GET  /metadata       IdP metadata
//	GET  /sso            HTTP-Redirect AuthnRequest → sign-in page
//	POST /sso            credentials → page that posts the Response to the ACS
//	GET  /idp-initiated  ?sp=<ACS URL>&audience=<SP entity ID> → sign-in page
//	GET  /static/style.css
func (i *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", i.handleIndex)
	mux.HandleFunc("GET /metadata", i.handleMetadata)
	mux.HandleFunc("GET /sso", i.handleSSO)
	mux.HandleFunc("POST /sso", i.handleSignIn)
	mux.HandleFunc("GET /idp-initiated", i.handleIdPInitiated)
	mux.HandleFunc("GET /static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(i.css)
	})
	return securityHeaders(mux)
}

// securityHeaders sets a strict policy: no scripts at all, styles from the
// stylesheet only, forms to this origin only. The page that posts the
// Response to the ACS widens form-action itself.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspBase+"; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

const cspBase = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

func (i *IdP) handleIndex(w http.ResponseWriter, r *http.Request) {
	i.render(w, http.StatusOK, "index.html", map[string]any{
		"Title": "Development IdP", "EntityID": i.entityID, "MetadataURL": i.MetadataURL(), "SSOURL": i.ssoURL,
		"Fingerprint": saml.Fingerprint(i.cert), "Users": i.users,
	})
}

func (i *IdP) handleMetadata(w http.ResponseWriter, r *http.Request) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", "urn:oasis:names:tc:SAML:2.0:metadata")
	ed.CreateAttr("xmlns:ds", "http://www.w3.org/2000/09/xmldsig#")
	ed.CreateAttr("entityID", i.entityID)
	d := ed.CreateElement("md:IDPSSODescriptor")
	d.CreateAttr("WantAuthnRequestsSigned", "false")
	d.CreateAttr("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
	kd := d.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(i.cert.Raw))
	d.CreateElement("md:NameIDFormat").SetText(saml.NameIDFormatEmailAddress)
	d.CreateElement("md:NameIDFormat").SetText(saml.NameIDFormatPersistent)
	sso := d.CreateElement("md:SingleSignOnService")
	sso.CreateAttr("Binding", saml.BindingHTTPRedirect)
	sso.CreateAttr("Location", i.ssoURL)
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(out)
}

// loginForm is the sign-in page's data. Hidden carries what POST /sso needs
// to rebuild the target: the original SAMLRequest (re-read and re-checked,
// so nothing in the form is trusted on its own) or the IdP-initiated sp and
// audience, and the RelayState.
type loginForm struct {
	Title        string
	Target       target
	IdPInitiated bool
	Hidden       []field
	Email        string
	Error        string
	Users        []User
}

type field struct{ Name, Value string }

func (i *IdP) handleSSO(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := i.decodeRedirectRequest(q.Get("SAMLRequest"))
	if err != nil {
		i.renderError(w, http.StatusBadRequest, err)
		return
	}
	relay := q.Get("RelayState")
	if len(relay) > maxRelayStateBytes {
		i.renderError(w, http.StatusBadRequest, fmt.Errorf("The RelayState is longer than %d bytes.", maxRelayStateBytes))
		return
	}
	i.renderLogin(w, http.StatusOK, t, []field{{"SAMLRequest", q.Get("SAMLRequest")}, {"RelayState", relay}}, "", "")
}

func (i *IdP) handleIdPInitiated(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := i.idpInitiatedTarget(q.Get("sp"), q.Get("audience"))
	if err != nil {
		i.renderError(w, http.StatusBadRequest, err)
		return
	}
	relay := q.Get("RelayState")
	if len(relay) > maxRelayStateBytes {
		i.renderError(w, http.StatusBadRequest, fmt.Errorf("The RelayState is longer than %d bytes.", maxRelayStateBytes))
		return
	}
	i.renderLogin(w, http.StatusOK, t, []field{{"sp", t.ACSURL}, {"audience", t.Audience}, {"RelayState", relay}}, "", "")
}

func (i *IdP) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.renderError(w, http.StatusBadRequest, fmt.Errorf("The form could not be read: %w", err))
		return
	}
	f := r.PostForm
	var (
		t      target
		err    error
		hidden []field
	)
	relay := f.Get("RelayState")
	if req := f.Get("SAMLRequest"); req != "" {
		t, err = i.decodeRedirectRequest(req)
		hidden = []field{{"SAMLRequest", req}, {"RelayState", relay}}
	} else {
		t, err = i.idpInitiatedTarget(f.Get("sp"), f.Get("audience"))
		hidden = []field{{"sp", f.Get("sp")}, {"audience", f.Get("audience")}, {"RelayState", relay}}
	}
	if err == nil && len(relay) > maxRelayStateBytes {
		err = fmt.Errorf("The RelayState is longer than %d bytes.", maxRelayStateBytes)
	}
	if err != nil {
		i.renderError(w, http.StatusBadRequest, err)
		return
	}

	email := strings.ToLower(strings.TrimSpace(f.Get("email")))
	u, known := i.byEmail[email]
	// Compare anyway for unknown users; a dev tool need not hide who
	// exists, but it costs nothing to behave like a real one.
	pw := u.Password
	if !known {
		pw = "\x00unknown user"
	}
	if subtle.ConstantTimeCompare([]byte(f.Get("password")), []byte(pw)) != 1 || !known {
		i.log.Info("devidp: sign-in refused", "email", email, "audience", t.Audience)
		i.renderLogin(w, http.StatusUnauthorized, t, hidden, f.Get("email"), "Wrong email or password.")
		return
	}

	xmlResp, err := i.buildResponse(u, t)
	if err != nil {
		i.renderError(w, http.StatusInternalServerError, fmt.Errorf("Could not build the SAML Response: %w", err))
		return
	}
	i.log.Info("devidp: signed in", "email", email, "audience", t.Audience, "acs", t.ACSURL, "in_response_to", t.RequestID)
	// Browsers apply form-action to where the form posts and, in Chrome,
	// to the redirects that follow; Gatehouse's ACS redirects onwards to
	// wherever the sign-in was for, so this page does not restrict it.
	w.Header().Set("Content-Security-Policy", cspBase)
	i.render(w, http.StatusOK, "post.html", map[string]any{
		"Title":        "Continue to the application",
		"Target":       t,
		"User":         u,
		"Email":        email,
		"SAMLResponse": base64.StdEncoding.EncodeToString(xmlResp),
		"RelayState":   relay,
		"XML":          string(xmlResp),
	})
}

func (i *IdP) renderLogin(w http.ResponseWriter, status int, t target, hidden []field, email, msg string) {
	i.render(w, status, "login.html", loginForm{
		Title:        "Sign in",
		Target:       t,
		IdPInitiated: t.RequestID == "",
		Hidden:       hidden,
		Email:        email,
		Error:        msg,
		Users:        i.users,
	})
}

func (i *IdP) renderError(w http.ResponseWriter, status int, err error) {
	i.render(w, status, "error.html", map[string]any{"Title": "Cannot sign in", "Message": err.Error()})
}

func (i *IdP) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := i.pages.ExecuteTemplate(w, name, data); err != nil {
		i.log.Error("devidp: render", "template", name, "err", err)
	}
}
