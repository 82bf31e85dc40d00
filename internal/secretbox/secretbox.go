// Package secretbox encrypts small secrets at rest (SP private keys of IdP
// connections) with AES-256-GCM under a key from the configuration, so a
// copy of the database alone does not reveal them.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// prefix versions the format so the scheme can change later.
const prefix = "gcm1:"

// Box seals and opens secrets with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secretbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; context binds the ciphertext to where it is
// stored (e.g. the connection ID), so it cannot be moved to another record.
func (b *Box) Seal(plaintext, context string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secretbox: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrOpen means the ciphertext was not sealed with this key and context.
var ErrOpen = errors.New("secretbox: cannot decrypt (wrong secret_key, or the value was moved or altered)")

// Open decrypts what Seal produced with the same context.
func (b *Box) Open(sealed, context string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	pt, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}
