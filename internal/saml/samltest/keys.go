// Package samltest is a test SAML identity provider: it makes keys and
// self-signed certificates, and builds, signs and encrypts SAML 2.0
// Responses shaped like those of Microsoft Entra ID, Okta and ADFS.
//
// It exists for tests (internal/saml's attack suite and golden files) and
// for the development IdP (internal/devidp). It never validates anything
// and must not be used in the serving path: it signs whatever it is given.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Keypair is an RSA key and a self-signed certificate for it.
type Keypair struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// NewKeypair generates a 2048-bit RSA key with a self-signed certificate for
// commonName valid from notBefore to notAfter. Key generation takes about a
// tenth of a second; tests should load fixed keys from testdata instead.
func NewKeypair(commonName string, notBefore, notAfter time.Time) (*Keypair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	cert, err := NewCertificate(key, commonName, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return &Keypair{Key: key, Cert: cert}, nil
}

// NewCertificate issues a self-signed certificate for an existing key, e.g.
// an expired or not-yet-valid one for the same key as a valid certificate.
func NewCertificate(key *rsa.PrivateKey, commonName string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// KeyPEM returns the private key as PKCS#8 PEM.
func (k *Keypair) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		panic(err) // an *rsa.PrivateKey always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertPEM returns the certificate as PEM.
func (k *Keypair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
}

// ParseKeypair reads a PEM private key (PKCS#8 or PKCS#1) and certificate.
func ParseKeypair(keyPEM, certPEM []byte) (*Keypair, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no PEM block in key")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("key is not RSA")
		}
		key = rk
	} else if key, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, err
	}
	return &Keypair{Key: key, Cert: cert}, nil
}

// ParseCertificatePEM reads one PEM certificate.
func ParseCertificatePEM(certPEM []byte) (*x509.Certificate, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, errors.New("no PEM block in certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// LoadKeypair reads a key and certificate from PEM files.
func LoadKeypair(keyFile, certFile string) (*Keypair, error) {
	kp, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cp, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	return ParseKeypair(kp, cp)
}

// WriteKeypair writes the key and certificate as PEM files.
func WriteKeypair(k *Keypair, keyFile, certFile string) error {
	if err := os.WriteFile(keyFile, k.KeyPEM(), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, k.CertPEM(), 0o644)
}
