package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

var arNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const (
	arSPEntityID = "https://gatehouse.test/saml/metadata"
	arACSURL     = "https://gatehouse.test/saml/acs"
	arSSOURL     = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2"
)

// arRequest is what an IdP reads from our AuthnRequest.
type arRequest struct {
	XMLName         xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol AuthnRequest"`
	ID              string   `xml:"ID,attr"`
	Version         string   `xml:"Version,attr"`
	IssueInstant    string   `xml:"IssueInstant,attr"`
	Destination     string   `xml:"Destination,attr"`
	ACSURL          string   `xml:"AssertionConsumerServiceURL,attr"`
	ProtocolBinding string   `xml:"ProtocolBinding,attr"`
	Issuer          string   `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDPolicy    struct {
		Format      *string `xml:"Format,attr"`
		AllowCreate string  `xml:"AllowCreate,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
}

func TestNewAuthnRequest(t *testing.T) {
	p := AuthnRequestParams{SPEntityID: arSPEntityID, ACSURL: arACSURL, IdPSSOURL: arSSOURL, NameIDFormat: NameIDFormatEmailAddress, Now: arNow}
	id, raw := NewAuthnRequest(p)
	if !regexp.MustCompile(`^_[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("ID %q is not _ and 32 hex digits", id)
	}
	if e := checkXML(raw); e != nil {
		t.Fatalf("our own XML check rejects it: %v", e)
	}
	var r arRequest
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	want := arRequest{ID: id, Version: "2.0", IssueInstant: "2026-03-02T09:30:00.000Z", Destination: arSSOURL, ACSURL: arACSURL, ProtocolBinding: BindingHTTPPost, Issuer: arSPEntityID}
	if r.ID != want.ID || r.Version != want.Version || r.IssueInstant != want.IssueInstant || r.Destination != want.Destination ||
		r.ACSURL != want.ACSURL || r.ProtocolBinding != want.ProtocolBinding || r.Issuer != want.Issuer {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	if r.NameIDPolicy.Format == nil || *r.NameIDPolicy.Format != NameIDFormatEmailAddress || r.NameIDPolicy.AllowCreate != "true" {
		t.Errorf("NameIDPolicy %+v", r.NameIDPolicy)
	}

	t.Run("no NameID format, no destination", func(t *testing.T) {
		_, raw := NewAuthnRequest(AuthnRequestParams{SPEntityID: arSPEntityID, ACSURL: arACSURL, Now: arNow})
		var r arRequest
		if err := xml.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.NameIDPolicy.Format != nil || r.NameIDPolicy.AllowCreate != "true" || r.Destination != "" {
			t.Errorf("NameIDPolicy %+v Destination %q\n%s", r.NameIDPolicy, r.Destination, raw)
		}
	})
	t.Run("IDs are unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 100 {
			id, _ := NewAuthnRequest(p)
			if seen[id] {
				t.Fatalf("ID %s repeated", id)
			}
			seen[id] = true
		}
	})
	t.Run("values are escaped", func(t *testing.T) {
		_, raw := NewAuthnRequest(AuthnRequestParams{SPEntityID: `urn:a"b<c>&`, ACSURL: "https://gatehouse.test/acs?a=1&b=2", Now: arNow})
		var r arRequest
		if err := xml.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.Issuer != `urn:a"b<c>&` || r.ACSURL != "https://gatehouse.test/acs?a=1&b=2" {
			t.Errorf("Issuer %q ACS %q", r.Issuer, r.ACSURL)
		}
	})
}

// arDecode undoes the HTTP-Redirect binding on a URL RedirectURL made.
func arDecode(t *testing.T, redirect string) (xmlBytes []byte, q url.Values) {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	q = u.Query()
	compressed, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xmlBytes, err = io.ReadAll(flate.NewReader(bytes.NewReader(compressed)))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return xmlBytes, q
}

func TestRedirectURLRoundTrip(t *testing.T) {
	sp := mdKeypair(t, "sp")
	_, req := NewAuthnRequest(AuthnRequestParams{SPEntityID: arSPEntityID, ACSURL: arACSURL, IdPSSOURL: arSSOURL, Now: arNow})

	t.Run("unsigned", func(t *testing.T) {
		redirect, err := RedirectURL(arSSOURL, req, "st_8Jx2+/= &?", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(redirect, arSSOURL+"?SAMLRequest=") {
			t.Errorf("URL %s", redirect)
		}
		got, q := arDecode(t, redirect)
		if !bytes.Equal(got, req) {
			t.Errorf("inflated request differs:\n%s\n%s", got, req)
		}
		if q.Get("RelayState") != "st_8Jx2+/= &?" || q.Has("SigAlg") || q.Has("Signature") {
			t.Errorf("query %v", q)
		}
	})
	t.Run("no RelayState", func(t *testing.T) {
		redirect, err := RedirectURL(arSSOURL, req, "", sp.Key)
		if err != nil {
			t.Fatal(err)
		}
		if _, q := arDecode(t, redirect); q.Has("RelayState") {
			t.Errorf("empty RelayState sent: %s", redirect)
		}
		arVerify(t, redirect, sp.Key.Public().(*rsa.PublicKey))
	})
	t.Run("signed, over the exact query octets", func(t *testing.T) {
		redirect, err := RedirectURL(arSSOURL, req, "relay-123", sp.Key)
		if err != nil {
			t.Fatal(err)
		}
		_, q := arDecode(t, redirect)
		if q.Get("SigAlg") != SigAlgRSASHA256 {
			t.Errorf("SigAlg %q", q.Get("SigAlg"))
		}
		arVerify(t, redirect, sp.Cert.PublicKey.(*rsa.PublicKey))
		// The parameters are in the order the binding signs them.
		raw := redirect[strings.Index(redirect, "?")+1:]
		names := []string{}
		for _, kv := range strings.Split(raw, "&") {
			names = append(names, strings.SplitN(kv, "=", 2)[0])
		}
		if strings.Join(names, ",") != "SAMLRequest,RelayState,SigAlg,Signature" {
			t.Errorf("parameter order %v", names)
		}
	})
	t.Run("the SSO URL's own query is kept", func(t *testing.T) {
		const sso = "https://idp.example/saml/sso?tenant=acme&flow=a%20b"
		redirect, err := RedirectURL(sso, req, "r", sp.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(redirect, sso+"&SAMLRequest=") {
			t.Errorf("URL %s", redirect)
		}
		got, q := arDecode(t, redirect)
		if !bytes.Equal(got, req) || q.Get("tenant") != "acme" || q.Get("flow") != "a b" {
			t.Errorf("query %v", q)
		}
		arVerify(t, redirect, sp.Cert.PublicKey.(*rsa.PublicKey))
	})
	for name, c := range map[string]struct{ sso, relay string }{
		"RelayState over 80 bytes": {arSSOURL, strings.Repeat("r", 81)},
		"relative SSO URL":         {"/saml2", ""},
		"SSO URL with a fragment":  {arSSOURL + "#x", ""},
		"SSO URL with SAMLRequest": {arSSOURL + "?SAMLRequest=abc", ""},
		"SSO URL with RelayState":  {arSSOURL + "?RelayState=abc", ""},
	} {
		if _, err := RedirectURL(c.sso, req, c.relay, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := RedirectURL(arSSOURL, req, strings.Repeat("r", 80), nil); err != nil {
		t.Errorf("RelayState of exactly 80 bytes: %v", err)
	}
}

// arVerify checks the Signature parameter over the query exactly as sent,
// from SAMLRequest up to (not including) &Signature=.
func arVerify(t *testing.T, redirect string, pub *rsa.PublicKey) {
	t.Helper()
	raw := redirect[strings.Index(redirect, "?")+1:]
	start := strings.Index(raw, "SAMLRequest=")
	end := strings.Index(raw, "&Signature=")
	if start < 0 || end < 0 {
		t.Fatalf("no signature in %s", redirect)
	}
	sigParam, err := url.QueryUnescape(raw[end+len("&Signature="):])
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigParam)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(raw[start:end]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// arSPs is crewjam/saml's ServiceProviderProvider for one SP.
type arSPs struct{ ed *crewjam.EntityDescriptor }

func (p arSPs) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	if p.ed.EntityID != id {
		return nil, os.ErrNotExist
	}
	return p.ed, nil
}

// TestRedirectURLAcceptedByCrewjamIdP has an independent implementation,
// crewjam/saml's IdP side, read the request with our SP metadata, and check
// the query string signature.
func TestRedirectURLAcceptedByCrewjamIdP(t *testing.T) {
	sp, attacker := mdKeypair(t, "sp"), mdKeypair(t, "attacker")
	newIdP := func(t *testing.T, sso string, signed bool) *crewjam.IdentityProvider {
		md, err := SPMetadata(SPMetadataConfig{EntityID: arSPEntityID, ACSURL: arACSURL, SigningCert: sp.Cert, AuthnRequestsSigned: signed, WantAssertionsSigned: true})
		if err != nil {
			t.Fatal(err)
		}
		ed := &crewjam.EntityDescriptor{}
		if err := xml.Unmarshal(md, ed); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(sso)
		return &crewjam.IdentityProvider{SSOURL: *u, ServiceProviderProvider: arSPs{ed}, Clock: dsig.NewFakeClockAt(arNow)}
	}
	accept := func(t *testing.T, idp *crewjam.IdentityProvider, redirect string) (*crewjam.IdpAuthnRequest, error) {
		t.Helper()
		r, err := crewjam.NewIdpAuthnRequest(idp, httptest.NewRequest(http.MethodGet, redirect, nil))
		if err != nil {
			return nil, err
		}
		return r, r.Validate()
	}
	cases := []struct {
		name     string
		sso      string
		spSigns  bool // the SP metadata says AuthnRequestsSigned
		signer   *rsa.PrivateKey
		tamper   func(string) string
		wantFail error
	}{
		{name: "unsigned", sso: arSSOURL},
		{name: "signed", sso: arSSOURL, spSigns: true, signer: sp.Key},
		{name: "signed, SSO URL with a query", sso: "https://idp.example/sso?tenant=acme", spSigns: true, signer: sp.Key},
		{name: "signed by another key", sso: arSSOURL, spSigns: true, signer: attacker.Key, wantFail: crewjam.ErrInvalidSignature},
		{name: "unsigned although the metadata says signed", sso: arSSOURL, spSigns: true, wantFail: crewjam.ErrInvalidSignature},
		{name: "RelayState changed after signing", sso: arSSOURL, spSigns: true, signer: sp.Key,
			tamper: func(s string) string { return strings.Replace(s, "RelayState=relay-1", "RelayState=relay-2", 1) }, wantFail: crewjam.ErrInvalidSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, req := NewAuthnRequest(AuthnRequestParams{SPEntityID: arSPEntityID, ACSURL: arACSURL, IdPSSOURL: c.sso, NameIDFormat: NameIDFormatEmailAddress, Now: arNow.Add(-10 * time.Second)})
			redirect, err := RedirectURL(c.sso, req, "relay-1", c.signer)
			if err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				redirect = c.tamper(redirect)
			}
			r, err := accept(t, newIdP(t, c.sso, c.spSigns), redirect)
			if c.wantFail != nil {
				if !errors.Is(err, c.wantFail) {
					t.Fatalf("error %v, want %v", err, c.wantFail)
				}
				return
			}
			if err != nil {
				t.Fatalf("crewjam/saml's IdP rejects it: %v", err)
			}
			if r.Request.ID != id || r.RelayState != "relay-1" || r.ACSEndpoint == nil || r.ACSEndpoint.Location != arACSURL {
				t.Errorf("ID %q RelayState %q ACS %+v", r.Request.ID, r.RelayState, r.ACSEndpoint)
			}
		})
	}
}
