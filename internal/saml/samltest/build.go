package samltest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/beevik/etree"
)

// SAML namespaces and values used by the builders.
const (
	NSProtocol    = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSAssertion   = "urn:oasis:names:tc:SAML:2.0:assertion"
	StatusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	MethodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

	ClaimEmail     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	ClaimName      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	ClaimGivenName = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	ClaimSurname   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	ClaimObjectID  = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	ClaimTenantID  = "http://schemas.microsoft.com/identity/claims/tenantid"
	ClaimGroups    = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
)

// Flavor selects whose Response shape to imitate.
type Flavor string

// The IdP shapes the builders know. Each differs in namespace prefixes,
// attribute names and time windows the way the real products do.
const (
	// Entra: default namespaces (no saml: prefix), Signature in the
	// default dsig namespace, NotBefore == IssueInstant, claims as URIs.
	Entra Flavor = "entra"
	// Okta: saml2p:/saml2: prefixes, Issuer with Format, typed
	// AttributeValues (xsi:type="xs:string"), a ±5 minute window.
	Okta Flavor = "okta"
	// ADFS: samlp: Response with Consent, default-namespace Assertion, ds:
	// signature, WS-Fed claim URIs.
	ADFS Flavor = "adfs"
)

// Attribute is a SAML attribute with its values.
type Attribute struct {
	Name   string
	Values []string
}

// Options describe one Response. Zero fields get the flavor's defaults.
type Options struct {
	Flavor   Flavor
	Issuer   string // IdP entity ID
	Audience string // SP entity ID
	ACSURL   string // Destination and Recipient
	// InResponseTo is the AuthnRequest ID; "" builds an unsolicited
	// response.
	InResponseTo string
	NameID       string
	NameIDFormat string
	SessionIndex string
	// Attributes replace the flavor's default claims when non-nil.
	Attributes []Attribute
	// IssueInstant is when the IdP issued the Response; every other time
	// is derived from it.
	IssueInstant time.Time
	ResponseID   string
	AssertionID  string
	// OmitDestination leaves the Response's Destination out.
	OmitDestination bool
	// StatusCode replaces Success (and suppresses the assertion);
	// StatusMessage goes with it.
	StatusCode    string
	SubStatusCode string
	StatusMessage string
}

// NewID returns a random SAML ID ("_" and 32 hex digits, like Entra and
// ADFS); IDs must not start with a digit.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "_" + hex.EncodeToString(b)
}

// prefixes of each flavor: protocol, assertion ("" = default namespace).
func (f Flavor) prefixes() (string, string) {
	if f == Okta {
		return "saml2p", "saml2"
	}
	return "samlp", ""
}

// DSigPrefix is the ds prefix the flavor signs with.
func (f Flavor) DSigPrefix() string {
	if f == Entra {
		return ""
	}
	return "ds"
}

func q(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// BuildResponse builds an unsigned Response document.
func BuildResponse(o Options) *etree.Document {
	o = withDefaults(o)
	pp, _ := o.Flavor.prefixes()
	doc := etree.NewDocument()
	resp := doc.CreateElement(q(pp, "Response"))
	resp.CreateAttr("xmlns:"+pp, NSProtocol)
	resp.CreateAttr("ID", o.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(o.IssueInstant))
	if !o.OmitDestination {
		resp.CreateAttr("Destination", o.ACSURL)
	}
	if o.Flavor == ADFS {
		resp.CreateAttr("Consent", "urn:oasis:names:tc:SAML:2.0:consent:unspecified")
	}
	if o.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", o.InResponseTo)
	}
	resp.AddChild(issuer(o, true))

	status := resp.CreateElement(q(pp, "Status"))
	code := status.CreateElement(q(pp, "StatusCode"))
	if o.StatusCode != "" {
		code.CreateAttr("Value", o.StatusCode)
		if o.SubStatusCode != "" {
			code.CreateElement(q(pp, "StatusCode")).CreateAttr("Value", o.SubStatusCode)
		}
		if o.StatusMessage != "" {
			status.CreateElement(q(pp, "StatusMessage")).SetText(o.StatusMessage)
		}
		return doc
	}
	code.CreateAttr("Value", StatusSuccess)
	resp.AddChild(BuildAssertion(o))
	return doc
}

func withDefaults(o Options) Options {
	if o.Flavor == "" {
		o.Flavor = Entra
	}
	if o.IssueInstant.IsZero() {
		o.IssueInstant = time.Now()
	}
	if o.ResponseID == "" {
		o.ResponseID = NewID()
	}
	if o.AssertionID == "" {
		o.AssertionID = NewID()
	}
	if o.SessionIndex == "" {
		o.SessionIndex = "_" + o.AssertionID[1:]
	}
	if o.NameID == "" {
		o.NameID = "alice@corp.example"
	}
	if o.NameIDFormat == "" {
		o.NameIDFormat = NameIDEmail
		if o.Flavor == Okta {
			o.NameIDFormat = NameIDUnspecified
		}
	}
	if o.Attributes == nil {
		o.Attributes = DefaultAttributes(o.Flavor, o.NameID)
	}
	return o
}

// DefaultAttributes are the claims each flavor sends for a user.
func DefaultAttributes(f Flavor, email string) []Attribute {
	switch f {
	case Okta:
		return []Attribute{
			{"email", []string{email}},
			{"firstName", []string{"Alice"}},
			{"lastName", []string{"Liddell"}},
			{"groups", []string{"Everyone", "Engineering"}},
		}
	case ADFS:
		return []Attribute{
			{ClaimEmail, []string{email}},
			{ClaimName, []string{"CORP\\alice"}},
			{ClaimGivenName, []string{"Alice"}},
			{ClaimSurname, []string{"Liddell"}},
			{ClaimGroups, []string{"Domain Users", "Engineering"}},
		}
	}
	return []Attribute{
		{ClaimTenantID, []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{ClaimObjectID, []string{"0b5a1f3c-8c1e-4a57-9d4e-5a3f1e2d7c90"}},
		{"http://schemas.microsoft.com/identity/claims/displayname", []string{"Alice Liddell"}},
		{ClaimGroups, []string{"9f3c2a1b-0000-4000-8000-000000000001", "9f3c2a1b-0000-4000-8000-000000000002"}},
		{"http://schemas.microsoft.com/identity/claims/identityprovider", []string{"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"}},
		{"http://schemas.microsoft.com/claims/authnmethodsreferences", []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}},
		{ClaimGivenName, []string{"Alice"}},
		{ClaimSurname, []string{"Liddell"}},
		{ClaimEmail, []string{email}},
		{ClaimName, []string{email}},
	}
}

func issuer(o Options, inResponse bool) *etree.Element {
	_, ap := o.Flavor.prefixes()
	el := etree.NewElement(q(ap, "Issuer"))
	if ap == "" {
		if inResponse {
			el.CreateAttr("xmlns", NSAssertion)
		}
	} else {
		el.CreateAttr("xmlns:"+ap, NSAssertion)
	}
	if o.Flavor == Okta {
		el.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
	}
	el.SetText(o.Issuer)
	return el
}

// BuildAssertion builds an unsigned Assertion element for o.
func BuildAssertion(o Options) *etree.Element {
	o = withDefaults(o)
	_, ap := o.Flavor.prefixes()
	n := func(local string) string { return q(ap, local) }
	t := o.IssueInstant
	notBefore, notOnOrAfter, scdNotOnOrAfter := t, t.Add(time.Hour), t.Add(5*time.Minute)
	if o.Flavor == Okta {
		notBefore, notOnOrAfter = t.Add(-5*time.Minute), t.Add(5*time.Minute)
	}

	a := etree.NewElement(n("Assertion"))
	if ap == "" {
		a.CreateAttr("xmlns", NSAssertion)
	} else {
		a.CreateAttr("xmlns:"+ap, NSAssertion)
	}
	a.CreateAttr("ID", o.AssertionID)
	a.CreateAttr("IssueInstant", ts(t))
	a.CreateAttr("Version", "2.0")
	if o.Flavor == Okta {
		a.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
	}
	iss := issuer(o, false)
	if ap != "" {
		iss.RemoveAttr("xmlns:" + ap)
	}
	a.AddChild(iss)

	subj := a.CreateElement(n("Subject"))
	nid := subj.CreateElement(n("NameID"))
	nid.CreateAttr("Format", o.NameIDFormat)
	nid.SetText(o.NameID)
	sc := subj.CreateElement(n("SubjectConfirmation"))
	sc.CreateAttr("Method", MethodBearer)
	scd := sc.CreateElement(n("SubjectConfirmationData"))
	if o.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", o.InResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(scdNotOnOrAfter))
	scd.CreateAttr("Recipient", o.ACSURL)

	cond := a.CreateElement(n("Conditions"))
	cond.CreateAttr("NotBefore", ts(notBefore))
	cond.CreateAttr("NotOnOrAfter", ts(notOnOrAfter))
	cond.CreateElement(n("AudienceRestriction")).CreateElement(n("Audience")).SetText(o.Audience)

	authn := func() {
		st := a.CreateElement(n("AuthnStatement"))
		st.CreateAttr("AuthnInstant", ts(t.Add(-2*time.Minute)))
		st.CreateAttr("SessionIndex", o.SessionIndex)
		st.CreateElement(n("AuthnContext")).CreateElement(n("AuthnContextClassRef")).
			SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	}
	// Okta puts the AuthnStatement before the attributes, Entra and ADFS
	// after.
	if o.Flavor == Okta {
		authn()
	}
	if len(o.Attributes) > 0 {
		as := a.CreateElement(n("AttributeStatement"))
		for _, at := range o.Attributes {
			ae := as.CreateElement(n("Attribute"))
			ae.CreateAttr("Name", at.Name)
			if o.Flavor == Okta {
				ae.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified")
			}
			for _, v := range at.Values {
				ve := ae.CreateElement(n("AttributeValue"))
				if o.Flavor == Okta {
					ve.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
					ve.CreateAttr("xsi:type", "xs:string")
				}
				ve.SetText(v)
			}
		}
	}
	if o.Flavor != Okta {
		authn()
	}
	return a
}

// Encode is the HTTP-POST binding's encoding of a Response: base64 of the
// XML, as the browser posts it in the SAMLResponse field.
func Encode(xml []byte) string {
	return base64.StdEncoding.EncodeToString(xml)
}
