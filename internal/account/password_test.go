package account_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

func TestPasswordPolicy(t *testing.T) {
	const email = "grace.hopper@navy.example"
	tests := []struct {
		name, pw string
		want     string // "" accepted; else the message shown
	}{
		{"11 characters", "abcdefghijk", "Choose a password of at least 12 characters."},
		{"12 characters", "zq8-vm3-kp2x", ""},
		{"12 multi-byte characters count as 12", "ééééééééééé€", ""},
		{"11 multi-byte characters", "ééééééééééé", "Choose a password of at least 12 characters."},
		{"128 characters", strings.Repeat("ab3", 42) + "xy", ""},
		{"129 characters", strings.Repeat("ab3", 43), "Choose a password of at most 128 characters."},
		{"common password", "qwerty123456", "This password is too common. Choose another."},
		{"common password in other case", "QwErTy123456", "This password is too common. Choose another."},
		// Nearly every listed password is shorter than 12 characters:
		// people reach the minimum by decorating one, and so do guessers.
		{"common password plus digits", "password1234", "This password is too common. Choose another."},
		{"common password with substitutions and a year", "P@ssw0rd2024!", "This password is too common. Choose another."},
		{"common password after digits", "2024sunshine!", "This password is too common. Choose another."},
		{"common password repeated", "iloveyouiloveyou", "This password is too common. Choose another."},
		{"one character repeated", "aaaaaaaaaaaa", "This password is too common. Choose another."},
		{"digit sequence", "123456789012", "This password is too common. Choose another."},
		{"descending sequence", "9876543210987", "This password is too common. Choose another."},
		{"letter sequence", "abcdefghijkl", "This password is too common. Choose another."},
		{"short word plus digits is not a common password", "ab12345678901", ""},
		{"passphrase", "correct horse battery staple", ""},
		{"the email", email, "Don't use your email address as your password."},
		{"the email in upper case", strings.ToUpper(email), "Don't use your email address as your password."},
		{"the email's local part", "Grace.Hopper", "Don't use your email address as your password."},
		{"no composition rules", "all lower case words", ""},
		{"spaces are fine", "            x", ""},
		{"invalid UTF-8", "abcdefghijkl\xff", "The password contains characters that are not valid text. Choose another."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := account.CheckPassword(tt.pw, email)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want accepted", tt.pw, err)
				}
				return
			}
			inv := wantInvalid(t, "CheckPassword", err, "password")
			if inv.Message != tt.want {
				t.Fatalf("message = %q, want %q", inv.Message, tt.want)
			}
		})
	}
}

func TestPasswordPolicyLocalPart(t *testing.T) {
	// A local part long enough to pass the length rule is still refused.
	err := account.CheckPassword("margaret.hamilton", "Margaret.Hamilton@apollo.example")
	inv := wantInvalid(t, "CheckPassword", err, "password")
	if inv.Message != "Don't use your email address as your password." {
		t.Fatalf("message = %q", inv.Message)
	}
}

func TestCommonPasswordsShipLowercase(t *testing.T) {
	// Spot checks across the ranking: the first entry, one from the long
	// tail that is 12+ characters (so only the list can stop it).
	for _, pw := range []string{"qwerty123456", "1Q2W3E4R5T6Y", "FinalFantasy"} {
		err := account.CheckPassword(pw, "")
		var inv *account.InvalidInputError
		if !errors.As(err, &inv) || !strings.Contains(inv.Message, "too common") {
			t.Errorf("CheckPassword(%q) = %v, want too common", pw, err)
		}
	}
}

func TestHashPasswordFormat(t *testing.T) {
	h, err := account.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
		t.Fatalf("hash %q is not an argon2id PHC string with OWASP parameters", h)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("salt %d bytes (%v), key %d bytes (%v); want 16 and 32", len(salt), err1, len(key), err2)
	}
	h2, _ := account.HashPassword("correct horse battery")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	h, err := account.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	// A hash made with other (weaker, older) parameters still verifies:
	// the parameters are read from the hash.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("older password"), salt, 1, 8*1024, 2, 32)
	old := "$argon2id$v=19$m=8192,t=1,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)

	tests := []struct {
		name, hash, pw string
		ok, err        bool
	}{
		{"right password", h, "correct horse battery", true, false},
		{"wrong password", h, "correct horse battery!", false, false},
		{"empty password", h, "", false, false},
		{"other parameters", old, "older password", true, false},
		{"other parameters, wrong", old, "older passworD", false, false},
		{"empty hash", "", "x", false, true},
		{"bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "x", false, true},
		{"argon2i", strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false, true},
		{"huge memory", strings.Replace(h, "m=19456", "m=4194304", 1), "correct horse battery", false, true},
		{"zero time", strings.Replace(h, "t=2", "t=0", 1), "correct horse battery", false, true},
		{"bad salt", strings.Replace(h, "$v=19$m=19456,t=2,p=1$", "$v=19$m=19456,t=2,p=1$!!", 1), "x", false, true},
		{"version 16", strings.Replace(h, "v=19", "v=16", 1), "correct horse battery", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := account.VerifyPassword(tt.hash, tt.pw)
			if ok != tt.ok || (err != nil) != tt.err {
				t.Fatalf("VerifyPassword = %v, %v; want %v, error %v", ok, err, tt.ok, tt.err)
			}
		})
	}
}

// BenchmarkPasswordVerify measures one argon2id verification with the
// parameters new hashes use; verifications/s is the sign-in capacity of one
// core before anything else runs.
func BenchmarkPasswordVerify(b *testing.B) {
	h, err := account.HashPassword("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("argon2id %s, %d-byte salt, %d-byte key", account.HashParams, account.HashParams.SaltLen, account.HashParams.KeyLen)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := account.VerifyPassword(h, "correct horse battery"); !ok || err != nil {
			b.Fatal("verification failed", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	b.ReportMetric(float64(account.HashParams.Memory), "argon2-KiB")
}

func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := account.HashPassword("correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
