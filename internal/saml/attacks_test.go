package saml

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// Attacks found in the security review that the rule tests did not cover.
// Each case was written first, seen to fail (the attack worked), then fixed.

// spreadKeys moves the content key of an encrypted assertion out of the
// EncryptedData's KeyInfo to beside it (the Shibboleth layout), after
// `decoys` copies whose ciphertext is corrupted. Every decoy costs the SP
// one RSA private-key operation before the real key is found.
func spreadKeys(decoys int) func(*etree.Document) {
	return func(d *etree.Document) {
		ea := find(d, "EncryptedAssertion")
		data := ea.SelectElement("EncryptedData")
		ki := data.SelectElement("KeyInfo")
		ek := ki.SelectElement("EncryptedKey")
		data.RemoveChild(ki)
		ek.RemoveAttr("Id") // copies must not repeat an ID
		if k := ek.SelectElement("KeyInfo"); k != nil {
			ek.RemoveChild(k)
		}
		cv := ek.FindElement(".//CipherValue")
		good := cv.Text()
		bad := []byte(good)
		bad[10] ^= 1
		cv.SetText(string(bad))
		for range decoys {
			ea.AddChild(ek.Copy())
		}
		cv.SetText(good)
		ea.AddChild(ek)
	}
}

func TestAttackEncryptedKeyFlood(t *testing.T) {
	encrypt := func(f *fixtures) samltest.Signing { return samltest.Signing{EncryptFor: f.sp.Cert} }
	runRules(t, []ruleCase{
		// A legitimate multi-recipient layout still works.
		{name: "one wrong key before the right one", sign: encrypt, post: spreadKeys(1)},
		{name: "as many keys as allowed", sign: encrypt, post: spreadKeys(maxEncryptedKeys - 1)},
		// 200 decoys cost ~0.4 s of RSA decryption per POST, about 60 times a
		// normal response, from anyone holding a pending request (or from
		// anyone at all when IdP-initiated sign-in is on). Only a few keys
		// are ever tried.
		{name: "EncryptedKey flood", sign: encrypt, post: spreadKeys(maxEncryptedKeys), want: ReasonEncryptedAssertionFailed},
	})

	// The refusal must come before the RSA work: count the private-key
	// operations a large flood costs, and those a legitimate layout costs.
	f := loadFixtures(t)
	for _, c := range []struct {
		name       string
		decoys     int
		want       string
		rsaAllowed int
	}{
		{name: "150 decoy keys", decoys: 150, want: ReasonEncryptedAssertionFailed, rsaAllowed: 0},
		{name: "every allowed key tried, the last one right", decoys: maxEncryptedKeys - 1, rsaAllowed: maxEncryptedKeys},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := buildDoc(samltest.Entra, nil)
			finish(t, testIssuer(f, samltest.Entra), doc, encrypt(f))
			spreadKeys(c.decoys)(doc)
			form := samltest.Encode(serialize(t, doc))
			rsaOps := 0
			v := testValidator()
			v.decrypt = func(key any, el *etree.Element) ([]byte, error) {
				if el.Tag == "EncryptedKey" {
					rsaOps++
				}
				return xmlenc.Decrypt(key, el)
			}
			_, err := v.Validate(testIdP(f, samltest.Entra), testSP(f), form, requestID)
			if c.want == "" && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if c.want != "" {
				wantReason(t, err, c.want)
				if !strings.Contains(err.Error(), "EncryptedKey") {
					t.Errorf("detail does not say why: %v", err)
				}
			}
			if rsaOps != c.rsaAllowed {
				t.Errorf("%d RSA key decryptions, want %d", rsaOps, c.rsaAllowed)
			}
		})
	}
}

// TestXSWNamespaceVariants are wrapping attempts that play on namespaces
// rather than on element order. None worked; they are kept so that a
// change to element matching (by prefix instead of resolved namespace, or
// reading the received tree instead of the verified one) is caught.
func TestXSWNamespaceVariants(t *testing.T) {
	f := loadFixtures(t)
	// want names the reason for each signing position, first with every
	// layer, then with the one-assertion rule off: a rejection for another
	// reason means a layer stopped doing its part.
	type reasons map[samltest.Where][2]string
	for _, c := range []struct {
		name   string
		attack func(*etree.Document)
		want   reasons
	}{
		{"signed Assertion moved to another namespace, evil one in its place", func(d *etree.Document) {
			a := assertionOf(d)
			insertBefore(d.Root(), a, evilAssertion(a, "_evil"))
			a.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:1.0:assertion")
		}, reasons{
			// Counted by local name, so an Assertion in any namespace counts.
			samltest.SignAssertion: {ReasonMultipleAssertions, ReasonSignatureWrapping},
			samltest.SignResponse:  {ReasonMultipleAssertions, ReasonSignatureInvalid},
		}},
		{"evil Assertion under a prefix bound to the assertion namespace, carrying the Signature", func(d *etree.Document) {
			a := assertionOf(d)
			evil := evilAssertion(a, "_evil")
			evil.Space = "x"
			evil.CreateAttr("xmlns:x", "urn:oasis:names:tc:SAML:2.0:assertion")
			for _, ch := range a.ChildElements() {
				if ch.Tag == "Signature" {
					insertAfterIssuerOf(evil, ch.Copy())
				}
			}
			d.Root().InsertChildAt(a.Index(), evil)
			remove(a)
		}, reasons{
			samltest.SignAssertion: {ReasonSignatureWrapping, ReasonSignatureWrapping},
			samltest.SignResponse:  {ReasonSignatureInvalid, ReasonSignatureInvalid},
		}},
		{"Signature rebound to another namespace, NameID changed", func(d *etree.Document) {
			for _, ch := range append(assertionOf(d).ChildElements(), d.Root().ChildElements()...) {
				if ch.Tag == "Signature" {
					ch.CreateAttr("xmlns", "urn:evil")
				}
			}
			find(d, "NameID").SetText(evilNameID)
		}, reasons{
			// A Signature outside the dsig namespace is no signature.
			samltest.SignAssertion: {ReasonUnsigned, ReasonUnsigned},
			samltest.SignResponse:  {ReasonUnsigned, ReasonUnsigned},
		}},
		{"default namespace undeclared on NameID", func(d *etree.Document) {
			find(d, "NameID").CreateAttr("xmlns", "")
		}, reasons{
			samltest.SignAssertion: {ReasonSignatureInvalid, ReasonSignatureInvalid},
			samltest.SignResponse:  {ReasonSignatureInvalid, ReasonSignatureInvalid},
		}},
	} {
		for _, w := range []samltest.Where{samltest.SignAssertion, samltest.SignResponse} {
			t.Run(c.name, func(t *testing.T) {
				doc := buildDoc(samltest.Entra, nil)
				finish(t, testIssuer(f, samltest.Entra), doc, samltest.Signing{Where: w})
				c.attack(doc)
				form := samltest.Encode(serialize(t, doc))
				for i, v := range []*Validator{testValidator(), {Now: testValidator().Now, skipAssertionCount: true}} {
					a, err := v.Validate(testIdP(f, samltest.Entra), testSP(f), form, requestID)
					if err == nil {
						t.Fatalf("accepted (NameID %q)", a.NameID)
					}
					wantReason(t, err, c.want[w][i])
				}
			})
		}
	}
}

// TestResponseInResponseToChecked: the Response's own InResponseTo is
// compared, not only the Assertion's. A Response that answers another
// request around an Assertion that answers ours (or an unsolicited
// Assertion wrapped in a Response that claims a request) is refused for
// the Response's field, signed at either level.
func TestResponseInResponseToChecked(t *testing.T) {
	f := loadFixtures(t)
	allowIdPInit := allow(func(i *IdP) { i.AllowIdPInitiated = true })
	for w, where := range map[samltest.Where]string{samltest.SignAssertion: "Assertion signed", samltest.SignResponse: "Response signed", samltest.SignBoth: "both signed"} {
		sign := func(*fixtures) samltest.Signing { return samltest.Signing{Where: w} }
		for _, c := range []ruleCase{{
			name: "Response answers another request, Assertion ours", sign: sign,
			pre: func(d *etree.Document) { setAttr(d.Root(), "InResponseTo", "_gh_other_request") },
		}, {
			name: "unsolicited Assertion in a Response that answers a request", sign: sign, expected: str(""), idp: allowIdPInit,
			edit: func(o *samltest.Options) { o.InResponseTo = "" },
			pre:  func(d *etree.Document) { setAttr(d.Root(), "InResponseTo", "_gh_some_request") },
		}} {
			t.Run(c.name+", "+where, func(t *testing.T) {
				if got := attrValue(buildDocFor(t, c), "InResponseTo"); got == "" {
					t.Fatal("the case sets no Response InResponseTo")
				}
				_, err := c.run(t, f)
				wantReason(t, err, ReasonInResponseToMismatch)
				if !strings.Contains(err.Error(), "the Response answers") && !strings.Contains(err.Error(), "Response InResponseTo") {
					t.Errorf("refused for another field: %v", err)
				}
			})
		}
	}
}

// buildDocFor builds c's document up to its pre edit, to check the case
// sets up what it claims.
func buildDocFor(t *testing.T, c ruleCase) *etree.Element {
	t.Helper()
	d := buildDoc(samltest.Entra, c.edit)
	if c.pre != nil {
		c.pre(d)
	}
	return d.Root()
}
