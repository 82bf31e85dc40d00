package saml

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

const xencTypeElement = "http://www.w3.org/2001/04/xmlenc#Element"

// maxEncryptedKeys bounds the EncryptedKeys beside an EncryptedData that
// decryptData tries. Each attempt is an RSA private-key operation on
// attacker-supplied ciphertext (~2 ms), so without a bound one 256 KiB POST
// carrying ~200 decoy keys costs ~0.4 s of CPU, about 60 times a real
// response. An IdP encrypts the content key once per recipient certificate,
// and each connection publishes one, so a couple cover a rollover.
const maxEncryptedKeys = 3

// decryptAssertion decrypts an EncryptedAssertion with the SP's key and
// returns the plaintext Assertion as the root of a new tree, after the same
// token-level and structural checks as the outer document.
//
// Every failure up to a parsed Assertion has the same reason: with CBC
// (which Entra uses) an attacker who can tell "bad padding" from "not XML"
// from "bad signature" can decrypt ciphertext a query at a time (Jager and
// Somorovsky, 2011). The detail still says what failed, for the logs. The
// ACS handler must not let the reason itself reach the browser (see the
// package documentation). crewjam's xmlenc already refuses RSA PKCS#1 v1.5
// key transport and block ciphers as key transport.
func (c *validation) decryptAssertion(enc *etree.Element) (*etree.Element, *Error) {
	if c.sp.DecryptionKey == nil {
		return nil, fail(ReasonEncryptedAssertionFailed, "assertion is encrypted but no decryption key is configured")
	}
	data, e := oneChild(enc, nsXEnc, "EncryptedData")
	if e != nil || data == nil {
		return nil, fail(ReasonEncryptedAssertionFailed, "EncryptedAssertion needs exactly one EncryptedData")
	}
	if t, ok := attr(data, "Type"); ok && t != xencTypeElement {
		return nil, fail(ReasonEncryptedAssertionFailed, "EncryptedData Type %q is not Element", truncate(t, 80))
	}
	plaintext, err := decryptData(c.decrypt, c.sp, enc, data)
	if err != nil {
		return nil, failWrap(ReasonEncryptedAssertionFailed, err, "cannot decrypt EncryptedAssertion")
	}
	if len(plaintext) > defaultMaxBodyBytes*4 {
		return nil, fail(ReasonEncryptedAssertionFailed, "decrypted assertion too large")
	}
	root, pe := parseDocument(plaintext)
	if pe != nil {
		return nil, &Error{Reason: ReasonEncryptedAssertionFailed, Detail: "decrypted content rejected: " + pe.Error(), err: pe}
	}
	if !is(root, nsAssertion, "Assertion") {
		return nil, fail(ReasonEncryptedAssertionFailed, "decrypted content is <%s>, not saml:Assertion", truncate(root.Tag, 40))
	}
	facts, e := scanTree(root)
	if e != nil {
		return nil, e
	}
	if len(facts.assertions) != 1 {
		return nil, fail(ReasonMultipleAssertions, "decrypted assertion contains %d assertions", len(facts.assertions))
	}
	return root, nil
}

// decryptData unwraps the content key from an EncryptedKey inside the
// EncryptedData's KeyInfo (Entra, ADFS) or beside the EncryptedData (Shibboleth
// style), then decrypts the data.
func decryptData(decrypt func(any, *etree.Element) ([]byte, error), sp SP, enc, data *etree.Element) ([]byte, error) {
	if ki, _ := oneChild(data, nsDSig, "KeyInfo"); ki != nil {
		if ek, _ := oneChild(ki, nsXEnc, "EncryptedKey"); ek != nil {
			// The CBC and GCM decrypters unwrap a KeyInfo/EncryptedKey
			// themselves.
			return decrypt(sp.DecryptionKey, data)
		}
	}
	keys := children(enc, nsXEnc, "EncryptedKey")
	if len(keys) == 0 {
		return nil, errors.New("no EncryptedKey")
	}
	if len(keys) > maxEncryptedKeys {
		return nil, fmt.Errorf("%d EncryptedKey elements; at most %d are tried", len(keys), maxEncryptedKeys)
	}
	var lastErr error
	for _, ek := range keys {
		key, err := decrypt(sp.DecryptionKey, ek)
		if err != nil {
			lastErr = err
			continue
		}
		return decrypt(key, data)
	}
	return nil, lastErr
}
