package saml

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// TestRuleBinding covers rule 6: issuer, audience, destination, recipient.
func TestRuleBinding(t *testing.T) {
	runRules(t, []ruleCase{
		{name: "wrong Issuer (signed by the trusted key)", edit: func(o *samltest.Options) {
			o.Issuer = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"
		}, want: ReasonIssuerMismatch},
		{name: "wrong Issuer on the unsigned Response only", post: func(d *etree.Document) {
			d.Root().SelectElement("Issuer").SetText("https://evil.example/")
		}, want: ReasonIssuerMismatch},
		{name: "Response without Issuer is accepted (optional in the schema)", post: func(d *etree.Document) {
			remove(d.Root().SelectElement("Issuer"))
		}},
		{name: "Assertion Issuer removed before signing", pre: func(d *etree.Document) {
			remove(assertionOf(d).SelectElement("Issuer"))
		}, want: ReasonIssuerMismatch},
		{name: "wrong Audience", edit: func(o *samltest.Options) { o.Audience = "https://other-sp.example/metadata" }, want: ReasonAudienceMismatch},
		{name: "second AudienceRestriction without us", pre: func(d *etree.Document) {
			ar := find(d, "AudienceRestriction")
			c := ar.Copy()
			c.SelectElement("Audience").SetText("https://other-sp.example/metadata")
			ar.Parent().AddChild(c)
		}, want: ReasonAudienceMismatch},
		{name: "one AudienceRestriction listing another SP and us", pre: func(d *etree.Document) {
			ar := find(d, "AudienceRestriction")
			other := ar.SelectElement("Audience").Copy()
			other.SetText("https://other-sp.example/metadata")
			ar.InsertChildAt(0, other)
		}},
		{name: "no Conditions", pre: func(d *etree.Document) { remove(find(d, "Conditions")) }, want: ReasonAudienceMismatch},
		{name: "unknown Condition", pre: func(d *etree.Document) {
			c := find(d, "Conditions").CreateElement("Condition")
			c.CreateAttr("xmlns:x", "urn:example:conditions")
		}, want: ReasonMalformed},
		{name: "wrong Destination", post: func(d *etree.Document) {
			setAttr(d.Root(), "Destination", "https://evil.example/acs")
		}, want: ReasonDestinationMismatch},
		{name: "wrong Destination under the Response signature", flavor: samltest.Okta,
			pre: func(d *etree.Document) {
				setAttr(d.Root(), "Destination", "https://gatehouse.test/saml/acs?tenant=other")
			}, want: ReasonDestinationMismatch},
		{name: "Destination absent on a signed Response is accepted", flavor: samltest.Okta,
			edit: func(o *samltest.Options) { o.OmitDestination = true }},
		{name: "Destination absent on an unsigned Response is accepted",
			edit: func(o *samltest.Options) { o.OmitDestination = true }},
		{name: "wrong Recipient", pre: func(d *etree.Document) {
			setAttr(find(d, "SubjectConfirmationData"), "Recipient", "https://other-sp.example/acs")
		}, want: ReasonRecipientMismatch},
		{name: "SP configured with another ACS URL", sp: func(s SP) SP { s.ACSURL = "https://gatehouse.test/saml/acs/2"; return s },
			want: ReasonDestinationMismatch},
		{name: "no bearer SubjectConfirmation", pre: func(d *etree.Document) {
			setAttr(find(d, "SubjectConfirmation"), "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
		}, want: ReasonMissingSubject},
		{name: "second bearer confirmation for us after one for another SP", pre: func(d *etree.Document) {
			sc := find(d, "SubjectConfirmation")
			other := sc.Copy()
			setAttr(other.SelectElement("SubjectConfirmationData"), "Recipient", "https://other-sp.example/acs")
			sc.Parent().InsertChildAt(sc.Index(), other)
		}},
	})
}

// TestRuleTime covers rule 7: the validity windows with skew.
func TestRuleTime(t *testing.T) {
	runRules(t, []ruleCase{
		{name: "expired assertion (an hour later)", now: issueTime.Add(2 * time.Hour), want: ReasonExpired},
		{name: "SubjectConfirmationData expired, Conditions still valid", now: issueTime.Add(9 * time.Minute), want: ReasonExpired},
		{name: "SubjectConfirmationData just within the skew", now: issueTime.Add(7*time.Minute + 59*time.Second)},
		{name: "not yet valid (clock 10 minutes behind)", now: issueTime.Add(-10 * time.Minute), want: ReasonNotYetValid},
		{name: "Entra NotBefore == IssueInstant, node clock 2 minutes behind", now: issueTime.Add(-2 * time.Minute),
			check: func(t *testing.T, a *Assertion) {
				if a.NameID != "alice@corp.example" {
					t.Fatal(a.NameID)
				}
			}},
		{name: "Entra, node clock 4 minutes behind", now: issueTime.Add(-4 * time.Minute), want: ReasonNotYetValid},
		{name: "MaxSkew above 3m is capped", now: issueTime.Add(-10 * time.Minute), skew: time.Hour, want: ReasonNotYetValid},
		{name: "smaller MaxSkew is honoured", now: issueTime.Add(-2 * time.Minute), skew: time.Minute, want: ReasonNotYetValid},
		{name: "Okta, node clock 2 minutes behind", flavor: samltest.Okta, now: issueTime.Add(-2 * time.Minute)},
		// Okta's NotBefore is 5 minutes early, but an assertion issued
		// beyond the skew in our future is still refused.
		{name: "Okta, node clock 6 minutes behind", flavor: samltest.Okta, now: issueTime.Add(-6 * time.Minute), want: ReasonNotYetValid},
		{name: "bearer NotBefore in the future", pre: func(d *etree.Document) {
			setAttr(find(d, "SubjectConfirmationData"), "NotBefore", "2026-03-02T10:30:00Z")
		}, want: ReasonNotYetValid},
		{name: "bearer confirmation without NotOnOrAfter", pre: func(d *etree.Document) {
			find(d, "SubjectConfirmationData").RemoveAttr("NotOnOrAfter")
		}, want: ReasonMalformed},
		{name: "time without zone", pre: func(d *etree.Document) {
			setAttr(find(d, "Conditions"), "NotOnOrAfter", "2026-03-02T10:29:40")
		}, want: ReasonMalformed},
		{name: "IdP session already over", pre: func(d *etree.Document) {
			setAttr(find(d, "AuthnStatement"), "SessionNotOnOrAfter", "2026-03-02T09:00:00Z")
		}, want: ReasonExpired},
		{name: "assertion issued in the future", pre: func(d *etree.Document) {
			setAttr(assertionOf(d), "IssueInstant", "2026-03-02T10:00:00Z")
		}, want: ReasonNotYetValid},
	})
}

// TestRuleInResponseTo covers rule 8: solicited and unsolicited responses.
func TestRuleInResponseTo(t *testing.T) {
	allowIdPInit := allow(func(i *IdP) { i.AllowIdPInitiated = true })
	unsolicited := func(o *samltest.Options) { o.InResponseTo = "" }
	runRules(t, []ruleCase{
		{name: "InResponseTo of another request", expected: str("_gh_other_request"), want: ReasonInResponseToMismatch},
		{name: "SubjectConfirmationData answers another request", pre: func(d *etree.Document) {
			setAttr(find(d, "SubjectConfirmationData"), "InResponseTo", "_gh_other_request")
		}, want: ReasonInResponseToMismatch},
		{name: "unsolicited response when IdP-initiated login is off", edit: unsolicited, expected: str(""), want: ReasonUnsolicitedNotAllowed},
		{name: "unsolicited response when allowed", edit: unsolicited, expected: str(""), idp: allowIdPInit,
			check: func(t *testing.T, a *Assertion) {
				if a.InResponseTo != "" {
					t.Fatal(a.InResponseTo)
				}
			}},
		{name: "solicited response replayed as unsolicited", expected: str(""), idp: allowIdPInit, want: ReasonInResponseToMismatch},
		{name: "unsolicited response where a request is pending", edit: unsolicited, want: ReasonInResponseToMismatch},
		{name: "assertion answers a request, Response does not (unsolicited)", edit: unsolicited, expected: str(""), idp: allowIdPInit,
			pre:  func(d *etree.Document) { setAttr(find(d, "SubjectConfirmationData"), "InResponseTo", requestID) },
			want: ReasonInResponseToMismatch},
	})
}

// TestRuleSubject covers rule 9: NameID extraction and comment injection.
func TestRuleSubject(t *testing.T) {
	evil := "admin@corp.example.evil.example"
	notTruncated := func(t *testing.T, a *Assertion) {
		if a != nil && a.NameID != evil {
			t.Fatalf("NameID %q, want the full %q", a.NameID, evil)
		}
	}
	runRules(t, []ruleCase{
		{name: "comment injected in NameID after signing",
			edit: func(o *samltest.Options) { o.NameID = evil },
			raw: func(b []byte) []byte {
				return []byte(strings.Replace(string(b), "admin@corp.example.evil.example</NameID>", "admin@corp.example<!-- -->.evil.example</NameID>", 1))
			}, check: notTruncated},
		{name: "comment in NameID signed by the IdP",
			edit: func(o *samltest.Options) { o.NameID = evil },
			pre: func(d *etree.Document) {
				n := find(d, "NameID")
				n.SetText("admin@corp.example")
				n.CreateComment(" c ")
				n.CreateText(".evil.example")
			}, check: notTruncated},
		{name: "comment injected in NameID of a signed Response", flavor: samltest.Okta,
			edit: func(o *samltest.Options) { o.NameID = evil },
			raw: func(b []byte) []byte {
				return []byte(strings.Replace(string(b), "admin@corp.example.evil.example</saml2:NameID>", "admin@corp.example<!---->.evil.example</saml2:NameID>", 1))
			}, check: notTruncated},
		{name: "CDATA split NameID", edit: func(o *samltest.Options) { o.NameID = evil },
			raw: func(b []byte) []byte {
				return []byte(strings.Replace(string(b), ".evil.example</NameID>", "<![CDATA[.evil]]>.example</NameID>", 1))
			}, check: notTruncated},
		{name: "missing Subject", pre: func(d *etree.Document) { remove(find(d, "Subject")) }, want: ReasonMissingSubject},
		{name: "missing NameID", pre: func(d *etree.Document) { remove(find(d, "NameID")) }, want: ReasonMissingSubject},
		{name: "empty NameID", pre: func(d *etree.Document) { find(d, "NameID").SetText("") }, want: ReasonMissingSubject},
		{name: "two NameIDs", pre: func(d *etree.Document) {
			n := find(d, "NameID")
			c := n.Copy()
			c.SetText("admin@corp.example")
			n.Parent().InsertChildAt(n.Index(), c)
		}, want: ReasonMalformed},
		{name: "element inside NameID", pre: func(d *etree.Document) { find(d, "NameID").CreateElement("b") }, want: ReasonMalformed},
	})
}

// TestRuleEncrypted covers rule 10.
func TestRuleEncrypted(t *testing.T) {
	encrypt := func(w samltest.Where) func(*fixtures) samltest.Signing {
		return func(f *fixtures) samltest.Signing { return samltest.Signing{Where: w, EncryptFor: f.sp.Cert} }
	}
	runRules(t, []ruleCase{
		{name: "encrypted, Assertion signed inside", sign: encrypt(samltest.SignAssertion)},
		{name: "encrypted, Response signed over it", sign: encrypt(samltest.SignResponse),
			check: func(t *testing.T, a *Assertion) {
				if a.SignedElement != "Response" {
					t.Fatal(a.SignedElement)
				}
			}},
		{name: "encrypted, both signed (Okta)", flavor: samltest.Okta, sign: encrypt(samltest.SignBoth),
			check: func(t *testing.T, a *Assertion) {
				if a.SignedElement != "both" {
					t.Fatal(a.SignedElement)
				}
			}},
		{name: "encrypted, nothing signed", sign: encrypt(samltest.SignNone), want: ReasonUnsigned},
		{name: "encrypted, no decryption key configured", sign: encrypt(samltest.SignAssertion),
			sp: func(s SP) SP { s.DecryptionKey = nil; return s }, want: ReasonEncryptedAssertionFailed},
		{name: "encrypted for another SP's key",
			sign: func(f *fixtures) samltest.Signing { return samltest.Signing{EncryptFor: f.attacker.Cert} },
			want: ReasonEncryptedAssertionFailed},
		{name: "encrypted, ciphertext tampered", sign: encrypt(samltest.SignAssertion), post: func(d *etree.Document) {
			cvs := d.FindElements("//CipherValue")
			cv := cvs[len(cvs)-1] // the data, not the key
			b := []byte(cv.Text())
			for i := 40; i < 80; i++ {
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
			}
			cv.SetText(string(b))
		}, want: ReasonEncryptedAssertionFailed},
		{name: "encrypted, assertion tampered before encryption (signature inside breaks)",
			sign: func(f *fixtures) samltest.Signing { return samltest.Signing{Where: samltest.SignNone} },
			post: func(d *etree.Document) {
				f := loadFixtures(t)
				a := assertionOf(d)
				if err := samltest.Sign(a, f.idp1, samltest.SignOptions{}); err != nil {
					t.Fatal(err)
				}
				find(d, "NameID").SetText("admin@corp.example")
				if err := samltest.EncryptAssertion(d.Root(), f.sp.Cert); err != nil {
					t.Fatal(err)
				}
			}, want: ReasonSignatureInvalid},
	})
}
