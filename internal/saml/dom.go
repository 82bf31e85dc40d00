package saml

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Namespaces and fixed values this package matches against. Elements are
// always matched by resolved namespace URI and local name, never by prefix:
// Entra uses default namespaces, Okta saml2:/saml2p:, ADFS a mix.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc      = "http://www.w3.org/2001/04/xmlenc#"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	methodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// is reports whether el is the element {ns}local.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// children returns the child elements {ns}local of el, in document order.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// oneChild returns the only child {ns}local of el, nil if there is none, and
// an error if there are several: the schema allows one, and when a second
// copy appears, which one a reader picks is exactly the ambiguity wrapping
// attacks live on.
func oneChild(el *etree.Element, ns, local string) (*etree.Element, *Error) {
	cs := children(el, ns, local)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, fail(ReasonMalformed, "%d <%s> elements in <%s>, schema allows one", len(cs), local, el.Tag)
}

// attr returns the value of the unqualified attribute name. Prefixed
// attributes with the same local name (foo:Recipient, or an xmlns:Recipient
// declaration) are ignored on purpose: etree's SelectAttr would match them.
func attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value, true
		}
	}
	return "", false
}

func attrValue(el *etree.Element, name string) string {
	v, _ := attr(el, name)
	return v
}

// text returns all character data directly inside el, concatenated. etree's
// Text stops at the first comment or child, which is how
// "admin@corp.example<!-- -->.evil.example" becomes "admin@corp.example" in
// naive readers; here every text node counts. hasChildren tells the caller
// whether el also had child elements, which simple-content fields must not.
func text(el *etree.Element) (s string, hasChildren bool) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			hasChildren = true
		}
	}
	return b.String(), hasChildren
}

// detach copies el out of its document with every namespace declaration in
// scope at el re-declared on the copy, so that the copy canonicalizes exactly
// as el does in place (goxmldsig's Validate copies without ancestors).
func detach(el *etree.Element) *etree.Element {
	declared := map[string]bool{}
	for _, a := range el.Attr {
		if isNSDecl(a) {
			declared[nsDeclPrefix(a)] = true
		}
	}
	var extra []etree.Attr
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if !isNSDecl(a) {
				continue
			}
			prefix := nsDeclPrefix(a)
			if declared[prefix] {
				continue
			}
			declared[prefix] = true
			extra = append(extra, a)
		}
	}
	c := el.Copy()
	c.Attr = append(c.Attr, extra...)
	return c
}

func isNSDecl(a etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

func nsDeclPrefix(a etree.Attr) string {
	if a.Space == "xmlns" {
		return a.Key
	}
	return ""
}

// walk calls fn for el and every descendant element, depth first.
func walk(el *etree.Element, fn func(*etree.Element)) {
	fn(el)
	for _, c := range el.ChildElements() {
		walk(c, fn)
	}
}

// parseTime reads an xs:dateTime. SAML requires UTC ("Z"); offsets are
// accepted since they are unambiguous, but a time without zone is not.
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
