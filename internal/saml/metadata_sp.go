package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/beevik/etree"
)

// SPMetadataConfig is Gatehouse's side of one IdP connection, as published
// in the SP metadata the admin uploads to the IdP.
type SPMetadataConfig struct {
	EntityID string
	ACSURL   string
	// SigningCert is published with use="signing" when set: the key that
	// signs AuthnRequests.
	SigningCert *x509.Certificate
	// EncryptionCert is published with use="encryption" when set: the IdP
	// encrypts assertions for it (SP.DecryptionCert).
	EncryptionCert *x509.Certificate
	// NameIDFormat, if set, is the one NameID format we ask for.
	NameIDFormat         string
	WantAssertionsSigned bool
	AuthnRequestsSigned  bool
}

// SPMetadata renders the SP metadata document: an md:EntityDescriptor with
// one SPSSODescriptor whose only AssertionConsumerService is the HTTP-POST
// ACS URL (index 0, the default).
func SPMetadata(sp SPMetadataConfig) ([]byte, error) {
	if sp.EntityID == "" {
		return nil, errors.New("SP metadata needs an entity ID")
	}
	if !isHTTPURL(sp.ACSURL) {
		return nil, errors.New("SP metadata needs an absolute http(s) ACS URL")
	}
	if sp.AuthnRequestsSigned && sp.SigningCert == nil {
		return nil, errors.New("SP metadata that says AuthnRequests are signed needs the signing certificate")
	}

	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", sp.EntityID)

	sd := ed.CreateElement("md:SPSSODescriptor")
	sd.CreateAttr("AuthnRequestsSigned", strconv.FormatBool(sp.AuthnRequestsSigned))
	sd.CreateAttr("WantAssertionsSigned", strconv.FormatBool(sp.WantAssertionsSigned))
	sd.CreateAttr("protocolSupportEnumeration", nsProtocol)
	// Schema order: KeyDescriptor*, …, NameIDFormat*, AssertionConsumerService+.
	if sp.SigningCert != nil {
		keyDescriptor(sd, "signing", sp.SigningCert)
	}
	if sp.EncryptionCert != nil {
		keyDescriptor(sd, "encryption", sp.EncryptionCert)
	}
	if sp.NameIDFormat != "" {
		sd.CreateElement("md:NameIDFormat").SetText(sp.NameIDFormat)
	}
	acs := sd.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", BindingHTTPPost)
	acs.CreateAttr("Location", sp.ACSURL)
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")

	doc.Indent(2)
	return doc.WriteToBytes()
}

func keyDescriptor(parent *etree.Element, use string, cert *x509.Certificate) {
	kd := parent.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", use)
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
}
