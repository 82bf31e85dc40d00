// Package softauthn is a software WebAuthn authenticator for Go tests: it
// answers the options the relying party sends (JSON, as
// navigator.credentials.create and .get receive them) with the JSON a
// browser would post back. Keys are ECDSA P-256, attestation is "none",
// every credential is discoverable, and the user is verified unless NoUV
// is set. go-webauthn ships no such helper; this one is built on its own
// CBOR and COSE packages so the encoding is the one the verifier reads.
//
// Never use it outside tests: its keys live in memory, unprotected.
package softauthn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds credentials and a signature counter. Its fields may
// be changed between ceremonies to play a misbehaving client.
type Authenticator struct {
	Origin string // the origin the "browser" reports in clientDataJSON
	// Counter is the signature counter: registration reports it, each
	// assertion increments it first and reports the new value.
	Counter uint32
	// NoUV leaves the user-verified flag unset.
	NoUV bool
	// IgnoreAllowList answers with the newest credential for the RP even
	// when the options allow only others.
	IgnoreAllowList bool

	creds []*credential
}

type credential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	rpID       string
	userHandle []byte
}

// New returns an authenticator whose browser runs at origin
// ("http://localhost:8080").
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

// Clone returns a copy holding the same keys and counter: what a cloned
// authenticator is.
func (a *Authenticator) Clone() *Authenticator {
	c := *a
	c.creds = slices.Clone(a.creds)
	return &c
}

var b64 = base64.RawURLEncoding

type createOptions struct {
	PublicKey struct {
		Challenge protocol.URLEncodedBase64 `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID protocol.URLEncodedBase64 `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

type getOptions struct {
	PublicKey struct {
		Challenge protocol.URLEncodedBase64 `json:"challenge"`
		RPID      string                    `json:"rpId"`
		Allow     []struct {
			ID protocol.URLEncodedBase64 `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Create makes a new credential for the options of
// navigator.credentials.create and returns the PublicKeyCredential JSON.
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	var o createOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("softauthn: creation options: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &credential{id: make([]byte, 32), key: key, rpID: o.PublicKey.RP.ID, userHandle: o.PublicKey.User.ID}
	_, _ = rand.Read(c.id)
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	raw := pub.Bytes() // 0x04 || X || Y
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:],
	})
	if err != nil {
		return nil, err
	}
	attested := make([]byte, 16+2, 16+2+len(c.id)+len(cose)) // AAGUID zero: not disclosed
	binary.BigEndian.PutUint16(attested[16:], uint16(len(c.id)))
	attested = append(append(attested, c.id...), cose...)
	authData := append(a.authData(c.rpID, 0x40), attested...) // AT: attested credential data
	attObj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"internal"},
		},
	})
}

// Get signs the challenge of navigator.credentials.get options with an
// allowed credential (any of the RP's when the list is empty: a
// discoverable sign-in) and returns the PublicKeyCredential JSON.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	var o getOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("softauthn: request options: %w", err)
	}
	var c *credential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		cand := a.creds[i]
		if cand.rpID != o.PublicKey.RPID {
			continue
		}
		allowed := len(o.PublicKey.Allow) == 0 || a.IgnoreAllowList
		for _, d := range o.PublicKey.Allow {
			allowed = allowed || string(d.ID) == string(cand.id)
		}
		if allowed {
			c = cand
		}
	}
	if c == nil {
		return nil, errors.New("softauthn: no credential for this relying party")
	}
	a.Counter++
	authData := a.authData(c.rpID, 0)
	clientData := a.clientData("webauthn.get", o.PublicKey.Challenge)
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(slices.Clone(authData), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.userHandle),
		},
	})
}

// authData is the 37-byte authenticator data: RP ID hash, flags (user
// present, verified unless NoUV, plus extra) and the counter.
func (a *Authenticator) authData(rpID string, extra byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) | extra
	if !a.NoUV {
		flags |= 0x04
	}
	out := append(h[:], flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(out[33:], a.Counter)
	return out
}

func (a *Authenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64.EncodeToString(challenge), "origin": a.Origin, "crossOrigin": false})
	return b
}
