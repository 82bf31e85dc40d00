package sso

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// TestJITRefusesLookalikeAddresses: before the skeleton check, an IdP user
// able to set their email attribute got an account just in time at an
// address every person and app shows as an existing colleague's
// (ѕсоре@ in Cyrillic beside scope@, ce0@ beside ceo@). Now a new account,
// or an email change, onto a lookalike address is rejected and audited,
// and the rejection names the other account only by ID.
func TestJITRefusesLookalikeAddresses(t *testing.T) {
	for _, tc := range []struct {
		name, email string
		reason      string // "" means signed in to the existing scope@ account
	}{
		{"all-Cyrillic ѕсоре", "\u0455\u0441\u043e\u0440\u0435@corp.example", ReasonEmailConfusable},
		{"zero for o", "sc0pe@corp.example", ReasonEmailConfusable},
		{"Greek ο with Latin", "sc\u03bfpe@corp.example", ReasonIdentityUnusable}, // mixed scripts
		{"Cyrillic а in the domain", "scope@corp.ex\u0430mple", ReasonIdentityUnusable},
		{"invisible character", "sco\u200bpe@corp.example", ReasonIdentityUnusable},
		{"full-width is the same address", "\uff53\uff43\uff4f\uff50\uff45@corp.example", ""},
		{"ligature-free upper case is the same address", "SCOPE@Corp.Example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
				e := newEnv(t, st)
				scope := e.account(e.orgA, "scope@corp.example", storage.StatusActive)
				u := user{email: tc.email, oid: "77777777-0000-4000-8000-000000000001"}
				l := e.begin("/", false)
				if tc.reason == "" {
					res, err := e.complete(e.response(u, l.requestID, nil), l.relay, l.secret)
					if err != nil || res.JIT || res.Account.ID != scope.ID {
						t.Fatalf("sign-in as %+q = %+v, %v; want the existing scope@ account", tc.email, res.Account, err)
					}
					return
				}
				r := e.rejected(tc.reason, func() (Result, error) {
					return e.complete(e.response(u, l.requestID, nil), l.relay, l.secret)
				})
				if strings.Contains(r.Detail, scope.Email) {
					t.Errorf("rejection detail %q quotes the other account's address", r.Detail)
				}
				if tc.reason == ReasonEmailConfusable && !strings.Contains(r.Detail, scope.ID) {
					t.Errorf("rejection detail %q does not name the account it resembles", r.Detail)
				}
			})
		})
	}
}

// TestEmailChangeToLookalikeRefused: a linked identity whose email the IdP
// changes to a lookalike of a colleague's keeps its old address.
func TestEmailChangeToLookalikeRefused(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.account(e.orgA, "ceo@corp.example", storage.StatusActive)
		a := e.loginAs(alice).Account
		moved := alice
		moved.email = "ce0@corp.example"
		l := e.begin("/", false)
		e.rejected(ReasonEmailConfusable, func() (Result, error) {
			return e.complete(e.response(moved, l.requestID, nil), l.relay, l.secret)
		})
		if got, err := e.st.GetAccount(e.ctx, a.ID); err != nil || got.Email != alice.email {
			t.Fatalf("alice's account after the refused change: %+v, %v", got, err)
		}
	})
}

// TestJITInternationalizedDomain: an address in an internationalized
// domain, in one script, signs in. The domain is stored and verified as
// its A-label, and the address is stored with the A-label too, so the
// verified xn--bcher-kva.example manages müller@bücher.example (before,
// the U-label address matched no verified domain).
func TestJITInternationalizedDomain(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.verify(e.orgA, "xn--bcher-kva.example")
		u := user{email: "M\u00fcller@B\u00fccher.example", oid: "88888888-0000-4000-8000-000000000001"}
		res := e.loginAs(u)
		if !res.JIT || res.Account.Email != "m\u00fcller@xn--bcher-kva.example" {
			t.Fatalf("JIT account = %+v", res.Account)
		}
		// The same person asserted with the A-label domain is the same account.
		u.email = "m\u00fcller@xn--bcher-kva.example"
		if again := e.loginAs(u); again.JIT || again.Account.ID != res.Account.ID {
			t.Fatalf("second sign-in = %+v", again)
		}
	})
}
