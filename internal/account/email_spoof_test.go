package account_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

// TestNormalizeEmailRefusesInvisibleCharacters: an address with a
// zero-width space, a bidi override, a soft hyphen or a Hangul filler
// renders exactly like another one. Before the fix such an address was
// a distinct, valid account: an IdP user who can edit their email
// attribute got "ceo\u200b@corp.example" provisioned just in time, shown
// everywhere (audit log, console, the email claim apps receive) as the
// CEO's address, and apps that strip invisible characters from the claim
// would map it onto the CEO's own app account.
func TestNormalizeEmailRefusesInvisibleCharacters(t *testing.T) {
	for _, in := range []string{
		"ceo\u200b@corp.example",      // zero-width space
		"ceo@corp\u200d.example",      // zero-width joiner
		"moc.elpmaxe\u202e@evil.test", // right-to-left override
		"c\u00adeo@corp.example",      // soft hyphen
		"\ufeffceo@corp.example",      // byte order mark
		"\u3164@corp.example",         // Hangul filler
		"ceo\u2060@corp.example",      // word joiner
	} {
		if got, err := account.NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%+q) = %q, want a refusal", in, got)
		} else {
			wantInvalid(t, "NormalizeEmail", err, "email")
		}
	}
	// Visible non-ASCII letters and combining marks stay allowed.
	for _, in := range []string{"jürgen@müller.example", "jo\u0308rg@x.example", "δοκιμή@παράδειγμα.example"} {
		if _, err := account.NormalizeEmail(in); err != nil {
			t.Errorf("NormalizeEmail(%+q): %v", in, err)
		}
	}
}
