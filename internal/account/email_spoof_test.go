package account_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
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

// TestAddMemberRefusesLookalikeAddress: before the skeleton check,
// аlice@acme.example (whole-word lookalikes pass the mixed-script rule,
// as do digit-for-letter swaps) became a second account beside the
// existing one, shown everywhere as the same person. Now any address that
// looks like an existing one in the organization is refused with a field
// error that does not quote the other address, and nothing is created.
func TestAddMemberRefusesLookalikeAddress(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		e.member(org, "scope@acme.example", "", storage.RoleMember)
		e.member(org, "ceo@acme.example", "", storage.RoleMember)
		before := len(e.events(org.ID, "account.create"))
		for _, tt := range []struct{ name, email string }{
			{"all-Cyrillic ѕсоре", "\u0455\u0441\u043e\u0440\u0435@acme.example"},
			{"zero for o", "ce0@acme.example"},
			{"upper-case and full-width", "\uff23\uff25\uff2f@acme.example"},
			{"the owner's address with a Cyrillic а", "\u0430d\u0430@acme.example"},
		} {
			_, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: tt.email, Invite: true})
			if err == nil {
				t.Fatalf("%s: AddMember(%+q) succeeded, want a refusal", tt.name, tt.email)
			}
			if errors.Is(err, account.ErrExists) {
				continue // the full-width form is the same address: "already exists" is right
			}
			inv := wantInvalid(t, tt.name, err, "email")
			if strings.Contains(inv.Message, "@") {
				t.Errorf("%s: message %q quotes an address", tt.name, inv.Message)
			}
		}
		if n := len(e.events(org.ID, "account.create")); n != before {
			t.Errorf("%d accounts created by refused additions", n-before)
		}
		if m := e.mails(); len(m) != 0 {
			t.Errorf("refused additions sent %d invitations", len(m))
		}
		// Another organization's lookalike is no concern of this one.
		other, err := e.svc.CreateOrganization(e.ctx, "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddMember(e.ctx, other.ID, account.MemberInput{Email: "ce0@acme.example"}); err != nil {
			t.Fatalf("AddMember in another organization: %v", err)
		}
		// A genuinely different address still works.
		e.member(org, "cto@acme.example", "", storage.RoleMember)
	})
}
