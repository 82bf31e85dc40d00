package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// tokenBytes is the entropy of a session token: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token in unpadded base64url: ceil(32*8/6).
const tokenLen = 43

// newToken returns a fresh random token and the hex SHA-256 stored for it.
func newToken() (token, hash string) {
	var b [tokenBytes]byte
	// crypto/rand.Read never fails (it panics if the OS cannot supply
	// randomness, which is the right outcome for a session issuer).
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashHex(tokenSum(token))
}

// base64url marks the bytes of the URL-safe base64 alphabet.
var base64url = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// wellFormed reports whether s could be a token we issued: 43 base64url
// characters whose last one carries no stray bits (32 bytes leave the final
// character 4 meaningful bits of 6). Rejecting anything else up front keeps
// junk cookies from costing a database query.
func wellFormed(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	for i := 0; i < tokenLen; i++ {
		if !base64url[s[i]] {
			return false
		}
	}
	// The last character's value must be a multiple of 4: the low two bits
	// would be padding. Its alphabet index is a multiple of 4 exactly for
	// these characters.
	switch c := s[tokenLen-1]; {
	case c >= 'A' && c <= 'Z':
		return (c-'A')%4 == 0
	case c >= 'a' && c <= 'z':
		return (c-'a'+26)%4 == 0
	case c >= '0' && c <= '9':
		return (c-'0'+52)%4 == 0
	default: // '-' is 62, '_' is 63
		return false
	}
}

// tokenSum hashes a well-formed token without allocating: the copy into a
// fixed-size array keeps the bytes on the stack.
func tokenSum(token string) [sha256.Size]byte {
	var buf [tokenLen]byte
	n := copy(buf[:], token)
	return sha256.Sum256(buf[:n])
}

// hashHex is the stored form of a token hash.
func hashHex(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:])
}
