package samltest

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
)

// Where says which elements get signed.
type Where int

// Signing placements. SignDefault follows the flavor: Entra and ADFS sign
// the Assertion, Okta signs the Response and the Assertion.
const (
	SignDefault Where = iota
	SignNone
	SignResponse
	SignAssertion
	SignBoth
)

// DefaultSigning is what the real IdP signs out of the box.
func (f Flavor) DefaultSigning() Where {
	if f == Okta {
		return SignBoth
	}
	return SignAssertion
}

// IdP is a test identity provider: an entity ID, a flavor and a signing key.
type IdP struct {
	Flavor   Flavor
	EntityID string
	Key      *Keypair
}

// Signing says how IdP.Response signs and encrypts.
type Signing struct {
	Where Where
	SignOptions
	// EncryptFor, if set, encrypts the Assertion (after signing it) for
	// this certificate's RSA key, as Entra does: AES-256-CBC content,
	// RSA-OAEP key transport inside the EncryptedData's KeyInfo.
	EncryptFor *x509.Certificate
}

// Response builds, signs and optionally encrypts a Response and returns its
// XML. Use Encode for the SAMLResponse form value.
func (idp *IdP) Response(o Options, s Signing) ([]byte, error) {
	if o.Flavor == "" {
		o.Flavor = idp.Flavor
	}
	if o.Issuer == "" {
		o.Issuer = idp.EntityID
	}
	if s.SignOptions.Prefix == "" && o.Flavor.DSigPrefix() != "" {
		s.SignOptions.Prefix = o.Flavor.DSigPrefix()
	}
	doc := BuildResponse(o)
	if err := idp.Finish(doc, s); err != nil {
		return nil, err
	}
	return Serialize(doc)
}

// Finish signs and encrypts an already built (and possibly edited) Response
// document in place, in the order real IdPs do: sign the Assertion, encrypt
// it, sign the Response.
func (idp *IdP) Finish(doc *etree.Document, s Signing) error {
	where := s.Where
	if where == SignDefault {
		where = idp.Flavor.DefaultSigning()
	}
	resp := doc.Root()
	if a := FindAssertion(resp); a != nil && (where == SignAssertion || where == SignBoth) {
		if err := Sign(a, idp.Key, s.SignOptions); err != nil {
			return err
		}
	}
	if s.EncryptFor != nil {
		if err := EncryptAssertion(resp, s.EncryptFor); err != nil {
			return err
		}
	}
	if where == SignResponse || where == SignBoth {
		return Sign(resp, idp.Key, s.SignOptions)
	}
	return nil
}

// FindAssertion returns the first Assertion child of a Response.
func FindAssertion(resp *etree.Element) *etree.Element {
	for _, c := range resp.ChildElements() {
		if c.Tag == "Assertion" {
			return c
		}
	}
	return nil
}

// Serialize writes a document without indentation, as IdPs send it.
func Serialize(doc *etree.Document) ([]byte, error) {
	return doc.WriteToBytes()
}

// EncryptAssertion replaces the Assertion child of resp by an
// EncryptedAssertion for cert.
func EncryptAssertion(resp *etree.Element, cert *x509.Certificate) error {
	a := FindAssertion(resp)
	if a == nil {
		return errors.New("samltest: no Assertion to encrypt")
	}
	plain := etree.NewDocument()
	plain.SetRoot(Detach(a))
	plaintext, err := plain.WriteToBytes()
	if err != nil {
		return err
	}
	enc := xmlenc.OAEP()
	enc.BlockCipher = xmlenc.AES256CBC
	data, err := enc.Encrypt(cert, plaintext, nil)
	if err != nil {
		return fmt.Errorf("samltest: encrypt: %w", err)
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ea := etree.NewElement(q(a.Space, "EncryptedAssertion"))
	if a.Space == "" {
		ea.CreateAttr("xmlns", NSAssertion)
	} else {
		ea.CreateAttr("xmlns:"+a.Space, NSAssertion)
	}
	ea.AddChild(data)
	idx := a.Index()
	resp.RemoveChildAt(idx)
	resp.InsertChildAt(idx, ea)
	return nil
}
