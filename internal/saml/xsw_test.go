package saml

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// XML Signature Wrapping attacks, built as in "On Breaking SAML: Be Whoever
// You Want to Be" (Somorovsky et al., USENIX Security 2012) and as SAML
// Raider's XSW1–XSW8 build them: the attacker keeps a validly signed
// element somewhere the signature check still finds it, and adds an evil
// assertion (NameID admin@corp.example) where a naive SP reads.
//
// Each attack runs twice: through Validate as configured, and with the
// one-assertion rule switched off, to show the later layers (signature
// placement, Reference = enclosing ID, reading only the verified element)
// stop it on their own. In neither run may the evil NameID come out.

const evilNameID = "admin@corp.example"

// evilAssertion is a copy of a, unsigned, with a new ID and the evil NameID.
func evilAssertion(a *etree.Element, id string) *etree.Element {
	e := a.Copy()
	for _, c := range e.ChildElements() {
		if c.Tag == "Signature" {
			e.RemoveChild(c)
		}
	}
	if id != "" {
		e.CreateAttr("ID", id)
	}
	e.FindElement(".//NameID").SetText(evilNameID)
	for _, v := range e.FindElements(".//AttributeValue") {
		if v.Text() == "alice@corp.example" {
			v.SetText(evilNameID)
		}
	}
	return e
}

func withoutSignature(el *etree.Element) *etree.Element {
	c := el.Copy()
	for _, ch := range c.ChildElements() {
		if ch.Tag == "Signature" {
			c.RemoveChild(ch)
		}
	}
	return c
}

// insertBefore puts child into parent just before ref.
func insertBefore(parent, ref, child *etree.Element) { parent.InsertChildAt(ref.Index(), child) }

// xswCase builds an attack from a validly signed document.
type xswCase struct {
	name     string
	flavor   samltest.Flavor
	where    samltest.Where
	attack   func(doc *etree.Document)
	want     string // reason with the one-assertion rule on
	wantDeep string // reason with it off; "" = accepted, but with alice's NameID
}

func TestXSW(t *testing.T) {
	f := loadFixtures(t)
	// Response-signed documents for the attacks on the Response signature
	// (the assertion inside is unsigned, the classic XSW1/XSW2 target).
	cases := []xswCase{
		{name: "XSW1 evil Response, original Response inside its Signature", flavor: samltest.Okta, where: samltest.SignResponse,
			attack: func(d *etree.Document) {
				root := d.Root()
				orig := withoutSignature(root)
				sig := sigOf(root)
				root.CreateAttr("ID", "_evilresponse")
				a := samltest.FindAssertion(root)
				root.InsertChildAt(a.Index(), evilAssertion(a, "_evilassertion"))
				root.RemoveChild(a)
				sig.AddChild(orig)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW2 evil Response, original Response before a detached Signature", flavor: samltest.Okta, where: samltest.SignResponse,
			attack: func(d *etree.Document) {
				root := d.Root()
				orig := withoutSignature(root)
				sig := sigOf(root)
				root.CreateAttr("ID", "_evilresponse")
				a := samltest.FindAssertion(root)
				root.InsertChildAt(a.Index(), evilAssertion(a, "_evilassertion"))
				root.RemoveChild(a)
				insertBefore(root, sig, orig)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW3 evil Assertion before the signed one", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				insertBefore(d.Root(), a, evilAssertion(a, "_evilassertion"))
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW4 evil Assertion wrapping the signed one", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				evil := evilAssertion(a, "_evilassertion")
				d.Root().InsertChildAt(a.Index(), evil)
				d.Root().RemoveChild(a)
				evil.AddChild(a)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW5 evil Assertion carrying the Signature, original appended unsigned", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				evil := evilAssertion(a, "_evilassertion")
				insertAfterIssuerOf(evil, sigOf(a).Copy())
				d.Root().InsertChildAt(a.Index(), evil)
				d.Root().RemoveChild(a)
				d.Root().AddChild(withoutSignature(a))
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW6 evil Assertion carrying the Signature, original inside the Signature", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				evil := evilAssertion(a, "_evilassertion")
				sig := sigOf(a).Copy()
				sig.AddChild(withoutSignature(a))
				insertAfterIssuerOf(evil, sig)
				d.Root().InsertChildAt(a.Index(), evil)
				d.Root().RemoveChild(a)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW7 signed Assertion hidden in Extensions, evil one in its place", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				root := d.Root()
				ext := etree.NewElement("samlp:Extensions")
				ext.AddChild(a.Copy())
				insertAfterIssuerOf(root, ext)
				root.InsertChildAt(a.Index(), evilAssertion(a, "_evilassertion"))
				root.RemoveChild(a)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "XSW8 evil Assertion with ds:Object holding the original in its Signature", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				evil := evilAssertion(a, "_evilassertion")
				sig := sigOf(a).Copy()
				obj := etree.NewElement("Object")
				obj.AddChild(withoutSignature(a))
				sig.AddChild(obj)
				insertAfterIssuerOf(evil, sig)
				d.Root().InsertChildAt(a.Index(), evil)
				d.Root().RemoveChild(a)
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "evil Assertion after the signed one", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				d.Root().AddChild(evilAssertion(assertionOf(d), "_evilassertion"))
			}, want: ReasonMultipleAssertions, wantDeep: ""},
		{name: "duplicated valid Assertion, copy unsigned with changed attributes, after", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				d.Root().AddChild(evilAssertion(assertionOf(d), ""))
			}, want: ReasonSignatureWrapping, wantDeep: ReasonSignatureWrapping},
		{name: "duplicated valid Assertion, copy unsigned with changed attributes, before", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				insertBefore(d.Root(), a, evilAssertion(a, ""))
			}, want: ReasonSignatureWrapping, wantDeep: ReasonSignatureWrapping},
		{name: "evil Assertion appended to a signed Response", flavor: samltest.Okta, where: samltest.SignResponse,
			attack: func(d *etree.Document) {
				d.Root().AddChild(evilAssertion(samltest.FindAssertion(d.Root()), "_evilassertion"))
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureInvalid},
		{name: "evil Assertion hidden in StatusDetail", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				st := find(d, "Status")
				det := st.CreateElement("samlp:StatusDetail")
				det.AddChild(evilAssertion(assertionOf(d), "_evilassertion"))
			}, want: ReasonMultipleAssertions, wantDeep: ""},
		{name: "Assertion signature moved to the Response, Assertion replaced", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				insertAfterIssuerOf(d.Root(), sigOf(a).Copy())
				d.Root().InsertChildAt(a.Index(), evilAssertion(a, "_evilassertion"))
				d.Root().RemoveChild(a)
			}, want: ReasonSignatureWrapping, wantDeep: ReasonSignatureWrapping},
		{name: "Both signed (Okta): evil Assertion before the signed one", flavor: samltest.Okta, where: samltest.SignBoth,
			attack: func(d *etree.Document) {
				a := samltest.FindAssertion(d.Root())
				insertBefore(d.Root(), a, evilAssertion(a, "_evilassertion"))
			}, want: ReasonMultipleAssertions, wantDeep: ReasonSignatureWrapping},
		{name: "namespace-qualified ID shadowing the real one", where: samltest.SignAssertion,
			attack: func(d *etree.Document) {
				a := assertionOf(d)
				a.CreateAttr("xmlns:ID", "urn:evil")
			}, want: ReasonSignatureWrapping, wantDeep: ReasonSignatureWrapping},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flavor := c.flavor
			if flavor == "" {
				flavor = samltest.Entra
			}
			doc := buildDoc(flavor, nil)
			finish(t, testIssuer(f, flavor), doc, samltest.Signing{Where: c.where})
			c.attack(doc)
			form := samltest.Encode(serialize(t, doc))

			a, err := testValidator().Validate(testIdP(f, flavor), testSP(f), form, requestID)
			wantReason(t, err, c.want)

			deep := testValidator()
			deep.skipAssertionCount = true
			a, err = deep.Validate(testIdP(f, flavor), testSP(f), form, requestID)
			if c.wantDeep != "" {
				wantReason(t, err, c.wantDeep)
				return
			}
			if err != nil {
				t.Fatalf("without the one-assertion rule: %v; want the signed assertion", err)
			}
			if a.NameID != "alice@corp.example" {
				t.Fatalf("NameID %q: the unsigned assertion was used", a.NameID)
			}
		})
	}
}

func insertAfterIssuerOf(parent, child *etree.Element) {
	for _, c := range parent.ChildElements() {
		if c.Tag == "Issuer" {
			parent.InsertChildAt(c.Index()+1, child)
			return
		}
	}
	parent.InsertChildAt(0, child)
}
