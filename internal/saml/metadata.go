package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Metadata namespace and the binding and NameID format URIs Gatehouse uses.
const (
	nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"

	// BindingHTTPRedirect is the HTTP-Redirect binding (AuthnRequests go to
	// the IdP this way).
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	// BindingHTTPPost is the HTTP-POST binding (Responses come back to the
	// ACS this way).
	BindingHTTPPost = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

	// NameIDFormatPersistent is an opaque, stable identifier per SP.
	NameIDFormatPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	// NameIDFormatEmailAddress is an email address (Entra ID's default,
	// carrying the user principal name).
	NameIDFormatEmailAddress = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	// NameIDFormatUnspecified leaves the interpretation to the IdP (Okta's
	// default, usually the username).
	NameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	// NameIDFormatTransient is a one-time identifier; it cannot link an
	// account and is only listed so it can be recognized.
	NameIDFormatTransient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// MaxMetadataBytes bounds a metadata document, fetched or pasted. Entra ID's
// federation metadata is about 20 KiB and a large ADFS farm's under 100 KiB;
// multi-entity federation aggregates (InCommon, eduGAIN) are far larger and
// are not what an IdP connection should point at.
const MaxMetadataBytes = 1 << 20

// metadataFetchTimeout bounds the whole fetch, redirects and body included.
const metadataFetchTimeout = 10 * time.Second

// Errors from ParseIdPMetadata that callers may want to single out. Their
// text is shown to admins as is.
var (
	ErrMetadataNoIdP           = errors.New("The metadata has no IdPSSODescriptor")
	ErrMetadataNoSigningCert   = errors.New("No signing certificate in the metadata")
	ErrMetadataTooLarge        = fmt.Errorf("The metadata is larger than %d KiB", MaxMetadataBytes>>10)
	ErrMetadataSeveralIdPs     = errors.New("The metadata describes several identity providers; use the metadata of exactly one")
	ErrMetadataNoSSOEndpoint   = errors.New("The IdPSSODescriptor has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
	ErrMetadataURLNotAllowed   = errors.New("The metadata URL must use https (http is accepted only for localhost)")
	ErrMetadataRedirectNotHTTP = errors.New("The metadata URL redirects to an address that is not https")
)

// IdPMetadata is what an IdP connection needs from the IdP's metadata.
type IdPMetadata struct {
	EntityID string
	// SSOURLRedirect and SSOURLPost are the SingleSignOnService locations
	// for the HTTP-Redirect and HTTP-POST bindings ("" when not offered).
	SSOURLRedirect string
	SSOURLPost     string
	// SigningCertificates are the certificates of the IdPSSODescriptor's
	// KeyDescriptors with use="signing" or no use, in document order and
	// without duplicates. Entra ID lists two during a rollover.
	SigningCertificates []*x509.Certificate
	NameIDFormats       []string
	// WantAuthnRequestsSigned is the IdPSSODescriptor's attribute.
	WantAuthnRequestsSigned bool
	// ValidUntil is the earliest validUntil of the IdPSSODescriptor and the
	// descriptors around it; zero when none is set. Parsing does not reject
	// stale metadata: the caller knows the time and decides.
	ValidUntil time.Time
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParseIdPMetadata reads an IdP's SAML metadata: an EntityDescriptor, or an
// EntitiesDescriptor in which exactly one entity has an IDPSSODescriptor for
// SAML 2.0. The document gets the same token-level checks as a Response (no
// DTD or entity declarations, well-formed, round-trip safe). Its signature,
// if any, is not verified: metadata is trusted for having been fetched over
// https from the URL the admin entered, or pasted by the admin.
func ParseIdPMetadata(data []byte) (IdPMetadata, error) {
	var md IdPMetadata
	if len(data) > MaxMetadataBytes {
		return md, ErrMetadataTooLarge
	}
	// Windows tools (and Entra ID's download button) write a byte order
	// mark, which encoding/xml would read as text before the declaration.
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.TrimSpace(data)) == 0 {
		return md, errors.New("The metadata is empty")
	}
	if e := checkXML(data); e != nil {
		if e.Reason == ReasonDoctypeForbidden {
			return md, fmt.Errorf("The metadata contains a DTD (DOCTYPE or ENTITY declaration), which Gatehouse does not accept: %w", e)
		}
		return md, fmt.Errorf("The metadata is not well-formed XML: %w", e)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return md, fmt.Errorf("The metadata is not well-formed XML: %w", err)
	}
	root := doc.Root()

	var entities []*etree.Element
	switch {
	case is(root, nsMetadata, "EntityDescriptor"):
		entities = []*etree.Element{root}
	case is(root, nsMetadata, "EntitiesDescriptor"):
		entities = collectEntities(root)
	default:
		return md, fmt.Errorf("The metadata's root element is <%s>, not a SAML 2.0 EntityDescriptor or EntitiesDescriptor", truncate(root.Tag, 60))
	}

	type candidate struct{ entity, idp *etree.Element }
	var found []candidate
	otherProtocols := false
	for _, ent := range entities {
		for _, d := range children(ent, nsMetadata, "IDPSSODescriptor") {
			if !supportsSAML2(d) {
				otherProtocols = true
				continue
			}
			found = append(found, candidate{ent, d})
		}
	}
	switch {
	case len(found) == 0 && otherProtocols:
		return md, fmt.Errorf("%w for SAML 2.0 (protocolSupportEnumeration does not list %s)", ErrMetadataNoIdP, nsProtocol)
	case len(found) == 0:
		return md, ErrMetadataNoIdP
	case len(found) > 1:
		ids := make([]string, 0, len(found))
		for _, c := range found {
			ids = append(ids, fmt.Sprintf("%q", truncate(attrValue(c.entity, "entityID"), 120)))
			if len(ids) == 5 {
				ids = append(ids, "…")
				break
			}
		}
		return md, fmt.Errorf("%w (found %d: %s)", ErrMetadataSeveralIdPs, len(found), strings.Join(ids, ", "))
	}
	ent, idp := found[0].entity, found[0].idp

	md.EntityID = strings.TrimSpace(attrValue(ent, "entityID"))
	if md.EntityID == "" {
		return md, errors.New("The metadata's EntityDescriptor has no entityID")
	}
	for el := idp; el != nil; el = el.Parent() {
		s, ok := attr(el, "validUntil")
		if !ok {
			continue
		}
		t, ok := parseTime(s)
		if !ok {
			return md, fmt.Errorf("The metadata's validUntil %q is not a date and time", truncate(s, 40))
		}
		if md.ValidUntil.IsZero() || t.Before(md.ValidUntil) {
			md.ValidUntil = t
		}
	}
	md.WantAuthnRequestsSigned = xsBool(attrValue(idp, "WantAuthnRequestsSigned"))

	for _, sso := range children(idp, nsMetadata, "SingleSignOnService") {
		binding, loc := attrValue(sso, "Binding"), strings.TrimSpace(attrValue(sso, "Location"))
		var dst *string
		switch binding {
		case BindingHTTPRedirect:
			dst = &md.SSOURLRedirect
		case BindingHTTPPost:
			dst = &md.SSOURLPost
		default:
			continue // SOAP, Artifact, SimpleSign: not used
		}
		if *dst != "" {
			continue // the first endpoint per binding wins
		}
		if !isHTTPURL(loc) {
			return md, fmt.Errorf("The metadata's SingleSignOnService Location %q is not an http(s) URL", truncate(loc, 200))
		}
		*dst = loc
	}
	if md.SSOURLRedirect == "" && md.SSOURLPost == "" {
		return md, ErrMetadataNoSSOEndpoint
	}

	certs, err := signingCertificates(idp)
	if err != nil {
		return md, err
	}
	if len(certs) == 0 {
		return md, ErrMetadataNoSigningCert
	}
	md.SigningCertificates = certs

	seen := map[string]bool{}
	for _, f := range children(idp, nsMetadata, "NameIDFormat") {
		s, _ := text(f)
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			md.NameIDFormats = append(md.NameIDFormats, s)
		}
	}
	return md, nil
}

// collectEntities returns the EntityDescriptors in an EntitiesDescriptor,
// nested ones included.
func collectEntities(el *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		switch {
		case is(c, nsMetadata, "EntityDescriptor"):
			out = append(out, c)
		case is(c, nsMetadata, "EntitiesDescriptor"):
			out = append(out, collectEntities(c)...)
		}
	}
	return out
}

func supportsSAML2(d *etree.Element) bool {
	for _, p := range strings.Fields(attrValue(d, "protocolSupportEnumeration")) {
		if p == nsProtocol {
			return true
		}
	}
	return false
}

// signingCertificates reads the X.509 certificates of the KeyDescriptors
// usable for signing. A KeyDescriptor without use is for both (metadata
// §2.4.1.1); encryption-only ones are skipped, since trusting an encryption
// key for signatures would widen trust for no reason.
func signingCertificates(idp *etree.Element) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, kd := range children(idp, nsMetadata, "KeyDescriptor") {
		switch strings.TrimSpace(attrValue(kd, "use")) {
		case "", "signing":
		default:
			continue
		}
		for _, ki := range children(kd, nsDSig, "KeyInfo") {
			for _, xd := range children(ki, nsDSig, "X509Data") {
				for _, xc := range children(xd, nsDSig, "X509Certificate") {
					s, _ := text(xc)
					der, err := base64.StdEncoding.DecodeString(stripSpace(s))
					if err != nil {
						return nil, fmt.Errorf("A signing certificate in the metadata is not valid base64: %w", err)
					}
					cert, err := x509.ParseCertificate(der)
					if err != nil {
						return nil, fmt.Errorf("A signing certificate in the metadata cannot be read: %w", err)
					}
					if !containsCert(out, cert) {
						out = append(out, cert)
					}
				}
			}
		}
	}
	return out, nil
}

func xsBool(s string) bool {
	s = strings.TrimSpace(s)
	return s == "true" || s == "1"
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// FetchMetadata downloads an IdP's metadata document. The URL must be https,
// except for loopback hosts (the development IdP); redirects are followed
// only to https URLs, at most five. The whole exchange is bounded by ten
// seconds (or ctx, if sooner) and the body by MaxMetadataBytes, and anything
// but 200 OK is an error. A nil client means http.DefaultClient; the
// client's own redirect policy, if any, still applies after ours.
func FetchMetadata(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("The metadata URL %q is not an absolute http(s) URL", truncate(rawURL, 200))
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s", ErrMetadataURLNotAllowed, u.Redacted())
	}
	if client == nil {
		client = http.DefaultClient
	}
	c := *client // a copy: the caller's client keeps its redirect policy
	prev := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("%w (%s)", ErrMetadataRedirectNotHTTP, req.URL.Redacted())
		}
		if len(via) >= 5 {
			return errors.New("The metadata URL redirects more than 5 times")
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("The metadata URL %s cannot be requested: %w", u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("Fetching the metadata from %s took longer than %s: %w", u.Redacted(), metadataFetchTimeout, err)
		}
		return nil, fmt.Errorf("Cannot fetch the metadata from %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("The metadata URL %s answered %q; expected 200 OK", u.Redacted(), resp.Status)
	}
	if resp.ContentLength > MaxMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("Cannot read the metadata from %s: %w", u.Redacted(), err)
	}
	if len(body) > MaxMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	return body, nil
}

// IsLoopbackHost reports whether host (a hostname or IP literal, without
// port) names this machine: "localhost", a name under .localhost (RFC 6761),
// or a loopback address.
func IsLoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
