package account_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string // want "" means rejected
	}{
		{"ada@acme.example", "ada@acme.example"},
		{"  Ada.Lovelace@ACME.Example \n", "ada.lovelace@acme.example"},
		{"ops+alerts@sub.acme.example", "ops+alerts@sub.acme.example"},
		{"root@localhost", "root@localhost"},
		// The domain is stored as its A-label, the form internal/domain
		// verifies, so the verified xn--mller-kva.example manages it.
		{"jürgen@müller.example", "jürgen@xn--mller-kva.example"},
		{"jürgen@xn--mller-kva.example", "jürgen@xn--mller-kva.example"},
		// Lookalikes (stricter since emailaddr): full-width and ligature
		// forms fold to their letters; mixed scripts are refused.
		{"\uff41\uff44\uff41@acme.example", "ada@acme.example"},
		{"\ufb01n@acme.example", "fin@acme.example"},
		{"\u0430da@acme.example", ""},                  // Cyrillic а
		{"ad\u03bf@acme.example", ""},                  // Greek ο
		{"ada@\u0430cme.example", ""},                  // Cyrillic а in the domain
		{"ada\u2665@acme.example", ""},                 // a symbol
		{"ada@acme.example\uff0ceve@evil.example", ""}, // full-width comma
		{"", ""},
		{"   ", ""},
		{"ada", ""},
		{"@acme.example", ""},
		{"ada@", ""},
		{"ada@@acme.example", ""},
		{"ada@bob@acme.example", ""},
		{"ada@acme", ""},
		{"ada@.example", ""},
		{"ada@acme.example.", ""},
		{"ada@acme..example", ""},
		{"ada lovelace@acme.example", ""},
		{"ada@acme.example\r\nBcc: eve@evil.example", ""},
		{"ada@acme.example,eve@evil.example", ""},
		{"Ada <ada@acme.example>", ""},
		{"ada\x00@acme.example", ""},
		{"ada\xff@acme.example", ""},
		{strings.Repeat("a", 241) + "@acme.example", strings.Repeat("a", 241) + "@acme.example"}, // 254 bytes
		{strings.Repeat("a", 242) + "@acme.example", ""},
	}
	for _, tt := range tests {
		got, err := account.NormalizeEmail(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeEmail(%q) = %q, want an error", tt.in, got)
				continue
			}
			wantInvalid(t, "NormalizeEmail("+tt.in+")", err, "email")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ada@acme.example", " Ada@ACME.example ", "root@localhost", "a@b.c", "jürgen@müller.example",
		"İSTANBUL@TURKEY.EXAMPLE", "ǅ@x.example", "a@b@c.d", "\xff@x.example", "a b@c.d", "", "@", "a@.b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := account.NormalizeEmail(in)
		if err != nil {
			wantInvalid(t, "NormalizeEmail", err, "email")
			return
		}
		if !utf8.ValidString(out) || strings.ToLower(out) != out || len(out) > 254 || strings.Count(out, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: not a lowercase single address", in, out)
		}
		again, err := account.NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeEmail(%q) = %q, but that normalizes to %q, %v", in, out, again, err)
		}
	})
}
