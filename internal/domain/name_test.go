package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/domain"
)

func TestNormalizeAccepts(t *testing.T) {
	for in, want := range map[string]string{
		"corp.example":          "corp.example",
		" Corp.Example. ":       "corp.example",
		"EU.CORP.EXAMPLE":       "eu.corp.example",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
		"a-b.co":                "a-b.co",
		"123.example":           "123.example",
		"corp.example.com.au":   "corp.example.com.au",
		"\u00a0corp.example\t":  "corp.example", // pasted from a web page
	} {
		got, err := domain.Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzNormalize checks that whatever an admin types, Normalize either
// refuses it with an InvalidInputError or returns a name that obeys the
// rules and normalizes to itself.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"corp.example", " Corp.Example. ", "bücher.example", "a..b", "-a.b", "a-.b", "1.2.3.4",
		"bob@corp.example", "https://corp.example", strings.Repeat("a.", 130) + "z", "\xff", ".", "..", "a.b.",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := domain.Normalize(in)
		if err != nil {
			var inv *domain.InvalidInputError
			if !errors.As(err, &inv) || !errors.Is(err, domain.ErrInvalidDomain) || inv.Message == "" {
				t.Fatalf("Normalize(%q): error %v is not an InvalidInputError", in, err)
			}
			return
		}
		if len(got) > 253 || !strings.Contains(got, ".") || strings.HasSuffix(got, ".") {
			t.Fatalf("Normalize(%q) = %q breaks the length or dot rules", in, got)
		}
		for _, l := range strings.Split(got, ".") {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				t.Fatalf("Normalize(%q) = %q has a bad label %q", in, got, l)
			}
		}
		again, err := domain.Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize is not idempotent: %q → %q → %q, %v", in, got, again, err)
		}
	})
}
