package saml

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// ruleCase is one response built by the test IdP, optionally tampered with,
// and the reason Validate must give ("" = accepted).
type ruleCase struct {
	name     string
	flavor   samltest.Flavor // default Entra
	edit     func(*samltest.Options)
	pre      func(doc *etree.Document) // before signing
	sign     func(f *fixtures) samltest.Signing
	key      func(f *fixtures) *samltest.Keypair
	post     func(doc *etree.Document) // after signing: tampering
	raw      func(xml []byte) []byte   // on the serialized bytes
	encoded  func(b64 string) string   // on the form value
	idp      func(f *fixtures, i IdP) IdP
	sp       func(s SP) SP
	now      time.Time
	skew     time.Duration
	maxBody  int
	expected *string // expectedRequestID; nil = requestID
	want     string
	check    func(t *testing.T, a *Assertion)
}

func (c ruleCase) run(t *testing.T, f *fixtures) (*Assertion, error) {
	t.Helper()
	flavor := c.flavor
	if flavor == "" {
		flavor = samltest.Entra
	}
	doc := buildDoc(flavor, c.edit)
	if c.pre != nil {
		c.pre(doc)
	}
	idp := testIssuer(f, flavor)
	if c.key != nil {
		idp.Key = c.key(f)
	}
	var s samltest.Signing
	if c.sign != nil {
		s = c.sign(f)
	}
	finish(t, idp, doc, s)
	if c.post != nil {
		c.post(doc)
	}
	raw := serialize(t, doc)
	if c.raw != nil {
		raw = c.raw(raw)
	}
	form := samltest.Encode(raw)
	if c.encoded != nil {
		form = c.encoded(form)
	}
	cfg := testIdP(f, flavor)
	if c.idp != nil {
		cfg = c.idp(f, cfg)
	}
	sp := testSP(f)
	if c.sp != nil {
		sp = c.sp(sp)
	}
	v := testValidator()
	if !c.now.IsZero() {
		now := c.now
		v.Now = func() time.Time { return now }
	}
	v.MaxSkew, v.MaxBodyBytes = c.skew, c.maxBody
	expected := requestID
	if c.expected != nil {
		expected = *c.expected
	}
	return v.Validate(cfg, sp, form, expected)
}

func runRules(t *testing.T, cases []ruleCase) {
	f := loadFixtures(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.run(t, f)
			if c.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
			} else {
				wantReason(t, err, c.want)
				if a != nil {
					t.Fatal("non-nil assertion with an error")
				}
			}
			if c.check != nil {
				c.check(t, a)
			}
		})
	}
}

func str(s string) *string { return &s }

// find returns the first element with the given tag (any prefix), searching
// the whole document.
func find(doc *etree.Document, tag string) *etree.Element {
	el := doc.FindElement("//" + tag)
	if el == nil {
		panic("no <" + tag + "> in test document")
	}
	return el
}

func assertionOf(doc *etree.Document) *etree.Element { return samltest.FindAssertion(doc.Root()) }

// sigOf returns the direct ds:Signature child of el.
func sigOf(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			return c
		}
	}
	panic("no Signature in <" + el.Tag + ">")
}

func setAttr(el *etree.Element, key, value string) { el.CreateAttr(key, value) }

func remove(el *etree.Element) { el.Parent().RemoveChild(el) }

func signWith(w samltest.Where) func(*fixtures) samltest.Signing {
	return func(*fixtures) samltest.Signing { return samltest.Signing{Where: w} }
}

func allow(mod func(*IdP)) func(*fixtures, IdP) IdP {
	return func(_ *fixtures, i IdP) IdP { mod(&i); return i }
}

// TestRuleBodyAndStatus covers rules 1 and 2: size, encoding, root, status.
func TestRuleBodyAndStatus(t *testing.T) {
	runRules(t, []ruleCase{
		{name: "accepted Entra response"},
		{name: "base64 wrapped at 76 columns with CRLF is accepted", encoded: func(s string) string {
			var b strings.Builder
			for len(s) > 76 {
				b.WriteString(s[:76] + "\r\n")
				s = s[76:]
			}
			return b.String() + s
		}},
		{name: "oversized body", maxBody: 4096, want: ReasonTooLarge},
		{name: "oversized body at the default limit", raw: func(b []byte) []byte {
			return append(b, []byte("<!--"+strings.Repeat("x", DefaultMaxBodyBytes)+"-->")...)
		}, want: ReasonTooLarge},
		{name: "not base64", encoded: func(string) string { return "PHNhbWxwOlJlc3BvbnNl*" }, want: ReasonMalformed},
		{name: "empty form value", encoded: func(string) string { return "" }, want: ReasonMalformed},
		{name: "not XML", raw: func([]byte) []byte { return []byte("hello, SAML") }, want: ReasonMalformed},
		{name: "truncated XML", raw: func(b []byte) []byte { return b[:len(b)/2] }, want: ReasonMalformed},
		{name: "bare Assertion instead of Response", raw: func(b []byte) []byte {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(b); err != nil {
				panic(err)
			}
			out, _ := samltest.Serialize(etree.NewDocumentWithRoot(samltest.Detach(assertionOf(doc))))
			return out
		}, want: ReasonMalformed},
		{name: "Response in the wrong namespace", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"`, `xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol"`, 1))
		}, want: ReasonMalformed},
		{name: "Response Version 1.1", post: func(d *etree.Document) { setAttr(d.Root(), "Version", "1.1") }, want: ReasonMalformed},
		{name: "error Status from the IdP", edit: func(o *samltest.Options) {
			o.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Requester"
			o.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
			o.StatusMessage = "AADSTS50105: The signed in user is not assigned to a role for the application."
		}, want: ReasonStatusNotSuccess},
		{name: "Success status without any assertion", post: func(d *etree.Document) { remove(assertionOf(d)) }, want: ReasonMalformed},
	})

	// The IdP's status code and message reach the admin through Detail.
	f := loadFixtures(t)
	_, err := ruleCase{edit: func(o *samltest.Options) {
		o.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
		o.StatusMessage = "AADSTS700016"
	}}.run(t, f)
	var e *Error
	if !asAny(err, &e) || !strings.Contains(e.Detail, "status:Responder") || !strings.Contains(e.Detail, "AADSTS700016") {
		t.Fatalf("status detail missing from %v", err)
	}
}

// TestRuleSignature covers rule 3 (signature, algorithms, trust) and rule 5
// (certificate validity).
func TestRuleSignature(t *testing.T) {
	expiredCert := func(f *fixtures) *x509.Certificate {
		c, err := samltest.NewCertificate(f.idp1.Key, "expired", keyFrom, fixedNow.Add(-24*time.Hour))
		if err != nil {
			panic(err)
		}
		return c
	}
	futureCert := func(f *fixtures) *x509.Certificate {
		c, err := samltest.NewCertificate(f.idp1.Key, "future", fixedNow.Add(24*time.Hour), keyUntil)
		if err != nil {
			panic(err)
		}
		return c
	}
	runRules(t, []ruleCase{
		{name: "unsigned response", sign: signWith(samltest.SignNone), want: ReasonUnsigned},
		{name: "signature removed", post: func(d *etree.Document) { remove(sigOf(assertionOf(d))) }, want: ReasonUnsigned},
		{name: "SignatureValue emptied", post: func(d *etree.Document) {
			find(d, "SignatureValue").SetText("")
		}, want: ReasonSignatureInvalid},
		{name: "SignatureValue of another document", post: func(d *etree.Document) {
			other := buildDoc(samltest.Entra, func(o *samltest.Options) { o.NameID = "mallory@corp.example" })
			finish(t, testIssuer(loadFixtures(t), samltest.Entra), other, samltest.Signing{})
			find(d, "SignatureValue").SetText(find(other, "SignatureValue").Text())
		}, want: ReasonSignatureInvalid},
		{name: "attribute tampered after signing", post: func(d *etree.Document) {
			for _, v := range d.FindElements("//AttributeValue") {
				if v.Text() == "alice@corp.example" {
					v.SetText("admin@corp.example")
				}
			}
		}, want: ReasonSignatureInvalid},
		{name: "NameID tampered after signing", post: func(d *etree.Document) {
			find(d, "NameID").SetText("admin@corp.example")
		}, want: ReasonSignatureInvalid},
		{name: "Audience tampered after signing", post: func(d *etree.Document) {
			find(d, "Audience").SetText("https://other-sp.example")
		}, want: ReasonSignatureInvalid},
		{name: "signature over a different element (Reference URI to the Response)",
			sign: func(*fixtures) samltest.Signing {
				uri := "#" + baseOptions(samltest.Entra).ResponseID
				return samltest.Signing{SignOptions: samltest.SignOptions{ReferenceURI: &uri}}
			}, want: ReasonSignatureWrapping},
		{name: "Reference URI empty (whole document)",
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{ReferenceURI: str("")}}
			}, want: ReasonSignatureWrapping},
		{name: "attacker key with its own certificate in KeyInfo",
			key: func(f *fixtures) *samltest.Keypair { return f.attacker }, want: ReasonUntrustedCertificate},
		{name: "attacker key with the trusted certificate copied into KeyInfo",
			key: func(f *fixtures) *samltest.Keypair { return f.attacker },
			sign: func(f *fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{KeyInfoCert: f.idp1.Cert}}
			}, want: ReasonSignatureInvalid},
		{name: "attacker key without KeyInfo",
			key: func(f *fixtures) *samltest.Keypair { return f.attacker },
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{OmitKeyInfo: true}}
			},
			want: ReasonSignatureInvalid},
		{name: "trusted key with a lying KeyInfo is accepted (KeyInfo is not trust)",
			sign: func(f *fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{KeyInfoCert: f.attacker.Cert}}
			}},
		{name: "no KeyInfo, several trusted certificates",
			key: func(f *fixtures) *samltest.Keypair { return f.idp2 },
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{OmitKeyInfo: true}}
			},
			idp: func(f *fixtures, i IdP) IdP {
				i.Certificates = []*x509.Certificate{f.idp1.Cert, f.idp2.Cert}
				return i
			}},
		{name: "rollover: signed by the new key before the admin added it",
			key: func(f *fixtures) *samltest.Keypair { return f.idp2 }, want: ReasonUntrustedCertificate},
		{name: "no trusted certificate configured",
			idp: func(_ *fixtures, i IdP) IdP { i.Certificates = nil; return i }, want: ReasonUntrustedCertificate},
		{name: "SHA-1 refused by default", flavor: samltest.ADFS,
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{SHA1: true}}
			},
			want: ReasonWeakSignatureAlgorithm},
		{name: "SHA-1 accepted with a warning when allowed", flavor: samltest.ADFS,
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{SHA1: true}}
			},
			idp: allow(func(i *IdP) { i.AllowSHA1 = true }),
			check: func(t *testing.T, a *Assertion) {
				if !equalStrings(a.Warnings, []string{WarningSHA1Signature}) {
					t.Fatalf("warnings %v", a.Warnings)
				}
			}},
		{name: "SHA-1 digest under an RSA-SHA256 signature refused", post: func(d *etree.Document) {
			setAttr(find(d, "DigestMethod"), "Algorithm", samltest.AlgDigestSHA1)
		}, want: ReasonWeakSignatureAlgorithm},
		{name: "unknown signature algorithm (rsa-md5)", post: func(d *etree.Document) {
			setAttr(find(d, "SignatureMethod"), "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5")
		}, want: ReasonWeakSignatureAlgorithm},
		{name: "HMAC signature algorithm", post: func(d *etree.Document) {
			setAttr(find(d, "SignatureMethod"), "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
		}, want: ReasonWeakSignatureAlgorithm},
		{name: "canonicalization with comments", post: func(d *etree.Document) {
			setAttr(find(d, "CanonicalizationMethod"), "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments")
		}, want: ReasonWeakSignatureAlgorithm},
		{name: "XPath transform", post: func(d *etree.Document) {
			tr := find(d, "Transforms").CreateElement("Transform")
			tr.Space = find(d, "Transforms").Space
			tr.CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
		}, want: ReasonWeakSignatureAlgorithm},
		{name: "duplicated IDs: Response reuses the Assertion's ID", post: func(d *etree.Document) {
			setAttr(d.Root(), "ID", baseOptions(samltest.Entra).AssertionID)
		}, want: ReasonSignatureWrapping},
		{name: "duplicated IDs: an Extensions element with the Assertion's ID", post: func(d *etree.Document) {
			ext := etree.NewElement("samlp:Extensions")
			ext.CreateElement("x").CreateAttr("ID", baseOptions(samltest.Entra).AssertionID)
			d.Root().InsertChildAt(1, ext)
		}, want: ReasonSignatureWrapping},
		{name: "two References in SignedInfo", post: func(d *etree.Document) {
			ref := find(d, "Reference")
			ref.Parent().AddChild(ref.Copy())
		}, want: ReasonSignatureWrapping},
		{name: "1024-bit RSA signing key", key: func(*fixtures) *samltest.Keypair { return weakKey(t) },
			idp:  func(_ *fixtures, i IdP) IdP { i.Certificates = []*x509.Certificate{weakKey(t).Cert}; return i },
			want: ReasonWeakSignatureAlgorithm},
		{name: "expired signing certificate",
			idp: func(f *fixtures, i IdP) IdP { i.Certificates = []*x509.Certificate{expiredCert(f)}; return i },
			sign: func(f *fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{KeyInfoCert: expiredCert(f)}}
			},
			want: ReasonCertificateExpired},
		{name: "not yet valid signing certificate",
			idp:  func(f *fixtures, i IdP) IdP { i.Certificates = []*x509.Certificate{futureCert(f)}; return i },
			want: ReasonCertificateExpired},
		{name: "expired signing certificate allowed with a warning",
			idp: func(f *fixtures, i IdP) IdP {
				i.Certificates = []*x509.Certificate{expiredCert(f)}
				i.AllowExpiredCertificates = true
				return i
			},
			check: func(t *testing.T, a *Assertion) {
				if !equalStrings(a.Warnings, []string{WarningExpiredCertificateAllowed}) {
					t.Fatalf("warnings %v", a.Warnings)
				}
			}},
		{name: "Response signed, Assertion not (taken from the signed Response)",
			sign: signWith(samltest.SignResponse),
			check: func(t *testing.T, a *Assertion) {
				if a.SignedElement != "Response" {
					t.Fatalf("SignedElement %q", a.SignedElement)
				}
			}},
		{name: "Response signed, Assertion tampered", sign: signWith(samltest.SignResponse),
			post: func(d *etree.Document) { find(d, "NameID").SetText("admin@corp.example") },
			want: ReasonSignatureInvalid},
		{name: "both signed, inner Assertion signature broken", flavor: samltest.Okta,
			post: func(d *etree.Document) {
				// Re-sign the Response over a broken Assertion signature,
				// so only the inner signature is wrong.
				remove(sigOf(d.Root()))
				sv := sigOf(assertionOf(d)).FindElement("SignatureValue")
				sv.SetText("AAAA" + sv.Text()[4:])
				if err := samltest.Sign(d.Root(), loadFixtures(t).idp1, samltest.SignOptions{Prefix: "ds"}); err != nil {
					t.Fatal(err)
				}
			}, want: ReasonSignatureInvalid},
	})
}

var weak struct {
	once sync.Once
	kp   *samltest.Keypair
}

// weakKey is a 1024-bit RSA keypair, generated once per test run.
func weakKey(t *testing.T) *samltest.Keypair {
	weak.once.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := samltest.NewCertificate(key, "weak", keyFrom, keyUntil)
		if err != nil {
			t.Fatal(err)
		}
		weak.kp = &samltest.Keypair{Key: key, Cert: cert}
	})
	return weak.kp
}
