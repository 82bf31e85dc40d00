package saml

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// maxAssertionIDBytes bounds the Assertion ID, which the caller stores.
const maxAssertionIDBytes = 256

// readAssertion checks and extracts the Assertion a, which is either the
// element goxmldsig returned as verified, or a child of the verified
// Response. Nothing here looks at the received tree.
func (c *validation) readAssertion(a *etree.Element) (*Assertion, *Error) {
	if !is(a, nsAssertion, "Assertion") {
		return nil, fail(ReasonMalformed, "expected saml:Assertion, got <%s>", truncate(a.Tag, 40))
	}
	if ver := attrValue(a, "Version"); ver != "2.0" {
		return nil, fail(ReasonMalformed, "Assertion Version %q, want 2.0", truncate(ver, 20))
	}
	out := &Assertion{ID: attrValue(a, "ID"), Attributes: map[string][]string{}}
	if out.ID == "" {
		return nil, fail(ReasonMalformed, "Assertion has no ID")
	}
	// The ID keys the replay cache; IdPs send 40 characters or so.
	if !storableText(out.ID, maxAssertionIDBytes) {
		return nil, fail(ReasonMalformed, "Assertion ID %q is longer than %d bytes or contains control characters", truncate(out.ID, 80), maxAssertionIDBytes)
	}
	issued, ok := parseTime(attrValue(a, "IssueInstant"))
	if !ok {
		return nil, fail(ReasonMalformed, "Assertion IssueInstant missing or not a dateTime")
	}
	if !c.notBeforeOK(issued) {
		return nil, fail(ReasonNotYetValid, "Assertion issued at %s, now is %s", issued.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339))
	}

	issuer, e := oneChild(a, nsAssertion, "Issuer")
	if e != nil {
		return nil, e
	}
	if issuer == nil {
		return nil, fail(ReasonIssuerMismatch, "Assertion has no Issuer")
	}
	iss, _ := text(issuer)
	out.Issuer = strings.TrimSpace(iss)
	if out.Issuer != c.idp.EntityID {
		return nil, fail(ReasonIssuerMismatch, "Assertion Issuer %q, connection expects %q", truncate(out.Issuer, 200), c.idp.EntityID)
	}

	subject, e := oneChild(a, nsAssertion, "Subject")
	if e != nil {
		return nil, e
	}
	if subject == nil {
		return nil, fail(ReasonMissingSubject, "Assertion has no Subject")
	}
	if e := c.readNameID(subject, out); e != nil {
		return nil, e
	}

	notOnOrAfter, e := c.checkConditions(a)
	if e != nil {
		return nil, e
	}
	scdNotOnOrAfter, e := c.checkSubjectConfirmations(subject, out)
	if e != nil {
		return nil, e
	}
	if notOnOrAfter.IsZero() || scdNotOnOrAfter.Before(notOnOrAfter) {
		notOnOrAfter = scdNotOnOrAfter
	}
	out.NotOnOrAfter = notOnOrAfter.Add(c.skew)

	if e := c.readAuthnStatement(a, out); e != nil {
		return nil, e
	}
	readAttributes(a, out)
	return out, nil
}

func (c *validation) readNameID(subject *etree.Element, out *Assertion) *Error {
	nameID, e := oneChild(subject, nsAssertion, "NameID")
	if e != nil {
		return e
	}
	if nameID == nil {
		if enc, _ := oneChild(subject, nsAssertion, "EncryptedID"); enc != nil {
			return fail(ReasonMissingSubject, "Subject has an EncryptedID, which is not supported")
		}
		return fail(ReasonMissingSubject, "Subject has no NameID")
	}
	v, hasChildren := text(nameID)
	if hasChildren {
		return fail(ReasonMalformed, "NameID contains elements")
	}
	out.NameID = strings.TrimSpace(v)
	out.NameIDFormat = attrValue(nameID, "Format")
	if out.NameID == "" {
		return fail(ReasonMissingSubject, "NameID is empty")
	}
	return nil
}

// checkConditions applies the Conditions validity window and audience
// restrictions, and returns Conditions/@NotOnOrAfter (zero if absent).
func (c *validation) checkConditions(a *etree.Element) (time.Time, *Error) {
	cond, e := oneChild(a, nsAssertion, "Conditions")
	if e != nil {
		return time.Time{}, e
	}
	if cond == nil {
		return time.Time{}, fail(ReasonAudienceMismatch, "Assertion has no Conditions, so no AudienceRestriction")
	}
	if s, ok := attr(cond, "NotBefore"); ok {
		t, ok := parseTime(s)
		if !ok {
			return time.Time{}, fail(ReasonMalformed, "Conditions NotBefore %q is not a dateTime", truncate(s, 40))
		}
		if !c.notBeforeOK(t) {
			return time.Time{}, fail(ReasonNotYetValid, "Conditions NotBefore %s, now %s (skew %s)", t.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339), c.skew)
		}
	}
	var notOnOrAfter time.Time
	if s, ok := attr(cond, "NotOnOrAfter"); ok {
		t, ok := parseTime(s)
		if !ok {
			return time.Time{}, fail(ReasonMalformed, "Conditions NotOnOrAfter %q is not a dateTime", truncate(s, 40))
		}
		if !c.notOnOrAfterOK(t) {
			return time.Time{}, fail(ReasonExpired, "Conditions NotOnOrAfter %s, now %s (skew %s)", t.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339), c.skew)
		}
		notOnOrAfter = t
	}
	restrictions := 0
	for _, ch := range cond.ChildElements() {
		switch {
		case is(ch, nsAssertion, "AudienceRestriction"):
			restrictions++
			// Several AudienceRestrictions must all hold (core §2.5.1.4);
			// within one, any Audience may match.
			found := false
			for _, aud := range children(ch, nsAssertion, "Audience") {
				if t, _ := text(aud); strings.TrimSpace(t) == c.sp.EntityID {
					found = true
				}
			}
			if !found {
				return time.Time{}, fail(ReasonAudienceMismatch, "AudienceRestriction does not list our entity ID %q", c.sp.EntityID)
			}
		case is(ch, nsAssertion, "OneTimeUse"), is(ch, nsAssertion, "ProxyRestriction"):
			// OneTimeUse is what the replay cache enforces for every
			// assertion anyway; ProxyRestriction limits further
			// delegation, which we never do.
		default:
			// A condition we do not understand makes the assertion
			// Indeterminate (core §2.5.1), which is not Valid.
			return time.Time{}, fail(ReasonMalformed, "unsupported condition <%s>", truncate(ch.Tag, 40))
		}
	}
	if restrictions == 0 {
		return time.Time{}, fail(ReasonAudienceMismatch, "Conditions has no AudienceRestriction")
	}
	return notOnOrAfter, nil
}

// checkSubjectConfirmations requires one bearer SubjectConfirmation whose
// data names our ACS URL, is current, and answers the expected request. If
// none does, the failure of the first bearer confirmation is reported.
func (c *validation) checkSubjectConfirmations(subject *etree.Element, out *Assertion) (time.Time, *Error) {
	var first *Error
	for _, sc := range children(subject, nsAssertion, "SubjectConfirmation") {
		if attrValue(sc, "Method") != methodBearer {
			continue
		}
		t, irt, e := c.checkBearer(sc)
		if e == nil {
			out.InResponseTo = irt
			return t, nil
		}
		if first == nil {
			first = e
		}
	}
	if first == nil {
		return time.Time{}, fail(ReasonMissingSubject, "Subject has no bearer SubjectConfirmation")
	}
	return time.Time{}, first
}

func (c *validation) checkBearer(sc *etree.Element) (time.Time, string, *Error) {
	data, e := oneChild(sc, nsAssertion, "SubjectConfirmationData")
	if e != nil {
		return time.Time{}, "", e
	}
	if data == nil {
		return time.Time{}, "", fail(ReasonRecipientMismatch, "bearer SubjectConfirmation has no SubjectConfirmationData")
	}
	if r := attrValue(data, "Recipient"); r != c.sp.ACSURL {
		return time.Time{}, "", fail(ReasonRecipientMismatch, "Recipient %q, our ACS URL is %q", truncate(r, 200), c.sp.ACSURL)
	}
	s, ok := attr(data, "NotOnOrAfter")
	if !ok {
		return time.Time{}, "", fail(ReasonMalformed, "bearer SubjectConfirmationData has no NotOnOrAfter")
	}
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, "", fail(ReasonMalformed, "SubjectConfirmationData NotOnOrAfter %q is not a dateTime", truncate(s, 40))
	}
	if !c.notOnOrAfterOK(t) {
		return time.Time{}, "", fail(ReasonExpired, "SubjectConfirmationData NotOnOrAfter %s, now %s (skew %s)", t.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339), c.skew)
	}
	if s, ok := attr(data, "NotBefore"); ok {
		nb, ok := parseTime(s)
		if !ok {
			return time.Time{}, "", fail(ReasonMalformed, "SubjectConfirmationData NotBefore %q is not a dateTime", truncate(s, 40))
		}
		if !c.notBeforeOK(nb) {
			return time.Time{}, "", fail(ReasonNotYetValid, "SubjectConfirmationData NotBefore %s, now %s", nb.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339))
		}
	}
	irt, has := attr(data, "InResponseTo")
	if c.expected == "" && has {
		return time.Time{}, "", fail(ReasonInResponseToMismatch, "unsolicited login, but the Assertion answers request %q", truncate(irt, 80))
	}
	if c.expected != "" && irt != c.expected {
		return time.Time{}, "", fail(ReasonInResponseToMismatch, "SubjectConfirmationData InResponseTo %q, expected %q", truncate(irt, 80), c.expected)
	}
	return t, irt, nil
}

// readAuthnStatement requires the AuthnStatement the Web SSO profile
// mandates and reads the first one.
func (c *validation) readAuthnStatement(a *etree.Element, out *Assertion) *Error {
	stmts := children(a, nsAssertion, "AuthnStatement")
	if len(stmts) == 0 {
		return fail(ReasonMalformed, "Assertion has no AuthnStatement")
	}
	st := stmts[0]
	t, ok := parseTime(attrValue(st, "AuthnInstant"))
	if !ok {
		return fail(ReasonMalformed, "AuthnStatement AuthnInstant missing or not a dateTime")
	}
	out.AuthnInstant = t
	out.SessionIndex = attrValue(st, "SessionIndex")
	if s, ok := attr(st, "SessionNotOnOrAfter"); ok {
		t, ok := parseTime(s)
		if !ok {
			return fail(ReasonMalformed, "SessionNotOnOrAfter %q is not a dateTime", truncate(s, 40))
		}
		if !c.notOnOrAfterOK(t) {
			return fail(ReasonExpired, "IdP session ended at %s", t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// readAttributes collects every Attribute of every AttributeStatement.
// Values are the concatenated text of each AttributeValue (xsi:nil values
// are skipped); EncryptedAttribute is not supported and ignored.
func readAttributes(a *etree.Element, out *Assertion) {
	for _, st := range children(a, nsAssertion, "AttributeStatement") {
		for _, at := range children(st, nsAssertion, "Attribute") {
			name := attrValue(at, "Name")
			if name == "" {
				continue
			}
			vals := out.Attributes[name]
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				if isNil(v) {
					continue
				}
				s, _ := text(v)
				vals = append(vals, s)
			}
			out.Attributes[name] = vals
		}
	}
}

func isNil(el *etree.Element) bool {
	for _, a := range el.Attr {
		if a.Key == "nil" && a.Space != "" && lookupPrefix(el, a.Space) == nsXSI {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// lookupPrefix resolves a namespace prefix in scope at el.
func lookupPrefix(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}
