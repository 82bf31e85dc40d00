package saml

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Algorithm URIs. Only exclusive canonicalization without comments is
// accepted: the "WithComments" variants and inclusive c14n are never used by
// the IdPs we target, and every extra algorithm is extra attack surface.
const (
	algExcC14N    = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped  = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algDigestSHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// signatureMethods maps the SignatureMethod URIs we accept to whether they
// are SHA-1 based (allowed only with IdP.AllowSHA1).
var signatureMethods = map[string]bool{
	dsig.RSASHA256SignatureMethod:   false,
	dsig.RSASHA384SignatureMethod:   false,
	dsig.RSASHA512SignatureMethod:   false,
	dsig.ECDSASHA256SignatureMethod: false,
	dsig.ECDSASHA384SignatureMethod: false,
	dsig.ECDSASHA512SignatureMethod: false,
	dsig.RSASHA1SignatureMethod:     true,
	dsig.ECDSASHA1SignatureMethod:   true,
}

// digestMethods is the same for DigestMethod. These are exactly the URIs
// goxmldsig implements.
var digestMethods = map[string]bool{
	"http://www.w3.org/2001/04/xmlenc#sha256":       false,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": false,
	"http://www.w3.org/2001/04/xmlenc#sha512":       false,
	algDigestSHA1: true,
}

// sigInfo is what inspectSignature learned about a ds:Signature before any
// cryptography ran.
type sigInfo struct {
	sha1 bool
	// keyInfoCert is the certificate the signer claims to have used. It is
	// never trusted; it only orders the trusted certificates to try and
	// tells "signed by a certificate you have not configured" apart from
	// "signature broken" when nothing trusted verifies.
	keyInfoCert *x509.Certificate
}

// inspectSignature checks the shape and algorithms of sig, an enveloped
// signature that must sign its parent element signed. It runs before
// verification so that a wrapped or oddly built signature is reported as
// such, and so that goxmldsig only ever sees the one shape we understand:
// one Reference to the parent's ID, enveloped + exc-c14n transforms.
func inspectSignature(sig, signed *etree.Element, allowSHA1 bool) (sigInfo, *Error) {
	var info sigInfo
	var signedInfo, sigValue, keyInfo *etree.Element
	for _, c := range sig.ChildElements() {
		switch {
		case is(c, nsDSig, "SignedInfo") && signedInfo == nil:
			signedInfo = c
		case is(c, nsDSig, "SignatureValue") && sigValue == nil:
			sigValue = c
		case is(c, nsDSig, "KeyInfo") && keyInfo == nil:
			keyInfo = c
		default:
			// ds:Object (XSW8 hides the original assertion there), a second
			// SignedInfo, or anything else SAML signatures never carry.
			return info, fail(ReasonSignatureWrapping, "unexpected <%s> in Signature", c.Tag)
		}
	}
	if signedInfo == nil {
		return info, fail(ReasonSignatureInvalid, "Signature has no SignedInfo")
	}
	if sigValue == nil {
		return info, fail(ReasonSignatureInvalid, "Signature has no SignatureValue")
	}

	var c14n, method, ref *etree.Element
	for _, c := range signedInfo.ChildElements() {
		switch {
		case is(c, nsDSig, "CanonicalizationMethod") && c14n == nil:
			c14n = c
		case is(c, nsDSig, "SignatureMethod") && method == nil:
			method = c
		case is(c, nsDSig, "Reference"):
			if ref != nil {
				return info, fail(ReasonSignatureWrapping, "Signature has more than one Reference")
			}
			ref = c
		default:
			return info, fail(ReasonSignatureWrapping, "unexpected <%s> in SignedInfo", c.Tag)
		}
	}
	if c14n == nil || method == nil || ref == nil {
		return info, fail(ReasonSignatureInvalid, "SignedInfo lacks CanonicalizationMethod, SignatureMethod or Reference")
	}
	if alg := attrValue(c14n, "Algorithm"); alg != algExcC14N {
		return info, fail(ReasonWeakSignatureAlgorithm, "canonicalization %q not allowed", truncate(alg, 80))
	}
	alg := attrValue(method, "Algorithm")
	isSHA1, ok := signatureMethods[alg]
	if !ok {
		return info, fail(ReasonWeakSignatureAlgorithm, "signature method %q not allowed", truncate(alg, 80))
	}
	info.sha1 = isSHA1

	// The Reference must name the element the Signature sits in. Anything
	// else (an empty URI meaning "the whole document", or the ID of a
	// sibling) is how XSW attacks make a valid signature vouch for content
	// the SP does not read.
	id := attrValue(signed, "ID")
	if id == "" {
		return info, fail(ReasonSignatureWrapping, "signed <%s> has no ID", signed.Tag)
	}
	if uri, _ := attr(ref, "URI"); uri != "#"+id {
		return info, fail(ReasonSignatureWrapping, "Reference URI %q does not point to the enclosing <%s> ID %q", truncate(uri, 80), signed.Tag, truncate(id, 80))
	}
	var transforms, digest, digestValue *etree.Element
	for _, c := range ref.ChildElements() {
		switch {
		case is(c, nsDSig, "Transforms") && transforms == nil:
			transforms = c
		case is(c, nsDSig, "DigestMethod") && digest == nil:
			digest = c
		case is(c, nsDSig, "DigestValue") && digestValue == nil:
			digestValue = c
		default:
			return info, fail(ReasonSignatureWrapping, "unexpected <%s> in Reference", c.Tag)
		}
	}
	if digest == nil || digestValue == nil {
		return info, fail(ReasonSignatureInvalid, "Reference lacks DigestMethod or DigestValue")
	}
	dalg := attrValue(digest, "Algorithm")
	dSHA1, ok := digestMethods[dalg]
	if !ok {
		return info, fail(ReasonWeakSignatureAlgorithm, "digest method %q not allowed", truncate(dalg, 80))
	}
	info.sha1 = info.sha1 || dSHA1
	if info.sha1 && !allowSHA1 {
		return info, fail(ReasonWeakSignatureAlgorithm, "SHA-1 signature (%s, %s) and the connection does not allow SHA-1", alg, dalg)
	}
	if e := checkTransforms(transforms); e != nil {
		return info, e
	}

	sv, _ := text(sigValue)
	sv = stripSpace(sv)
	if sv == "" {
		return info, fail(ReasonSignatureInvalid, "empty SignatureValue")
	}
	if _, err := base64.StdEncoding.DecodeString(sv); err != nil {
		return info, failWrap(ReasonSignatureInvalid, err, "SignatureValue is not base64")
	}

	if keyInfo != nil {
		for _, xd := range children(keyInfo, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				t, _ := text(xc)
				if der, err := base64.StdEncoding.DecodeString(stripSpace(t)); err == nil {
					if c, err := x509.ParseCertificate(der); err == nil && info.keyInfoCert == nil {
						info.keyInfoCert = c
					}
				}
			}
		}
	}
	return info, nil
}

// checkTransforms requires exactly the enveloped-signature transform and
// exclusive c14n, each once. XPath and XSLT transforms are classic ways to
// make a signature cover less than it seems to.
func checkTransforms(transforms *etree.Element) *Error {
	if transforms == nil {
		return fail(ReasonSignatureWrapping, "Reference has no Transforms")
	}
	var enveloped, exc int
	for _, t := range transforms.ChildElements() {
		if !is(t, nsDSig, "Transform") {
			return fail(ReasonSignatureWrapping, "unexpected <%s> in Transforms", t.Tag)
		}
		switch a := attrValue(t, "Algorithm"); a {
		case algEnveloped:
			enveloped++
		case algExcC14N:
			exc++
		default:
			return fail(ReasonWeakSignatureAlgorithm, "transform %q not allowed", truncate(a, 80))
		}
	}
	if enveloped != 1 || exc != 1 {
		return fail(ReasonSignatureWrapping, "Reference must have exactly the enveloped and exc-c14n transforms")
	}
	return nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// verifySignature verifies sig, the enveloped signature of signed, against
// the trusted certificates one at a time, and returns what goxmldsig
// returns: the signed element re-parsed from the exact canonical bytes that
// were digested (without the Signature). Callers must read the message from
// that element only; the original tree may hold anything an attacker added
// around the signed content.
func verifySignature(signed, sig *etree.Element, info sigInfo, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, *Error) {
	trusted = slices.DeleteFunc(slices.Clone(trusted), func(c *x509.Certificate) bool { return c == nil })
	if len(trusted) == 0 {
		return nil, nil, fail(ReasonUntrustedCertificate, "the IdP connection has no trusted signing certificate")
	}
	el := detach(signed)
	// KeyInfo is outside SignedInfo, so removing it changes nothing that is
	// signed; it stops goxmldsig from picking the key from the message.
	sigCopy := el.Child[sig.Index()].(*etree.Element)
	for _, ki := range children(sigCopy, nsDSig, "KeyInfo") {
		sigCopy.RemoveChild(ki)
	}

	order := make([]*x509.Certificate, 0, len(trusted))
	if info.keyInfoCert != nil {
		for _, c := range trusted {
			if c.Equal(info.keyInfoCert) {
				order = append(order, c)
			}
		}
	}
	for _, c := range trusted {
		if info.keyInfoCert == nil || !c.Equal(info.keyInfoCert) {
			order = append(order, c)
		}
	}

	var lastErr error
	for _, c := range order {
		verified, err := validateWith(el, c)
		if err == nil {
			return verified, c, nil
		}
		lastErr = err
	}
	if kc := info.keyInfoCert; kc != nil && !containsCert(trusted, kc) {
		// Tell a rollover the admin has not caught up with apart from a
		// forgery: the message verifies, but only with a key we do not trust.
		if _, err := validateWith(el, kc); err == nil {
			return nil, nil, fail(ReasonUntrustedCertificate, "signed with a certificate that is not trusted for this IdP (subject %q, SHA-256 %s)", truncate(kc.Subject.String(), 120), Fingerprint(kc))
		}
	}
	return nil, nil, failWrap(ReasonSignatureInvalid, lastErr, "signature on <%s> does not verify with any trusted certificate", signed.Tag)
}

// validateWith runs goxmldsig with cert as the only trusted certificate. Its
// clock is pinned inside the certificate's validity: certificate expiry is
// checked by the caller, so that it can be reported (and, if the connection
// allows it, tolerated) separately from a bad signature.
func validateWith(el *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.IdAttribute = "ID"
	ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore)
	return ctx.Validate(el)
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, t := range certs {
		if t.Equal(c) {
			return true
		}
	}
	return false
}

// Fingerprint is the hex SHA-256 of a certificate's DER, the form admins
// compare with the IdP's console.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
