package saml

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

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

	// The refusal must come before the RSA work: time a large flood.
	f := loadFixtures(t)
	start := time.Now()
	_, err := ruleCase{sign: encrypt, post: spreadKeys(150)}.run(t, f)
	wantReason(t, err, ReasonEncryptedAssertionFailed)
	if !strings.Contains(err.Error(), "EncryptedKey") {
		t.Errorf("detail does not say why: %v", err)
	}
	t.Logf("150 decoy keys refused in %v", time.Since(start))
}

// TestXSWNamespaceVariants are wrapping attempts that play on namespaces
// rather than on element order. None worked; they are kept so that a
// change to element matching (by prefix instead of resolved namespace, or
// reading the received tree instead of the verified one) is caught.
func TestXSWNamespaceVariants(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range []struct {
		name   string
		attack func(*etree.Document)
	}{
		{"signed Assertion moved to another namespace, evil one in its place", func(d *etree.Document) {
			a := assertionOf(d)
			insertBefore(d.Root(), a, evilAssertion(a, "_evil"))
			a.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:1.0:assertion")
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
		}},
		{"Signature rebound to another namespace, NameID changed", func(d *etree.Document) {
			for _, ch := range append(assertionOf(d).ChildElements(), d.Root().ChildElements()...) {
				if ch.Tag == "Signature" {
					ch.CreateAttr("xmlns", "urn:evil")
				}
			}
			find(d, "NameID").SetText(evilNameID)
		}},
		{"default namespace undeclared on NameID", func(d *etree.Document) {
			find(d, "NameID").CreateAttr("xmlns", "")
		}},
	} {
		for _, w := range []samltest.Where{samltest.SignAssertion, samltest.SignResponse} {
			t.Run(c.name, func(t *testing.T) {
				doc := buildDoc(samltest.Entra, nil)
				finish(t, testIssuer(f, samltest.Entra), doc, samltest.Signing{Where: w})
				c.attack(doc)
				form := samltest.Encode(serialize(t, doc))
				for _, v := range []*Validator{testValidator(), {Now: testValidator().Now, skipAssertionCount: true}} {
					a, err := v.Validate(testIdP(f, samltest.Entra), testSP(f), form, requestID)
					if err == nil {
						t.Fatalf("accepted (NameID %q)", a.NameID)
					}
				}
			})
		}
	}
}
