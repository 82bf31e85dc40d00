package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// spCertLifetime: the SP certificate is only a container for the public key
// (IdPs pin it, nobody checks a chain), so it should not expire during the
// connection's life and force an IdP-side change.
const spCertLifetime = 10 * 365 * 24 * time.Hour

// SPEntityID is Gatehouse's entity ID for the connection (the Audience the
// IdP must put in its assertions).
func (s *Service) SPEntityID(c storage.IdPConnection) string {
	return s.cfg.PublicURL + "/saml/" + c.Slug
}

// ACSURL is where the IdP posts its Response for the connection.
func (s *Service) ACSURL(c storage.IdPConnection) string {
	return s.cfg.PublicURL + "/saml/" + c.Slug + "/acs"
}

// MetadataURL is where the connection's SP metadata is published.
func (s *Service) MetadataURL(c storage.IdPConnection) string {
	return s.cfg.PublicURL + "/saml/" + c.Slug + "/metadata"
}

func generateSPKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// spKeyPair seals key for connection c and issues its self-signed
// certificate. The sealing context is the connection ID, so a sealed key
// copied onto another connection's row does not open.
func (s *Service) spKeyPair(key *rsa.PrivateKey, c storage.IdPConnection) (sealedKey, certPEMText string, err error) {
	if s.box == nil {
		return "", "", errors.New("idp: no secret box configured for SP keys")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("idp: encode SP key: %w", err)
	}
	sealedKey, err = s.box.Seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), c.ID)
	if err != nil {
		return "", "", fmt.Errorf("idp: seal SP key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", fmt.Errorf("idp: certificate serial: %w", err)
	}
	now := s.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.SPEntityID(c)},
		NotBefore:             now.Add(-time.Hour), // tolerate IdPs whose clocks run behind
		NotAfter:              now.Add(spCertLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("idp: issue SP certificate: %w", err)
	}
	return sealedKey, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})), nil
}

// openedSPKey is an SP key pair as opened from the stored texts.
type openedSPKey struct {
	sealedKey, certPEM string
	key                *rsa.PrivateKey
	cert               *x509.Certificate
}

// SPKey opens the connection's SP private key (for signing AuthnRequests
// and decrypting assertions). It runs on every sign-in, and opening and
// parsing an RSA key costs about a millisecond, so the result is kept for
// as long as the connection stores the very same sealed key and
// certificate: a rotated key, or one moved to another connection, is
// opened afresh.
func (s *Service) SPKey(c storage.IdPConnection) (*rsa.PrivateKey, *x509.Certificate, error) {
	if v, ok := s.spKeys.Load(c.ID); ok {
		if o := v.(openedSPKey); o.sealedKey == c.SPKeyPEM && o.certPEM == c.SPCertPEM {
			return o.key, o.cert, nil
		}
	}
	key, cert, err := s.openSPKey(c)
	if err != nil {
		return nil, nil, err
	}
	s.spKeys.Store(c.ID, openedSPKey{sealedKey: c.SPKeyPEM, certPEM: c.SPCertPEM, key: key, cert: cert})
	return key, cert, nil
}

func (s *Service) openSPKey(c storage.IdPConnection) (*rsa.PrivateKey, *x509.Certificate, error) {
	if s.box == nil {
		return nil, nil, errors.New("idp: no secret box configured for SP keys")
	}
	keyPEM, err := s.box.Open(c.SPKeyPEM, c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("idp: open the SP key of connection %q: %w", c.Slug, err)
	}
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return nil, nil, fmt.Errorf("idp: SP key of connection %q is not PEM", c.Slug)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("idp: parse the SP key of connection %q: %w", c.Slug, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("idp: SP key of connection %q is not RSA", c.Slug)
	}
	cert, err := parseOneCert(c.SPCertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("idp: SP certificate of connection %q: %w", c.Slug, err)
	}
	return rk, cert, nil
}

func parseOneCert(p string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// TrustedCertificates parses the connection's signing certificates.
func TrustedCertificates(c storage.IdPConnection) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(c.SigningCertsPEM))
	for i, p := range c.SigningCertsPEM {
		cert, err := parseOneCert(p)
		if err != nil {
			return nil, fmt.Errorf("idp: signing certificate %d of connection %q: %w", i+1, c.Slug, err)
		}
		out = append(out, cert)
	}
	return out, nil
}

// ValidatorConfig is what saml.Validator needs for the connection: the
// IdP's trust settings and our SP side, with the SP key opened so
// encrypted assertions can be read.
func (s *Service) ValidatorConfig(c storage.IdPConnection) (saml.IdP, saml.SP, error) {
	certs, err := TrustedCertificates(c)
	if err != nil {
		return saml.IdP{}, saml.SP{}, err
	}
	if len(certs) == 0 {
		return saml.IdP{}, saml.SP{}, fmt.Errorf("idp: connection %q trusts no signing certificate", c.Slug)
	}
	key, cert, err := s.SPKey(c)
	if err != nil {
		return saml.IdP{}, saml.SP{}, err
	}
	idp := saml.IdP{
		EntityID: c.EntityID, Certificates: certs,
		AllowSHA1: c.AllowSHA1, AllowExpiredCertificates: c.AllowExpiredCerts, AllowIdPInitiated: c.AllowIdPInitiated,
	}
	sp := saml.SP{EntityID: s.SPEntityID(c), ACSURL: s.ACSURL(c), DecryptionKey: key, DecryptionCert: cert}
	return idp, sp, nil
}

// NameIDFormatURI is the NameID format URI the connection asks for ("" for
// any).
func NameIDFormatURI(c storage.IdPConnection) string { return nameIDFormats[c.NameIDFormat] }

// SPMetadataBySlug is SPMetadata of the connection with slug, in any
// organization (see GetBySlugAnyOrg): the public metadata endpoint.
func (s *Service) SPMetadataBySlug(ctx context.Context, slug string) ([]byte, error) {
	c, err := s.GetBySlugAnyOrg(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.SPMetadata(ctx, c)
}

// SPMetadata renders the SP metadata the admin uploads to the IdP. The SP
// certificate is always published for encryption (IdPs may encrypt
// assertions to it) and for signing when the connection signs requests.
func (s *Service) SPMetadata(_ context.Context, c storage.IdPConnection) ([]byte, error) {
	cert, err := parseOneCert(c.SPCertPEM)
	if err != nil {
		return nil, fmt.Errorf("idp: SP certificate of connection %q: %w", c.Slug, err)
	}
	cfg := saml.SPMetadataConfig{
		EntityID: s.SPEntityID(c), ACSURL: s.ACSURL(c), EncryptionCert: cert,
		NameIDFormat: NameIDFormatURI(c), WantAssertionsSigned: true, AuthnRequestsSigned: c.SignRequests,
	}
	if c.SignRequests {
		cfg.SigningCert = cert
	}
	out, err := saml.SPMetadata(cfg)
	if err != nil {
		return nil, fmt.Errorf("idp: SP metadata of connection %q: %w", c.Slug, err)
	}
	return out, nil
}

// certExpiryWarning is how far ahead Warnings mentions an expiring
// certificate (the health monitor also warns at 7 and 1 days).
const certExpiryWarning = 30 * 24 * time.Hour

// Warnings lists, in plain language for the admin console, what about the
// connection weakens security or is about to break sign-in.
func (s *Service) Warnings(c storage.IdPConnection, now time.Time) []string {
	var out []string
	if c.AllowSHA1 {
		out = append(out, "SHA-1 signatures are accepted. SHA-1 is broken; switch the IdP to SHA-256 and turn this off.")
	}
	if c.AllowExpiredCerts {
		out = append(out, "Signatures made with an expired certificate are accepted. Renew the IdP's signing certificate and turn this off.")
	}
	certs, err := TrustedCertificates(c)
	if err != nil {
		out = append(out, "A trusted signing certificate cannot be read: "+err.Error())
	}
	day := func(t time.Time) string { return t.UTC().Format("2 January 2006") }
	for _, cert := range certs {
		fp := saml.Fingerprint(cert)[:16]
		switch {
		case now.After(cert.NotAfter):
			out = append(out, fmt.Sprintf("The signing certificate %s… expired on %s.", fp, day(cert.NotAfter)))
		case cert.NotAfter.Sub(now) <= certExpiryWarning:
			days := int(cert.NotAfter.Sub(now).Hours() / 24)
			out = append(out, fmt.Sprintf("The signing certificate %s… expires on %s (in %d days). Add the IdP's new certificate before then.", fp, day(cert.NotAfter), days))
		case now.Before(cert.NotBefore):
			out = append(out, fmt.Sprintf("The signing certificate %s… is not valid before %s.", fp, day(cert.NotBefore)))
		}
	}
	if c.MetadataURL != "" && c.MetadataError != "" {
		since := "it was first fetched"
		if !c.MetadataFetchedAt.IsZero() {
			since = "the last successful refresh on " + c.MetadataFetchedAt.UTC().Format("2 January 2006 15:04 UTC")
		}
		out = append(out, fmt.Sprintf("Refreshing the metadata from %s has been failing since %s: %s. Sign-in keeps using the last good copy.", c.MetadataURL, since, c.MetadataError))
	}
	if c.AllowIdPInitiated {
		out = append(out, "IdP-initiated sign-in is on. Such responses cannot be tied to a sign-in this browser started, so they are easier to misuse (login CSRF); turn it off unless an app portal needs it.")
	}
	return out
}
