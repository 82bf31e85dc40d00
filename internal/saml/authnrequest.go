package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/beevik/etree"
)

// SigAlgRSASHA256 is the only SigAlg RedirectURL signs with.
const SigAlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

// MaxRelayStateBytes is the binding's limit on RelayState (bindings §3.4.3,
// §3.5.3): longer values are truncated or refused by some IdPs.
const MaxRelayStateBytes = 80

// AuthnRequestParams describe one AuthnRequest.
type AuthnRequestParams struct {
	SPEntityID string
	ACSURL     string
	// IdPSSOURL becomes the Destination; the binding requires it when the
	// request is signed and it costs nothing when it is not.
	IdPSSOURL string
	// NameIDFormat, if set, goes into NameIDPolicy/@Format.
	NameIDFormat string
	// Now is the IssueInstant; zero means time.Now().
	Now time.Time
}

// NewAuthnRequest builds a SAML 2.0 AuthnRequest asking for a Response with
// the HTTP-POST binding at p.ACSURL. It returns the request's ID, which the
// caller keeps (bound to the browser) to check the Response's InResponseTo,
// and the XML.
//
// The ID is "_" and 32 hex digits (128 random bits): IDs must not start with
// a digit (xs:ID), and Entra ID requires the same.
func NewAuthnRequest(p AuthnRequestParams) (id string, xml []byte) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("saml: crypto/rand failed: " + err.Error()) // never happens since Go 1.24
	}
	id = "_" + hex.EncodeToString(b)
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}

	doc := etree.NewDocument()
	r := doc.CreateElement("samlp:AuthnRequest")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", id)
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", now.UTC().Format("2006-01-02T15:04:05.000Z"))
	if p.IdPSSOURL != "" {
		r.CreateAttr("Destination", p.IdPSSOURL)
	}
	r.CreateAttr("AssertionConsumerServiceURL", p.ACSURL)
	r.CreateAttr("ProtocolBinding", BindingHTTPPost)
	r.CreateElement("saml:Issuer").SetText(p.SPEntityID)
	policy := r.CreateElement("samlp:NameIDPolicy")
	if p.NameIDFormat != "" {
		policy.CreateAttr("Format", p.NameIDFormat)
	}
	// Entra ID ignores AllowCreate; others refuse to mint a new persistent
	// identifier for a first-time user without it.
	policy.CreateAttr("AllowCreate", "true")

	out, err := doc.WriteToBytes()
	if err != nil {
		panic("saml: serialize AuthnRequest: " + err.Error()) // writing to memory cannot fail
	}
	return id, out
}

// redirectParams are the query parameters the HTTP-Redirect binding owns.
var redirectParams = []string{"SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature", "SAMLEncoding"}

// RedirectURL encodes a request with the HTTP-Redirect binding (bindings
// §3.4.4.1): raw DEFLATE, base64, URL-encoding, appended to idpSSOURL's own
// query parameters (which are kept, in their original encoding). With a
// signer, SigAlg (rsa-sha256) and Signature are added; the signature covers
// the octets "SAMLRequest=…&RelayState=…&SigAlg=…" exactly as they appear in
// the URL, RelayState omitted when empty.
func RedirectURL(idpSSOURL string, requestXML []byte, relayState string, signer *rsa.PrivateKey) (string, error) {
	u, err := url.Parse(idpSSOURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("The IdP's SSO URL %q is not an absolute http(s) URL", truncate(idpSSOURL, 200))
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return "", fmt.Errorf("The IdP's SSO URL %q has a #fragment, which would swallow the SAML parameters", truncate(idpSSOURL, 200))
	}
	if u.RawQuery != "" {
		existing, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return "", fmt.Errorf("The IdP's SSO URL %q has a malformed query: %w", truncate(idpSSOURL, 200), err)
		}
		for _, p := range redirectParams {
			if existing.Has(p) {
				return "", fmt.Errorf("The IdP's SSO URL already has a %s parameter", p)
			}
		}
	}
	if len(relayState) > MaxRelayStateBytes {
		return "", fmt.Errorf("RelayState is %d bytes; the SAML bindings allow at most %d", len(relayState), MaxRelayStateBytes)
	}
	if len(requestXML) == 0 {
		return "", errors.New("empty SAML request")
	}

	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(requestXML); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}

	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if signer != nil {
		q += "&SigAlg=" + url.QueryEscape(SigAlgRSASHA256)
		sum := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, sum[:])
		if err != nil {
			return "", fmt.Errorf("sign AuthnRequest: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	u.ForceQuery = false
	return u.String(), nil
}
