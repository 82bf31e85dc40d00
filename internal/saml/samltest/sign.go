package samltest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Algorithm URIs used when signing.
const (
	NSDSig          = "http://www.w3.org/2000/09/xmldsig#"
	AlgExcC14N      = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgEnveloped    = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	AlgRSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgRSASHA1      = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	AlgDigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgDigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// SignOptions tune Sign; the zero value signs like Entra ID: RSA-SHA256,
// SHA-256 digest, exc-c14n, signing certificate in KeyInfo.
type SignOptions struct {
	// SHA1 signs with rsa-sha1 and a sha1 digest, like old ADFS farms.
	SHA1 bool
	// Prefix is the ds namespace prefix; "" declares it as the default
	// namespace, as Entra does.
	Prefix string
	// KeyInfoCert is put in KeyInfo instead of the signing certificate.
	KeyInfoCert *x509.Certificate
	// OmitKeyInfo leaves KeyInfo out altogether.
	OmitKeyInfo bool
	// ReferenceURI overrides the Reference URI ("#" + the element's ID).
	ReferenceURI *string
}

// Sign adds an enveloped XML signature to el, made with k, as the child
// that follows el's Issuer (where the SAML schema puts it). el must have an
// ID attribute and must not already carry a signature.
func Sign(el *etree.Element, k *Keypair, o SignOptions) error {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return errors.New("samltest: element to sign has no ID")
	}
	hash, sigAlg, digAlg := crypto.SHA256, AlgRSASHA256, AlgDigestSHA256
	if o.SHA1 {
		hash, sigAlg, digAlg = crypto.SHA1, AlgRSASHA1, AlgDigestSHA1
	}
	canonical, err := excC14N(el)
	if err != nil {
		return err
	}
	h := hash.New()
	h.Write(canonical)
	digest := h.Sum(nil)

	p := o.Prefix
	name := func(local string) string {
		if p == "" {
			return local
		}
		return p + ":" + local
	}
	sig := etree.NewElement(name("Signature"))
	if p == "" {
		sig.CreateAttr("xmlns", NSDSig)
	} else {
		sig.CreateAttr("xmlns:"+p, NSDSig)
	}
	si := sig.CreateElement(name("SignedInfo"))
	si.CreateElement(name("CanonicalizationMethod")).CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement(name("SignatureMethod")).CreateAttr("Algorithm", sigAlg)
	ref := si.CreateElement(name("Reference"))
	uri := "#" + id
	if o.ReferenceURI != nil {
		uri = *o.ReferenceURI
	}
	ref.CreateAttr("URI", uri)
	tr := ref.CreateElement(name("Transforms"))
	tr.CreateElement(name("Transform")).CreateAttr("Algorithm", AlgEnveloped)
	tr.CreateElement(name("Transform")).CreateAttr("Algorithm", AlgExcC14N)
	ref.CreateElement(name("DigestMethod")).CreateAttr("Algorithm", digAlg)
	ref.CreateElement(name("DigestValue")).SetText(base64.StdEncoding.EncodeToString(digest))

	insertAfterIssuer(el, sig)

	canonicalSI, err := excC14N(si)
	if err != nil {
		return err
	}
	h = hash.New()
	h.Write(canonicalSI)
	value, err := rsa.SignPKCS1v15(rand.Reader, k.Key, hash, h.Sum(nil))
	if err != nil {
		return fmt.Errorf("samltest: sign: %w", err)
	}
	sig.CreateElement(name("SignatureValue")).SetText(base64.StdEncoding.EncodeToString(value))
	if !o.OmitKeyInfo {
		cert := k.Cert
		if o.KeyInfoCert != nil {
			cert = o.KeyInfoCert
		}
		sig.CreateElement(name("KeyInfo")).CreateElement(name("X509Data")).
			CreateElement(name("X509Certificate")).SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	}
	return nil
}

// insertAfterIssuer puts child right after el's Issuer element, or first if
// el has none.
func insertAfterIssuer(el, child *etree.Element) {
	for i, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && c.Tag == "Issuer" {
			el.InsertChildAt(i+1, child)
			return
		}
	}
	el.InsertChildAt(0, child)
}

// excC14N canonicalizes el as it stands in its document: exclusive c14n
// needs the namespace declarations of el's ancestors, so they are copied
// onto a detached copy first.
func excC14N(el *etree.Element) ([]byte, error) {
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(Detach(el))
}

// Detach copies el with every namespace declaration in scope re-declared on
// the copy, so it means the same outside its document.
func Detach(el *etree.Element) *etree.Element {
	declared := map[string]bool{}
	for _, a := range el.Attr {
		if a.Space == "xmlns" {
			declared[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			declared[""] = true
		}
	}
	c := el.Copy()
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			prefix := ""
			switch {
			case a.Space == "xmlns":
				prefix = a.Key
			case a.Space == "" && a.Key == "xmlns":
			default:
				continue
			}
			if !declared[prefix] {
				declared[prefix] = true
				c.Attr = append(c.Attr, a)
			}
		}
	}
	return c
}
