package emailaddr_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
)

// TestNormalizeLookalikes: before this package, each of these became an
// account of its own beside alice@corp.test (or the plain form of the
// address), shown to people as the same address.
func TestNormalizeLookalikes(t *testing.T) {
	tests := []struct {
		name, in string
		want     string         // "" when refused
		code     emailaddr.Code // the refusal
	}{
		// Attacks first.
		{"Cyrillic а in a Latin local part", "\u0430lice@corp.test", "", emailaddr.CodeMixedScript},
		{"Greek ο in a Latin local part", "b\u03bfb@corp.test", "", emailaddr.CodeMixedScript},
		{"Cyrillic о in a Latin domain label", "alice@c\u043erp.test", "", emailaddr.CodeMixedScript},
		{"Cyrillic label given as punycode", "alice@xn--crp-sed.test", "", emailaddr.CodeMixedScript},
		{"full-width address", "\uff41\uff4c\uff49\uff43\uff45\uff20\uff43\uff4f\uff52\uff50\uff0e\uff54\uff45\uff53\uff54", "alice@corp.test", ""},
		{"full-width local part", "\uff21lice@corp.test", "alice@corp.test", ""},
		{"fi ligature", "\ufb01nance@corp.test", "finance@corp.test", ""},
		{"ffi ligature", "o\ufb03ce@corp.test", "office@corp.test", ""},
		{"mathematical bold letters", "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e@corp.test", "alice@corp.test", ""},
		{"zero-width space", "ali\u200bce@corp.test", "", emailaddr.CodeBadCharacter},
		{"zero-width joiner in the domain", "alice@corp\u200d.test", "", emailaddr.CodeBadCharacter},
		{"right-to-left override", "moc.elpmaxe\u202e@evil.test", "", emailaddr.CodeBadCharacter},
		{"soft hyphen", "al\u00adice@corp.test", "", emailaddr.CodeBadCharacter},
		{"Hangul filler", "\u3164@corp.test", "", emailaddr.CodeBadCharacter},
		{"full-width comma names two recipients", "a@corp.test\uff0cb@corp.test", "", emailaddr.CodeBadCharacter},
		{"symbol in the local part", "ali\u2665ce@corp.test", "", emailaddr.CodeBadCharacter},
		{"header injection", "a@corp.test\r\nBcc: e@evil.test", "", emailaddr.CodeBadCharacter},
		{"two @", "a@b@corp.test", "", emailaddr.CodeShape},
		{"trailing dot", "a@corp.test.", "", emailaddr.CodeBadDomain},
		{"underscore in domain", "a@cor_p.test", "", emailaddr.CodeBadDomain},
		{"hyphen at a label's end", "a@corp-.test", "", emailaddr.CodeBadDomain},
		{"label too long", "a@" + strings.Repeat("x", 64) + ".test", "", emailaddr.CodeBadDomain},
		{"not text", "a\xff@corp.test", "", emailaddr.CodeNotText},
		{"empty", "  ", "", emailaddr.CodeEmpty},
		{"too long", strings.Repeat("a", 250) + "@corp.test", "", emailaddr.CodeTooLong},
		// What stays allowed.
		{"ASCII", " Alice.Smith+x@Corp.Test ", "alice.smith+x@corp.test", ""},
		{"IDN domain in one script, stored as A-label", "M\u00fcller@B\u00fccher.example", "m\u00fcller@xn--bcher-kva.example", ""},
		{"A-label domain stays", "m\u00fcller@xn--bcher-kva.example", "m\u00fcller@xn--bcher-kva.example", ""},
		{"combining mark composes", "jo\u0308rg@corp.test", "j\u00f6rg@corp.test", ""},
		{"Greek local part, Greek label, Latin TLD", "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@\u03c0\u03b1\u03c1\u03ac\u03b4\u03b5\u03b9\u03b3\u03bc\u03b1.example",
			"\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@xn--hxajbheg2az3al.example", ""},
		{"all-Cyrillic local part", "\u043f\u0451\u0442\u0440@corp.test", "\u043f\u0451\u0442\u0440@corp.test", ""},
		{"Japanese with Latin", "tanaka\u592a\u90ce\u3055\u3093@corp.test", "tanaka\u592a\u90ce\u3055\u3093@corp.test", ""},
		{"eszett is kept (IDNA2008)", "a@fu\u00df.example", "a@xn--fu-hia.example", ""},
		{"localhost", "root@localhost", "root@localhost", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := emailaddr.Normalize(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Normalize(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
				}
				return
			}
			var e *emailaddr.Error
			if !errors.As(err, &e) || !errors.Is(err, emailaddr.ErrInvalid) {
				t.Fatalf("Normalize(%+q) = %+q, %v; want an *Error with code %s", tt.in, got, err, tt.code)
			}
			if e.Code != tt.code {
				t.Fatalf("Normalize(%+q): code %s (%v), want %s", tt.in, e.Code, err, tt.code)
			}
		})
	}
}

// TestSkeletonMatchesLookalikes: addresses a person cannot tell apart share
// a skeleton, even where each passes Normalize on its own (a whole-script
// Cyrillic local part, a digit for a letter).
func TestSkeletonMatchesLookalikes(t *testing.T) {
	same := [][2]string{
		{"alice@corp.test", "\u0430lice@corp.test"},                     // Cyrillic а
		{"ape@corp.test", "\u0430\u0440\u0435@corp.test"},               // all Cyrillic: аре
		{"bob@corp.test", "b\u03bfb@corp.test"},                         // Greek ο
		{"scope@corp.test", "\u0455\u0441\u043e\u0440\u0435@corp.test"}, // Cyrillic ѕсоре
		{"ceo@corp.test", "ce0@corp.test"},                              // zero for o
		{"bill@corp.test", "bi11@corp.test"},                            // ones for l
		{"modern@corp.test", "rnodern@corp.test"},                       // rn for m
		{"alice@corp.test", "ALICE@CORP.TEST"},
		{"finance@corp.test", "\ufb01nance@corp.test"},
		{"alice@corp.test", "alice@xn--crp-sed.test"}, // Cyrillic о in the domain, as punycode
		{"j\u00f6rg@corp.test", "jo\u0308rg@corp.test"},
		{"ceo@corp.test", "c\u200beo@corp.test"},
	}
	for _, p := range same {
		if a, b := emailaddr.Skeleton(p[0]), emailaddr.Skeleton(p[1]); a != b {
			t.Errorf("Skeleton(%+q) = %+q, Skeleton(%+q) = %+q; want equal", p[0], a, p[1], b)
		}
	}
	different := [][2]string{
		{"alice@corp.test", "alicia@corp.test"},
		{"m\u00fcller@corp.test", "muller@corp.test"},
		{"bob@corp.test", "bob@corp2.test"},
	}
	for _, p := range different {
		if a, b := emailaddr.Skeleton(p[0]), emailaddr.Skeleton(p[1]); a == b {
			t.Errorf("Skeleton(%+q) == Skeleton(%+q) = %+q; want different", p[0], p[1], a)
		}
	}
}

// FuzzNormalize: whatever comes in, Normalize refuses it with an *Error or
// returns an address that normalizes to itself and obeys its own rules.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"alice@corp.test", "\u0430lice@corp.test", "\ufb01@x.example", "\uff41@\uff43.test", "m\u00fcller@b\u00fccher.example",
		"İSTANBUL@TURKEY.EXAMPLE", "ǅ@x.example", "a@xn--bcher-kva.example", "a@fu\u00df.example", "\xff@x.example", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := emailaddr.Normalize(in)
		if err != nil {
			var e *emailaddr.Error
			if !errors.As(err, &e) || e.Code == "" || !errors.Is(err, emailaddr.ErrInvalid) {
				t.Fatalf("Normalize(%+q): %v is not an *Error with a code", in, err)
			}
			return
		}
		local, domain, ok := strings.Cut(out, "@")
		if !utf8.ValidString(out) || !ok || local == "" || strings.Contains(domain, "@") || len(out) > emailaddr.MaxLen {
			t.Fatalf("Normalize(%+q) = %+q: not one address", in, out)
		}
		if strings.ToLower(out) != out || strings.IndexFunc(out, emailaddr.Invisible) >= 0 {
			t.Fatalf("Normalize(%+q) = %+q: not lower case, or has an invisible character", in, out)
		}
		for i := 0; i < len(domain); i++ {
			if domain[i] >= utf8.RuneSelf {
				t.Fatalf("Normalize(%+q) = %+q: the domain is not an A-label", in, out)
			}
		}
		again, err := emailaddr.Normalize(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%+q) = %+q, but that normalizes to %+q, %v", in, out, again, err)
		}
		if emailaddr.Skeleton(out) != emailaddr.Skeleton(again) {
			t.Fatalf("Skeleton is not stable for %+q", out)
		}
	})
}
