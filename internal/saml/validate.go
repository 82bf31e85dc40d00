package saml

import (
	"crypto/rsa"
	"crypto/x509"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
)

// IdP is the trust configuration of one upstream identity provider, as the
// connections store holds it.
type IdP struct {
	// EntityID must equal the Issuer of the Response (if it has one) and of
	// the Assertion.
	EntityID string
	// Certificates are the signing certificates trusted for this IdP. List
	// several during a rollover; a signature made with any of them is
	// accepted. A certificate sent in the message's KeyInfo is never trusted
	// for being there.
	Certificates []*x509.Certificate
	// AllowSHA1 accepts rsa-sha1 signatures and sha1 digests (old ADFS
	// farms), adding the warning "sha1_signature" to the result.
	AllowSHA1 bool
	// AllowExpiredCertificates accepts signatures made with a trusted
	// certificate outside its validity dates (many IdPs keep using expired
	// self-signed certificates), adding "expired_certificate_allowed".
	AllowExpiredCertificates bool
	// AllowIdPInitiated accepts unsolicited responses (expectedRequestID "").
	AllowIdPInitiated bool
}

// SP is Gatehouse's side of one connection.
type SP struct {
	// EntityID must be listed in every AudienceRestriction.
	EntityID string
	// ACSURL must equal the Response's Destination (when present) and the
	// bearer SubjectConfirmationData's Recipient. Compared byte for byte, so
	// configure it exactly as it appears in the SP metadata.
	ACSURL string
	// DecryptionKey decrypts EncryptedAssertions; without it they are
	// rejected. DecryptionCert is its certificate, published in metadata.
	DecryptionKey  *rsa.PrivateKey
	DecryptionCert *x509.Certificate
}

// Validator validates SAML Responses posted to the ACS. The zero value is
// ready to use; it holds no state between calls and is safe for concurrent
// use.
type Validator struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the clock skew tolerated on every time check. Zero means
	// DefaultMaxSkew; values above MaxAllowedSkew are reduced to it.
	MaxSkew time.Duration
	// MaxBodyBytes limits the SAMLResponse form value, before and after
	// base64 decoding. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int

	// skipAssertionCount disables the one-assertion rule, so tests can show
	// that the layers behind it still stop wrapping attacks on their own.
	// Never set outside tests.
	skipAssertionCount bool
	// decrypt replaces xmlenc.Decrypt (each call on an EncryptedKey is one
	// RSA private-key operation), so tests can count the attempts an
	// attacker's response costs. Never set outside tests.
	decrypt func(key any, el *etree.Element) ([]byte, error)
}

// Defaults for Validator.
const (
	DefaultMaxSkew      = 3 * time.Minute
	MaxAllowedSkew      = 3 * time.Minute
	DefaultMaxBodyBytes = defaultMaxBodyBytes

	minRSABits = 2048
)

// Assertion is what a validated Response asserts about the user.
type Assertion struct {
	// ID is the Assertion's ID: the replay cache key (with Issuer).
	ID     string
	Issuer string
	// NameID is the subject's identifier, the full text of the element.
	NameID       string
	NameIDFormat string
	SessionIndex string
	// InResponseTo is the request ID the response answers ("" when
	// unsolicited).
	InResponseTo string
	AuthnInstant time.Time
	// NotOnOrAfter is the last instant at which this Assertion could still
	// be accepted by any node, skew included: the replay cache must keep ID
	// until then.
	NotOnOrAfter time.Time
	// Attributes maps each Attribute Name to its values, in document order.
	Attributes map[string][]string
	// Warnings lists the Warning* codes of rules relaxed for this response.
	Warnings []string
	// SignedElement is "Response", "Assertion" or "both": what carried a
	// valid signature.
	SignedElement string
}

func (v *Validator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Validator) skew() time.Duration {
	switch {
	case v.MaxSkew <= 0:
		return DefaultMaxSkew
	case v.MaxSkew > MaxAllowedSkew:
		return MaxAllowedSkew
	}
	return v.MaxSkew
}

func (v *Validator) maxBody() int {
	if v.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return v.MaxBodyBytes
}

// Validate checks a SAMLResponse form value (base64, as posted by the
// browser) against the connection's IdP and SP settings. expectedRequestID
// is the ID of the AuthnRequest this browser was sent with, or "" when no
// request is pending (IdP-initiated login). On success it returns the
// asserted identity; on failure the error is always an *Error.
//
// Validate does not remember anything: the caller must reject a replayed
// Assertion ID (see the package documentation).
func (v *Validator) Validate(idp IdP, sp SP, samlResponse string, expectedRequestID string) (*Assertion, error) {
	raw, err := v.Decode(samlResponse)
	if err != nil {
		return nil, err
	}
	return v.ValidateDecoded(idp, sp, raw, expectedRequestID)
}

// Decode turns the SAMLResponse form value into the XML document, within
// the validator's size limit. A caller that must look at the document
// before validating it (to find which request it answers) decodes once and
// passes the bytes to ValidateDecoded.
func (v *Validator) Decode(samlResponse string) ([]byte, error) {
	raw, e := decodeBody(samlResponse, v.maxBody())
	if e != nil {
		return nil, e
	}
	return raw, nil
}

// ValidateDecoded is Validate for a document Decode returned.
func (v *Validator) ValidateDecoded(idp IdP, sp SP, raw []byte, expectedRequestID string) (*Assertion, error) {
	a, e := v.validate(idp, sp, raw, expectedRequestID)
	if e != nil {
		return nil, e
	}
	return a, nil
}

// validation carries the state of one Validate call.
type validation struct {
	idp      IdP
	sp       SP
	now      time.Time
	skew     time.Duration
	expected string
	warnings []string
	decrypt  func(key any, el *etree.Element) ([]byte, error)
}

func (c *validation) warn(w string) {
	for _, x := range c.warnings {
		if x == w {
			return
		}
	}
	c.warnings = append(c.warnings, w)
}

func (v *Validator) validate(idp IdP, sp SP, raw []byte, expected string) (*Assertion, *Error) {
	c := &validation{idp: idp, sp: sp, now: v.now(), skew: v.skew(), expected: expected, decrypt: v.decrypt}
	if c.decrypt == nil {
		c.decrypt = xmlenc.Decrypt
	}
	if e := checkConfig(idp, sp); e != nil {
		return nil, e
	}
	if len(raw) > v.maxBody() {
		return nil, fail(ReasonTooLarge, "SAMLResponse is %d bytes, limit %d", len(raw), v.maxBody())
	}
	root, e := parseDocument(raw)
	if e != nil {
		return nil, e
	}
	if !is(root, nsProtocol, "Response") {
		return nil, fail(ReasonMalformed, "root element is <%s>, not samlp:Response", truncate(root.Tag, 40))
	}
	if ver := attrValue(root, "Version"); ver != "2.0" {
		return nil, fail(ReasonMalformed, "Response Version %q, want 2.0", truncate(ver, 20))
	}
	if e := checkStatus(root); e != nil {
		return nil, e
	}
	facts, e := scanTree(root)
	if e != nil {
		return nil, e
	}
	if !v.skipAssertionCount && len(facts.assertions) > 1 {
		return nil, fail(ReasonMultipleAssertions, "%d assertions in the document; exactly one is allowed", len(facts.assertions))
	}
	if len(facts.assertions) == 0 {
		return nil, fail(ReasonMalformed, "Response with status Success has no assertion")
	}
	assertion, e := directAssertion(root, v.skipAssertionCount)
	if e != nil {
		return nil, e
	}
	// Signatures may only sit directly in the Response or directly in its
	// Assertion. One anywhere else (in Extensions, in another Signature, in
	// an Advice) is a wrapping attempt: reject before verifying anything.
	var respSig, asrtSig *etree.Element
	for _, s := range facts.signatures {
		switch p := s.Parent(); {
		case p == root && respSig == nil:
			respSig = s
		case p == assertion && asrtSig == nil && is(assertion, nsAssertion, "Assertion"):
			asrtSig = s
		default:
			return nil, fail(ReasonSignatureWrapping, "Signature inside <%s> is not the enveloped signature of the Response or its Assertion", p.Tag)
		}
	}

	resp := root
	signedResponse := false
	if respSig != nil {
		info, e := inspectSignature(respSig, root, idp.AllowSHA1)
		if e != nil {
			return nil, e
		}
		verified, cert, e := verifySignature(root, respSig, info, idp.Certificates)
		if e != nil {
			return nil, e
		}
		if e := c.checkCertificate(cert, info); e != nil {
			return nil, e
		}
		// From here on the Response, and the Assertion in it, are read
		// from what the signature covers.
		resp, signedResponse = verified, true
		if assertion, e = directAssertion(resp, false); e != nil {
			return nil, e
		}
	}

	if is(assertion, nsAssertion, "EncryptedAssertion") {
		if assertion, e = c.decryptAssertion(assertion); e != nil {
			return nil, e
		}
		// The decrypted Assertion's own Signature, if any, is the only one
		// it may contain.
		for _, s := range findAll(assertion, nsDSig, "Signature") {
			if s.Parent() != assertion || asrtSig != nil {
				return nil, fail(ReasonSignatureWrapping, "Signature inside <%s> of the decrypted assertion", s.Parent().Tag)
			}
			asrtSig = s
		}
	} else if signedResponse {
		// Read the Assertion's signature from the verified copy.
		if asrtSig, e = oneChild(assertion, nsDSig, "Signature"); e != nil {
			return nil, fail(ReasonSignatureWrapping, "%s", e.Detail)
		}
	}

	signedAssertion := false
	if asrtSig != nil {
		info, e := inspectSignature(asrtSig, assertion, idp.AllowSHA1)
		if e != nil {
			return nil, e
		}
		verified, cert, e := verifySignature(assertion, asrtSig, info, idp.Certificates)
		if e != nil {
			return nil, e
		}
		if e := c.checkCertificate(cert, info); e != nil {
			return nil, e
		}
		assertion, signedAssertion = verified, true
	}
	if !signedResponse && !signedAssertion {
		return nil, fail(ReasonUnsigned, "neither the Response nor the Assertion is signed")
	}

	if e := c.checkResponse(resp, signedResponse); e != nil {
		return nil, e
	}
	out, e := c.readAssertion(assertion)
	if e != nil {
		return nil, e
	}
	switch {
	case signedResponse && signedAssertion:
		out.SignedElement = "both"
	case signedResponse:
		out.SignedElement = "Response"
	default:
		out.SignedElement = "Assertion"
	}
	out.Warnings = c.warnings
	return out, nil
}

// checkConfig refuses a connection with empty identifiers: an empty
// EntityID or ACS URL would match an assertion that simply omits the field.
func checkConfig(idp IdP, sp SP) *Error {
	switch {
	case idp.EntityID == "":
		return fail(ReasonIssuerMismatch, "the IdP connection has no entity ID configured")
	case sp.EntityID == "":
		return fail(ReasonAudienceMismatch, "the SP entity ID is not configured")
	case sp.ACSURL == "":
		return fail(ReasonRecipientMismatch, "the SP ACS URL is not configured")
	}
	return nil
}

// parseDocument runs the token-level checks and builds the tree.
func parseDocument(raw []byte) (*etree.Element, *Error) {
	if e := checkXML(raw); e != nil {
		return nil, e
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, failWrap(ReasonMalformed, err, "cannot parse XML")
	}
	root := doc.Root()
	if root == nil {
		return nil, fail(ReasonMalformed, "no root element")
	}
	return root, nil
}

// checkCertificate applies the validity dates of the certificate that
// verified a signature, and records SHA-1 use.
func (c *validation) checkCertificate(cert *x509.Certificate, info sigInfo) *Error {
	if info.sha1 {
		c.warn(WarningSHA1Signature)
	}
	// 1024-bit RSA has been deprecated since 2013 and every IdP we target
	// signs with 2048 bits or more; a short key is refused whatever the
	// connection allows.
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && pub.N.BitLen() < minRSABits {
		return fail(ReasonWeakSignatureAlgorithm, "signing certificate %s has a %d-bit RSA key, minimum %d", Fingerprint(cert), pub.N.BitLen(), minRSABits)
	}
	if c.now.Before(cert.NotBefore) || c.now.After(cert.NotAfter) {
		if !c.idp.AllowExpiredCertificates {
			return fail(ReasonCertificateExpired, "signing certificate %s is valid from %s to %s", Fingerprint(cert), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
		}
		c.warn(WarningExpiredCertificateAllowed)
	}
	return nil
}

// directAssertion returns the Assertion or EncryptedAssertion that is a
// direct child of the Response. One found anywhere else was counted by
// scanTree but is never used.
func directAssertion(resp *etree.Element, lenient bool) (*etree.Element, *Error) {
	var found []*etree.Element
	for _, ch := range resp.ChildElements() {
		if is(ch, nsAssertion, "Assertion") || is(ch, nsAssertion, "EncryptedAssertion") {
			found = append(found, ch)
		}
	}
	switch {
	case len(found) == 1, len(found) > 1 && lenient:
		return found[0], nil
	case len(found) == 0:
		return nil, fail(ReasonSignatureWrapping, "the assertion is not a direct child of the Response")
	}
	return nil, fail(ReasonMultipleAssertions, "%d assertions in the Response", len(found))
}

func findAll(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	walk(el, func(e *etree.Element) {
		if is(e, ns, local) {
			out = append(out, e)
		}
	})
	return out
}
