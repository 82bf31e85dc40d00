package account

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed" // commonpasswords.txt
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// commonpasswords.txt holds the 10,000 most frequent passwords of zxcvbn's
// frequency list (github.com/trustelem/zxcvbn, MIT licence, © 2018 Vincent
// Vanackere and Trustelem), lowercased and deduplicated. It is generated, not
// imported, so the binary carries an 80 KB word list instead of zxcvbn.
//
//go:generate go run ./internal/gencommon -n 10000 -o commonpasswords.txt
//go:embed commonpasswords.txt
var commonPasswordsTxt string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		if w := sc.Text(); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// Argon2Params are argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// String formats p as in a PHC string ("m=19456,t=2,p=1").
func (p Argon2Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// HashParams are the parameters new password hashes are made with: OWASP's
// argon2id recommendation (19 MiB, 2 passes, 1 lane). Verification reads
// the parameters from each stored hash, so these may be raised later without
// invalidating existing passwords.
var HashParams = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read from a stored hash, so a corrupted or hostile
// row cannot make one verification allocate gigabytes or run for minutes.
const (
	maxHashMemory  = 1 << 20 // KiB: 1 GiB
	maxHashTime    = 64
	minHashKeyLen  = 16
	maxHashKeyLen  = 128
	minHashSaltLen = 8
	maxHashSaltLen = 64
)

// Password policy (NIST SP 800-63B: length, a blocklist, no composition rules).
const (
	MinPasswordLen = 12
	MaxPasswordLen = 128
)

// errMalformedHash is returned by VerifyPassword for a stored string that is
// not an argon2id PHC hash this package can check.
var errMalformedHash = errors.New("account: malformed argon2id password hash")

var b64 = base64.RawStdEncoding // PHC strings use unpadded standard base64

// HashPassword returns the argon2id PHC string of pw with a fresh random
// salt: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(pw string) (string, error) {
	p := HashParams
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s", argon2.Version, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC string encoded, using
// the parameters recorded in encoded and a constant-time comparison. An
// error means encoded is not a usable argon2id hash.
func VerifyPassword(encoded, pw string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", errMalformedHash, parts[2])
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", errMalformedHash, kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", errMalformedHash, kv)
		}
		switch k {
		case "m":
			p.Memory, seen[0] = uint32(n), true
		case "t":
			p.Time, seen[1] = uint32(n), true
		case "p":
			if n > 255 {
				return p, nil, nil, fmt.Errorf("%w: parameter %q", errMalformedHash, kv)
			}
			p.Threads, seen[2] = uint8(n), true
		default:
			return p, nil, nil, fmt.Errorf("%w: unknown parameter %q", errMalformedHash, k)
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return p, nil, nil, fmt.Errorf("%w: missing m, t or p", errMalformedHash)
	}
	if p.Time < 1 || p.Time > maxHashTime || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxHashMemory {
		return p, nil, nil, fmt.Errorf("%w: parameters %s out of range", errMalformedHash, p)
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < minHashSaltLen || len(salt) > maxHashSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < minHashKeyLen || len(key) > maxHashKeyLen {
		return p, nil, nil, fmt.Errorf("%w: key", errMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// CheckPassword applies the password policy to pw for the account whose
// email is email (may be empty): 12 to 128 characters, not one of the
// 10,000 most common passwords, not the email address or its local part.
// It returns an *InvalidInputError with Field "password".
func CheckPassword(pw, email string) error {
	bad := func(msg string) error { return &InvalidInputError{Field: "password", Message: msg} }
	if !utf8.ValidString(pw) {
		return bad("The password contains characters that are not valid text. Choose another.")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return bad(fmt.Sprintf("Choose a password of at least %d characters.", MinPasswordLen))
	}
	if n > MaxPasswordLen {
		return bad(fmt.Sprintf("Choose a password of at most %d characters.", MaxPasswordLen))
	}
	lower := strings.ToLower(pw)
	if isCommon(lower) {
		return bad("This password is too common. Choose another.")
	}
	if email = strings.ToLower(strings.TrimSpace(email)); email != "" {
		local := email
		if i := strings.LastIndexByte(email, '@'); i >= 0 {
			local = email[:i]
		}
		if t := strings.TrimSpace(lower); t == email || (local != "" && t == local) {
			return bad("Don't use your email address as your password.")
		}
	}
	return nil
}

// isCommon reports whether a lowercased password is a common password or
// a trivial variation of one. Almost every entry of the list is shorter
// than the 12-character minimum, so checking only exact matches would
// stop few passwords; people reach the minimum by decorating a common
// password ("password1234", "P@ssw0rd2024!", "iloveyouiloveyou"), which
// guessing tools try first. Repeated and sequential characters
// ("aaaaaaaaaaaa", "123456789012") count as common too.
func isCommon(lower string) bool {
	list := commonPasswords()
	if _, ok := list[lower]; ok {
		return true
	}
	if strings.Count(lower, lower[:1]) == len(lower) || isSequence(lower) {
		return true
	}
	const decoration = "0123456789!@#$%^&*()-_=+.,;:?~ "
	core := strings.TrimLeft(strings.TrimRight(lower, decoration), "0123456789")
	candidates := []string{core, unleet(core)}
	// "iloveyouiloveyou": a common password repeated.
	for _, c := range []string{core, unleet(core)} {
		for k := 2; k <= 4; k++ {
			if len(c)%k == 0 && strings.Repeat(c[:len(c)/k], k) == c {
				candidates = append(candidates, c[:len(c)/k])
			}
		}
	}
	for _, c := range candidates {
		if len(c) < 4 {
			continue // "ab12345678901" is not a decorated common password
		}
		if _, ok := list[c]; ok {
			return true
		}
	}
	return false
}

// unleet undoes the usual character substitutions.
func unleet(s string) string {
	return strings.NewReplacer("@", "a", "4", "a", "0", "o", "1", "i", "!", "i", "3", "e", "$", "s", "5", "s", "7", "t").Replace(s)
}

// isSequence reports runs like "123456789012" or "abcdefghijkl", up or down.
func isSequence(s string) bool {
	if len(s) < 2 {
		return false
	}
	step := int(s[1]) - int(s[0])
	if step != 1 && step != -1 {
		return false
	}
	for i := 1; i < len(s); i++ {
		d := int(s[i]) - int(s[i-1])
		// Digits wrap around: 8901, 2109.
		if d != step && !(step == 1 && s[i-1] == '9' && s[i] == '0') && !(step == -1 && s[i-1] == '0' && s[i] == '9') {
			return false
		}
	}
	return true
}

// dummyHash is verified against when there is no real hash to check (unknown
// account, no password, suspended), so those answers take as long as a wrong
// password. It is made with HashParams like any real hash.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("gatehouse-timing-equaliser")
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return h
})

func dummyVerify(pw string) { _, _ = VerifyPassword(dummyHash(), pw) }
