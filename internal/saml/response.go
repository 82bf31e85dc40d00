package saml

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// checkStatus rejects a Response whose top-level StatusCode is not Success,
// quoting the IdP's codes and message for the admin (e.g. Entra's
// Requester/RequestUnsupported with "AADSTS50105: user not assigned").
func checkStatus(root *etree.Element) *Error {
	status, e := oneChild(root, nsProtocol, "Status")
	if e != nil {
		return e
	}
	if status == nil {
		return fail(ReasonMalformed, "Response has no Status")
	}
	code, e := oneChild(status, nsProtocol, "StatusCode")
	if e != nil {
		return e
	}
	if code == nil {
		return fail(ReasonMalformed, "Status has no StatusCode")
	}
	value := attrValue(code, "Value")
	if value == statusSuccess {
		return nil
	}
	detail := "IdP status " + value
	if sub, _ := oneChild(code, nsProtocol, "StatusCode"); sub != nil {
		detail += " / " + attrValue(sub, "Value")
	}
	if msg, _ := oneChild(status, nsProtocol, "StatusMessage"); msg != nil {
		t, _ := text(msg)
		detail += ": " + strings.TrimSpace(t)
	}
	return &Error{Reason: ReasonStatusNotSuccess, Detail: truncate(detail, 400)}
}

// treeFacts is what one pass over the received document found.
type treeFacts struct {
	// assertions are all elements named Assertion or EncryptedAssertion,
	// in any namespace and at any depth (Extensions, ds:Object, Advice,
	// StatusDetail, …): a legitimate Web SSO response has exactly one.
	assertions []*etree.Element
	// signatures are all ds:Signature elements, wherever they are.
	signatures []*etree.Element
}

// scanTree collects treeFacts and rejects documents whose IDs are ambiguous:
// two elements with the same ID (so "#id" can resolve to a different element
// for goxmldsig than for us), or an ID attribute in a namespace, including a
// namespace declaration named like one (xmlns:ID="…"), which etree's
// SelectAttr — used by goxmldsig to find the signed element's ID — would
// match in place of the real one.
func scanTree(root *etree.Element) (treeFacts, *Error) {
	var f treeFacts
	ids := map[string]bool{}
	var err *Error
	walk(root, func(el *etree.Element) {
		if err != nil {
			return
		}
		switch el.Tag {
		case "Assertion", "EncryptedAssertion":
			f.assertions = append(f.assertions, el)
		case "Signature":
			if el.NamespaceURI() == nsDSig {
				f.signatures = append(f.signatures, el)
			}
		}
		for _, a := range el.Attr {
			if !isIDName(a.Key) {
				continue
			}
			if a.Space != "" && !(a.Space == "xml" && a.Key == "id") {
				err = fail(ReasonSignatureWrapping, "namespace-qualified ID attribute %s:%s on <%s>", truncate(a.Space, 40), a.Key, el.Tag)
				return
			}
			if ids[a.Value] {
				err = fail(ReasonSignatureWrapping, "ID %q appears more than once", truncate(a.Value, 80))
				return
			}
			ids[a.Value] = true
		}
	})
	return f, err
}

func isIDName(k string) bool {
	return k == "ID" || k == "Id" || k == "id"
}

// checkResponse checks the Response-level fields. resp is the verified
// Response if it was signed, else the received one: Entra and ADFS sign only
// the Assertion, so these fields are then unauthenticated and only the
// Assertion's checks (Recipient, InResponseTo, Audience) bind the message to
// this SP and request.
func (c *validation) checkResponse(resp *etree.Element, signed bool) *Error {
	if attrValue(resp, "ID") == "" {
		return fail(ReasonMalformed, "Response has no ID")
	}
	if t, ok := attr(resp, "IssueInstant"); !ok {
		return fail(ReasonMalformed, "Response has no IssueInstant")
	} else if _, ok := parseTime(t); !ok {
		return fail(ReasonMalformed, "Response IssueInstant %q is not a UTC dateTime", truncate(t, 40))
	}
	issuer, e := oneChild(resp, nsAssertion, "Issuer")
	if e != nil {
		return e
	}
	if issuer != nil {
		if got, _ := text(issuer); strings.TrimSpace(got) != c.idp.EntityID {
			return fail(ReasonIssuerMismatch, "Response Issuer %q, connection expects %q", truncate(got, 200), c.idp.EntityID)
		}
	}
	// Destination is optional when the Response is unsigned (bindings
	// §3.5.5.2). When it is signed the spec says it MUST be present, but we
	// accept its absence: the signed Assertion's Recipient, which we always
	// require, binds the message to our ACS URL just as well, and refusing
	// would only break odd IdPs.
	if dest, ok := attr(resp, "Destination"); ok && dest != c.sp.ACSURL {
		return fail(ReasonDestinationMismatch, "Destination %q, our ACS URL is %q", truncate(dest, 200), c.sp.ACSURL)
	}
	irt, hasIRT := attr(resp, "InResponseTo")
	if c.expected == "" {
		if !c.idp.AllowIdPInitiated {
			return fail(ReasonUnsolicitedNotAllowed, "no AuthnRequest pending and IdP-initiated login is off for this connection")
		}
		if hasIRT {
			return fail(ReasonInResponseToMismatch, "unsolicited login, but the Response answers request %q", truncate(irt, 80))
		}
	} else if irt != c.expected {
		return fail(ReasonInResponseToMismatch, "Response InResponseTo %q, expected %q", truncate(irt, 80), c.expected)
	}
	return nil
}

// notBeforeOK and notOnOrAfterOK apply MaxSkew in the accepting direction:
// Entra sets NotBefore to the IssueInstant itself, so a node whose clock runs
// a little behind the IdP's must still accept.
func (c *validation) notBeforeOK(t time.Time) bool    { return !t.After(c.now.Add(c.skew)) }
func (c *validation) notOnOrAfterOK(t time.Time) bool { return c.now.Add(-c.skew).Before(t) }
