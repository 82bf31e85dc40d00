package sso

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Account-linking attacks found in the security review. Each was written
// first and seen to succeed (the attacker was signed in), then fixed.
func TestLinkingAttacks(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"second IdP identity claims a linked account's email", testSecondSubjectSameEmail},
		{"IdP asserts the break-glass admin's email", testBreakGlassViaIdP},
		{"admin linked earlier, then moved to a policy without SSO", testAdminLinkedThenMovedOffSSO},
		{"admin under a policy through this connection may use SSO", testAdminUnderSSOPolicy},
		{"admin's own test sign-in works before SSO is enforced", testAdminTestBeforeEnforcement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) { tc.fn(t, newEnv(t, st)) })
		})
	}
}

// testSecondSubjectSameEmail: alice is linked to her IdP identity. A second
// IdP identity (another object ID) now asserts alice's address — an email
// attribute the user could edit, an address recycled for a new hire, or a
// second user record mapped to the same mail. Before the fix the second
// identity was linked to alice's account and signed in as alice.
func testSecondSubjectSameEmail(t *testing.T, e *env) {
	a := e.loginAs(alice).Account
	mallory := user{email: alice.email, oid: "66666666-0000-4000-8000-000000000001", groups: []string{"admins"}}
	l := e.begin("/", false)
	e.rejected(ReasonEmailConflict, func() (Result, error) {
		return e.complete(e.response(mallory, l.requestID, nil), l.relay, l.secret)
	})
	if _, err := e.st.GetSSOLink(e.ctx, e.conn.ID, mallory.oid); err == nil {
		t.Error("the second identity was linked to alice's account")
	}
	// Alice herself still signs in.
	if res := e.loginAs(alice); res.Account.ID != a.ID {
		t.Errorf("alice now signs in to %+v", res.Account)
	}
	// Through another connection of the organization (say, a second IdP
	// during a migration), the first link of that connection is allowed.
	c2 := e.connection(e.orgA, nil)
	u, secret, err := e.svc.Begin(e.ctx, c2.Slug, "/", false)
	if err != nil {
		t.Fatal(err)
	}
	id, relay := requestID(t, u)
	o := e.conn
	e.conn = c2
	res, err := e.complete(e.response(mallory, id, nil), relay, secret)
	e.conn = o
	if err != nil || res.Account.ID != a.ID {
		t.Errorf("first link through another connection: %+v, %v", res.Account, err)
	}
}

// policy creates a policy of org A (the default one if def) and returns it.
func (e *env) policy(name string, def bool, sso, connectionID string) storage.Policy {
	e.t.Helper()
	p := storage.Policy{ID: uuid.NewString(), OrgID: e.orgA, Name: name, IsDefault: def, SSO: sso, ConnectionID: connectionID,
		CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := e.st.CreatePolicy(e.ctx, p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) member(p storage.Policy, a storage.Account) {
	e.t.Helper()
	if err := e.st.SetPolicyMember(e.ctx, e.orgA, a.ID, p.ID); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) makeAdmin(a storage.Account) storage.Account {
	e.t.Helper()
	a, err := e.st.UpdateAccount(e.ctx, a.ID, func(a *storage.Account) error {
		a.Role, a.PasswordHash = storage.RoleAdmin, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// testBreakGlassViaIdP: the organization enforces SSO for everyone except
// its break-glass admin, whose policy has SSO off so that it keeps working
// when the IdP is down or compromised. Before the fix, whoever controls
// the IdP (or an IdP user who can set their email attribute) asserted the
// break-glass address and was linked to it and signed in: an admin
// session without Gatehouse's MFA, through the very IdP the account
// exists to be independent of.
func testBreakGlassViaIdP(t *testing.T, e *env) {
	e.policy("Default", true, storage.SSOEnforced, e.conn.ID)
	glass := e.policy("Break-glass", false, storage.SSOOff, "")
	bg := e.makeAdmin(e.account(e.orgA, "breakglass@corp.example", storage.StatusActive))
	e.member(glass, bg)

	attacker := user{email: bg.Email, oid: "77777777-0000-4000-8000-000000000001"}
	l := e.begin("/", false)
	e.rejected(ReasonSSONotAllowed, func() (Result, error) {
		return e.complete(e.response(attacker, l.requestID, nil), l.relay, l.secret)
	})
	if _, err := e.st.GetSSOLink(e.ctx, e.conn.ID, attacker.oid); err == nil {
		t.Error("the break-glass account was linked to an IdP identity")
	}
	// IdP-initiated: the same.
	e.update(func(c *storage.IdPConnection) { c.AllowIdPInitiated = true })
	e.rejected(ReasonSSONotAllowed, func() (Result, error) {
		return e.complete(e.response(attacker, "", nil), "/", "")
	})
	// Members under the SSO policy are unaffected.
	if res := e.loginAs(alice); res.Account.Email != alice.email {
		t.Errorf("alice: %+v", res.Account)
	}
}

// testAdminLinkedThenMovedOffSSO: an admin who once signed in through SSO
// is made the break-glass account. The old link must not keep the IdP's
// way into it.
func testAdminLinkedThenMovedOffSSO(t *testing.T, e *env) {
	def := e.policy("Default", true, storage.SSOEnforced, e.conn.ID)
	_ = def
	a := e.loginAs(alice).Account
	a = e.makeAdmin(a)
	e.loginAs(alice) // an admin under the SSO policy: fine
	glass := e.policy("Break-glass", false, storage.SSOOff, "")
	e.member(glass, a)
	l := e.begin("/", false)
	e.rejected(ReasonSSONotAllowed, func() (Result, error) {
		return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	})
	// A policy through another connection does not let this one in either.
	c2 := e.connection(e.orgA, nil)
	other := e.policy("Other IdP", false, storage.SSOEnforced, c2.ID)
	e.member(other, a)
	l = e.begin("/", false)
	e.rejected(ReasonSSONotAllowed, func() (Result, error) {
		return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	})
}

func testAdminUnderSSOPolicy(t *testing.T, e *env) {
	e.policy("Default", true, storage.SSOOptional, e.conn.ID)
	a := e.makeAdmin(e.account(e.orgA, alice.email, storage.StatusActive))
	if res := e.loginAs(alice); res.Account.ID != a.ID {
		t.Errorf("admin under an SSO policy: %+v", res.Account)
	}
}

// testAdminTestBeforeEnforcement: the test sign-in an admin must complete
// before SSO can be enforced runs while the default policy still has SSO
// off; it links the admin's own account and starts no session.
func testAdminTestBeforeEnforcement(t *testing.T, e *env) {
	e.policy("Default", true, storage.SSOOff, "")
	e.adminCtx()
	admin := user{email: e.admin.Email, oid: "88888888-0000-4000-8000-000000000001"}
	l := e.begin("/admin/sso", true)
	res, err := e.complete(e.response(admin, l.requestID, nil), l.relay, l.secret)
	if err != nil || !res.Test || res.Account.ID != e.admin.ID {
		t.Fatalf("test sign-in: %+v, %v", res, err)
	}
	// Outside a test, the policy (SSO off) still keeps the IdP out.
	l = e.begin("/", false)
	e.rejected(ReasonSSONotAllowed, func() (Result, error) {
		return e.complete(e.response(admin, l.requestID, nil), l.relay, l.secret)
	})
}

// TestTransientNameIDIsNoSubject: a transient NameID names the user for one
// response only. Used as the link subject (no subject attribute mapped),
// every sign-in created another link row, and the refusal to link a second
// subject to a linked account then locked the user out on their second
// sign-in. Such a connection is refused from the first sign-in, with a
// detail that tells the admin what to change.
func TestTransientNameIDIsNoSubject(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		u := user{email: "tess@corp.example", oid: ""}
		transient := func(o *samltest.Options) {
			o.NameID, o.NameIDFormat = "_"+uuid.NewString(), saml.NameIDFormatTransient
			var attrs []samltest.Attribute
			for _, a := range o.Attributes {
				if a.Name != samltest.ClaimObjectID {
					attrs = append(attrs, a)
				}
			}
			o.Attributes = attrs
		}
		l := e.begin("/", false)
		r := e.rejected(ReasonIdentityUnusable, func() (Result, error) {
			return e.complete(e.response(u, l.requestID, transient), l.relay, l.secret)
		})
		if !strings.Contains(r.Detail, "transient") {
			t.Errorf("detail %q does not name the cause", r.Detail)
		}
	})
}

// randomText is n bytes of text that does not compress, so PostgreSQL
// cannot squeeze it under its index entry limit.
func randomText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(uuid.NewString())
	}
	return b.String()[:n]
}

// TestUnstorableSubject: a subject no SSO link could hold is refused as an
// unusable identity, on both backends, not failed as a storage error.
func TestUnstorableSubject(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		u := alice
		u.oid = randomText(3000)
		l := e.begin("/", false)
		r := e.rejected(ReasonIdentityUnusable, func() (Result, error) {
			return e.complete(e.response(u, l.requestID, nil), l.relay, l.secret)
		})
		if !strings.Contains(r.Detail, "subject identifier") {
			t.Errorf("detail %q does not name the cause", r.Detail)
		}
	})
}
