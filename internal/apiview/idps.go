package apiview

import (
	"crypto/x509"
	"encoding/pem"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Connection is the JSON of a SAML IdP connection. It shows what the admin
// gives the IdP (sp_entity_id, acs_url, sp_metadata_url, sp_certificate)
// and what Gatehouse trusts from it; never the SP private key, and not the
// stored metadata document (sp-metadata and the IdP's own URL serve those).
type Connection struct {
	ID                       string            `json:"id"`
	Slug                     string            `json:"slug"`
	Name                     string            `json:"name"`
	Source                   string            `json:"source"` // metadata_url, metadata_xml or manual
	EntityID                 string            `json:"entity_id"`
	SSOURL                   string            `json:"sso_url"`
	MetadataURL              string            `json:"metadata_url"`
	MetadataFetchedAt        *time.Time        `json:"metadata_fetched_at"`
	MetadataError            string            `json:"metadata_error"`
	Certificates             []Certificate     `json:"certificates"`
	NameIDFormat             string            `json:"name_id_format"`
	AttributeMap             map[string]string `json:"attribute_map"`
	JIT                      bool              `json:"jit"`
	AllowIdPInitiated        bool              `json:"allow_idp_initiated"`
	AllowSHA1                bool              `json:"allow_sha1"`
	AllowExpiredCertificates bool              `json:"allow_expired_certificates"`
	SignRequests             bool              `json:"sign_requests"`
	SPEntityID               string            `json:"sp_entity_id"`
	ACSURL                   string            `json:"acs_url"`
	SPMetadataURL            string            `json:"sp_metadata_url"`
	SPCertificate            *Certificate      `json:"sp_certificate"`
	TestedAt                 *time.Time        `json:"tested_at"` // last completed test sign-in; null if never
	CreatedAt                time.Time         `json:"created_at"`
	UpdatedAt                time.Time         `json:"updated_at"`
	Warnings                 []string          `json:"warnings"`
}

// Certificate describes an X.509 certificate without its key.
type Certificate struct {
	Subject           string    `json:"subject"`
	Issuer            string    `json:"issuer"`
	NotBefore         time.Time `json:"not_before"`
	NotAfter          time.Time `json:"not_after"`
	SHA256Fingerprint string    `json:"sha256_fingerprint"` // lowercase hex, as certificate removal takes it
	Expired           bool      `json:"expired"`
}

// CertificateFrom describes c as of now.
func CertificateFrom(c *x509.Certificate, now time.Time) Certificate {
	return Certificate{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		SHA256Fingerprint: saml.Fingerprint(c), Expired: now.After(c.NotAfter),
	}
}

// ConnectionSource names where a connection's trust settings come from.
func ConnectionSource(c storage.IdPConnection) string {
	switch {
	case c.MetadataURL != "":
		return "metadata_url"
	case c.MetadataXML != "":
		return "metadata_xml"
	}
	return "manual"
}

// ConnectionFrom converts a storage record as of now; svc supplies the SP
// side (entity ID, ACS and metadata URLs) and the warnings.
func ConnectionFrom(svc *idp.Service, c storage.IdPConnection, now time.Time) Connection {
	out := Connection{
		ID: c.ID, Slug: c.Slug, Name: c.Name, Source: ConnectionSource(c),
		EntityID: c.EntityID, SSOURL: c.SSOURL, MetadataURL: c.MetadataURL,
		MetadataFetchedAt: optTime(c.MetadataFetchedAt), MetadataError: c.MetadataError,
		Certificates: []Certificate{}, NameIDFormat: c.NameIDFormat, AttributeMap: map[string]string{},
		JIT: c.JIT, AllowIdPInitiated: c.AllowIdPInitiated, AllowSHA1: c.AllowSHA1,
		AllowExpiredCertificates: c.AllowExpiredCerts, SignRequests: c.SignRequests,
		SPEntityID: svc.SPEntityID(c), ACSURL: svc.ACSURL(c), SPMetadataURL: svc.MetadataURL(c),
		TestedAt: optTime(c.TestedAt), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		Warnings: svc.Warnings(c, now),
	}
	for k, v := range c.AttributeMap {
		out.AttributeMap[k] = v
	}
	// An unreadable certificate is skipped here; Warnings reports it.
	if certs, err := idp.TrustedCertificates(c); err == nil {
		for _, cert := range certs {
			out.Certificates = append(out.Certificates, CertificateFrom(cert, now))
		}
	}
	if b, _ := pem.Decode([]byte(c.SPCertPEM)); b != nil {
		if cert, err := x509.ParseCertificate(b.Bytes); err == nil {
			sc := CertificateFrom(cert, now)
			out.SPCertificate = &sc
		}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}
