package idp

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// Limits on admin input. They are generous; they only keep garbage out of
// the database and the pages that show it.
const (
	maxNameLen     = 100
	maxSlugLen     = 40
	maxEntityIDLen = 1024
	maxURLLen      = 2048
	maxCerts       = 10
	maxCertPEMLen  = 16 << 10
)

// NameID formats a connection may ask for, by their stored short names.
var nameIDFormats = map[string]string{
	"":             "",
	"persistent":   saml.NameIDFormatPersistent,
	"emailAddress": saml.NameIDFormatEmailAddress,
	"unspecified":  saml.NameIDFormatUnspecified,
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "Give the IdP connection a name.")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", invalid("name", "The name contains characters that are not allowed.")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", invalid("name", "The name must be at most %d characters.", maxNameLen)
	}
	return name, nil
}

func checkSlug(slug string) error {
	if len(slug) > maxSlugLen || !slugRE.MatchString(slug) {
		return invalid("slug", "The slug must be 1 to %d lowercase letters, digits and single hyphens, like \"corp-entra\".", maxSlugLen)
	}
	return nil
}

// slugFrom derives a slug from a name: lowercase ASCII letters and digits,
// everything else collapsed into single hyphens.
func slugFrom(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		} else {
			hyphen = true
		}
		if b.Len() >= maxSlugLen-4 { // room for a "-NN" suffix
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "idp"
	}
	return s
}

func checkEntityID(id string) (string, error) {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return "", invalid("entity_id", "Enter the IdP's entity ID (its Issuer, e.g. https://sts.windows.net/<tenant>/).")
	case len(id) > maxEntityIDLen || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return "", invalid("entity_id", "The entity ID must be at most %d characters, without spaces.", maxEntityIDLen)
	}
	return id, nil
}

// checkSSOURL accepts https URLs, and http only for loopback hosts (the
// development IdP): the AuthnRequest and the user's credentials go there.
func checkSSOURL(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid(field, "Enter the IdP's single sign-on URL.")
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURLLen || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", invalid(field, "%q is not a usable URL: use an absolute https URL without #fragment or user name.", trunc(raw, 200))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && saml.IsLoopbackHost(u.Hostname()):
	default:
		return "", invalid(field, "The URL %q must use https (http is accepted only for localhost).", trunc(raw, 200))
	}
	return raw, nil
}

// parseCertificates reads the signing certificates an admin entered: PEM
// blocks (several per entry are fine) or the bare base64 DER that metadata
// and IdP consoles show. Each must carry an RSA or ECDSA key. Duplicates
// collapse; the result is re-encoded PEM, one certificate per entry.
func parseCertificates(entries []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i, entry := range entries {
		if len(entry) > maxCertPEMLen {
			return nil, invalid("certificates", "Certificate %d is larger than %d KiB.", i+1, maxCertPEMLen>>10)
		}
		certs, err := parseEntry(entry)
		if err != nil {
			return nil, invalid("certificates", "Certificate %d cannot be read: %s", i+1, err.Error())
		}
		for _, c := range certs {
			switch c.PublicKey.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey:
			default:
				return nil, invalid("certificates", "Certificate %d has a key type SAML signatures do not use (want RSA or ECDSA).", i+1)
			}
			if !containsCert(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) > maxCerts {
		return nil, invalid("certificates", "At most %d signing certificates can be trusted at once.", maxCerts)
	}
	return out, nil
}

type certError string

func (e certError) Error() string { return string(e) }

func parseEntry(entry string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(entry))
	if len(rest) == 0 {
		return nil, certError("it is empty")
	}
	if !strings.Contains(entry, "-----BEGIN") {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(rest)), ""))
		if err != nil {
			return nil, certError("it is neither PEM nor base64")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, certError("not an X.509 certificate")
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, certError("a PEM block of type " + trunc(b.Type, 40) + " is not a certificate (never paste a private key)")
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, certError("not an X.509 certificate")
		}
		out = append(out, c)
	}
	if len(out) == 0 || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, certError("it is not a PEM certificate")
	}
	return out, nil
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func certPEMs(cs []*x509.Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = certPEM(c)
	}
	return out
}

func checkMapping(m map[string]string) error {
	if err := saml.Mapping(m).Validate(); err != nil {
		return invalid("attribute_map", "%s", err.Error())
	}
	return nil
}

func checkNameIDFormat(f string) error {
	if _, ok := nameIDFormats[f]; !ok {
		return invalid("name_id_format", `The NameID format must be "persistent", "emailAddress", "unspecified" or empty.`)
	}
	return nil
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
