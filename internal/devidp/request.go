package devidp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// Limits on what a browser may hand the IdP.
const (
	maxSAMLRequestChars = 16 << 10
	maxInflatedBytes    = 64 << 10
	maxRelayStateBytes  = 1 << 10
)

// authnRequest is the part of an AuthnRequest the development IdP uses.
type authnRequest struct {
	XMLName         xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol AuthnRequest"`
	ID              string   `xml:"ID,attr"`
	Version         string   `xml:"Version,attr"`
	Destination     string   `xml:"Destination,attr"`
	ACSURL          string   `xml:"AssertionConsumerServiceURL,attr"`
	ProtocolBinding string   `xml:"ProtocolBinding,attr"`
	Issuer          string   `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDPolicy    struct {
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
}

// target is where a Response goes and what it answers.
type target struct {
	// RequestID is the AuthnRequest's ID ("" for IdP-initiated login).
	RequestID string
	// Audience is the SP's entity ID: the AuthnRequest's Issuer.
	Audience     string
	ACSURL       string
	NameIDFormat string
}

// decodeRedirectRequest undoes the HTTP-Redirect binding (base64 of raw
// DEFLATE; the query decoding is already done) and reads the AuthnRequest.
// A query string signature, if any, is not checked: the development IdP
// trusts every SP, and only ever posts to ACS URLs on this machine or
// explicitly allowed hosts.
func (i *IdP) decodeRedirectRequest(samlRequest string) (target, error) {
	if samlRequest == "" {
		return target{}, errors.New("There is no SAMLRequest. Start signing in from Gatehouse, or use /idp-initiated for an IdP-initiated login.")
	}
	if len(samlRequest) > maxSAMLRequestChars {
		return target{}, fmt.Errorf("The SAMLRequest is longer than %d characters.", maxSAMLRequestChars)
	}
	compressed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(samlRequest))
	if err != nil {
		return target{}, fmt.Errorf("The SAMLRequest is not base64: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), maxInflatedBytes+1))
	if err != nil {
		return target{}, fmt.Errorf("The SAMLRequest is not DEFLATE-compressed, as the HTTP-Redirect binding requires: %w", err)
	}
	if len(raw) > maxInflatedBytes {
		return target{}, fmt.Errorf("The AuthnRequest is larger than %d KiB.", maxInflatedBytes>>10)
	}
	if err := noDirectives(raw); err != nil {
		return target{}, err
	}
	var r authnRequest
	if err := xml.Unmarshal(raw, &r); err != nil {
		return target{}, fmt.Errorf("The SAMLRequest is not a SAML 2.0 AuthnRequest: %w", err)
	}
	switch {
	case r.ID == "":
		return target{}, errors.New("The AuthnRequest has no ID.")
	case r.Version != "2.0":
		return target{}, fmt.Errorf("The AuthnRequest has Version %q; only 2.0 is supported.", r.Version)
	case strings.TrimSpace(r.Issuer) == "":
		return target{}, errors.New("The AuthnRequest has no Issuer (the SP's entity ID), so there is no audience for the response.")
	case r.ACSURL == "":
		return target{}, errors.New("The AuthnRequest has no AssertionConsumerServiceURL. The development IdP has no SP metadata to look it up in.")
	case r.ProtocolBinding != "" && r.ProtocolBinding != saml.BindingHTTPPost:
		return target{}, fmt.Errorf("The AuthnRequest asks for the %s binding; the development IdP only answers with HTTP-POST.", r.ProtocolBinding)
	case r.Destination != "" && r.Destination != i.ssoURL:
		return target{}, fmt.Errorf("The AuthnRequest is addressed to %s, not to this IdP (%s).", r.Destination, i.ssoURL)
	}
	if err := i.checkACS(r.ACSURL); err != nil {
		return target{}, err
	}
	return target{RequestID: r.ID, Audience: strings.TrimSpace(r.Issuer), ACSURL: r.ACSURL, NameIDFormat: r.NameIDPolicy.Format}, nil
}

// noDirectives rejects DTDs: encoding/xml would not expand their entities,
// but a request carrying one is not from a SAML SP.
func noDirectives(raw []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("The AuthnRequest is not well-formed XML: %w", err)
		}
		if _, ok := tok.(xml.Directive); ok {
			return errors.New("The AuthnRequest contains a DTD, which SAML does not allow.")
		}
	}
}

// idpInitiatedTarget checks the parameters of an IdP-initiated login.
func (i *IdP) idpInitiatedTarget(acs, audience string) (target, error) {
	if acs == "" || strings.TrimSpace(audience) == "" {
		return target{}, errors.New("An IdP-initiated login needs sp=<the ACS URL> and audience=<the SP's entity ID>, both as shown on the IdP connection's page in Gatehouse.")
	}
	if err := i.checkACS(acs); err != nil {
		return target{}, err
	}
	return target{Audience: strings.TrimSpace(audience), ACSURL: acs}, nil
}

// checkACS allows ACS URLs on loopback hosts and on the configured hosts
// only: the IdP signs a valid login for whoever asks, so it must not hand
// one to a site elsewhere.
func (i *IdP) checkACS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("The ACS URL %q is not an absolute http(s) URL.", raw)
	}
	if u.User != nil {
		return fmt.Errorf("The ACS URL %q contains a user name.", u.Redacted())
	}
	host := strings.ToLower(u.Host)
	if saml.IsLoopbackHost(u.Hostname()) || i.allowedHosts[host] || i.allowedHosts[strings.ToLower(u.Hostname())] {
		return nil
	}
	return fmt.Errorf("The ACS URL %s is not on this computer. The development IdP only sends responses to localhost, 127.0.0.1 and ::1, and to hosts allowed with --allow-acs-host.", raw)
}
