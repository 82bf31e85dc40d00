package account

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// Device cookies (OWASP, "Slow down online guessing attacks with device
// cookies"): after a successful sign-in the browser is given a cookie that
// binds the normalised email to a random nonce under an HMAC. An attempt
// that presents a valid one for its email is judged on the cookie's own
// small allowance instead of the account-wide delay, so an attacker who
// keeps an account throttled from rotating addresses cannot keep its owner
// out of the browser they already use.
//
// The cookie is signed, not stored: no table and no write per sign-in, and
// every node that shares secret_key (as PostgreSQL nodes must) accepts it.
// The price is that one cookie cannot be revoked on its own; none is
// needed, because a cookie only lifts the account-wide delay — the password
// is still checked — and a cookie that keeps failing is throttled by its
// nonce and then trusted no more. Rotating secret_key voids them all.
const (
	// DeviceCookieName is the cookie's name when sessions use plain
	// http (a local trial).
	DeviceCookieName = "gatehouse_device"
	// DeviceCookieNameSecure is its name over https: the __Host- prefix
	// makes the browser refuse it unless Secure, Path=/ and host-only.
	DeviceCookieNameSecure = "__Host-gatehouse_device"
	// DeviceCookieLifetime is how long a device cookie is valid; it is
	// renewed at every successful sign-in.
	DeviceCookieLifetime = 365 * 24 * time.Hour
)

// DeviceCookieNameFor returns the device cookie's name for sessions that
// use Secure cookies or not.
func DeviceCookieNameFor(secure bool) string {
	if secure {
		return DeviceCookieNameSecure
	}
	return DeviceCookieName
}

const (
	deviceNonceLen = 16
	deviceMACLen   = sha256.Size
	devicePayload  = deviceNonceLen + 8 // nonce, expiry (Unix seconds, big-endian)
)

// deviceKeyFrom derives the cookie MAC key from the configuration's secret
// key, so the secret key itself never signs anything but what it was made
// for. Without one (tests, tools), a random key: cookies then last as long
// as the process.
func deviceKeyFrom(secret []byte) ([]byte, error) {
	if len(secret) == 0 {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("account: device cookie key: %w", err)
		}
		return k, nil
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "gatehouse device cookie v1", 32)
	if err != nil {
		return nil, fmt.Errorf("account: derive device cookie key: %w", err)
	}
	return k, nil
}

func (s *Service) deviceMAC(email string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("gatehouse-device-v1\x00"))
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// issueDevice returns a fresh device cookie value for email (normalised).
func (s *Service) issueDevice(email string, now time.Time) (string, error) {
	payload := make([]byte, devicePayload, devicePayload+deviceMACLen)
	if _, err := rand.Read(payload[:deviceNonceLen]); err != nil {
		return "", fmt.Errorf("account: device cookie nonce: %w", err)
	}
	binary.BigEndian.PutUint64(payload[deviceNonceLen:], uint64(now.Add(DeviceCookieLifetime).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(payload, s.deviceMAC(email, payload)...)), nil
}

// deviceID returns the identifier of cookie if it is a valid, unexpired
// device cookie for email (normalised), and "" otherwise.
func (s *Service) deviceID(cookie, email string, now time.Time) string {
	if email == "" || len(cookie) != base64.RawURLEncoding.EncodedLen(devicePayload+deviceMACLen) {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(raw) != devicePayload+deviceMACLen {
		return ""
	}
	payload, mac := raw[:devicePayload], raw[devicePayload:]
	if !hmac.Equal(mac, s.deviceMAC(email, payload)) {
		return ""
	}
	if exp := int64(binary.BigEndian.Uint64(payload[deviceNonceLen:])); now.Unix() >= exp {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(payload[:deviceNonceLen])
}
