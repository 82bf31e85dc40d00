package sso

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// rejected runs fn, which must be refused for reason, and checks that the
// refusal was audited in the connection's organization and changed nothing
// else.
func (e *env) rejected(reason string, fn func() (Result, error)) *Rejection {
	e.t.Helper()
	before := e.snapshot()
	res, err := fn()
	var r *Rejection
	if !errors.As(err, &r) {
		e.t.Fatalf("want rejection %q, got result %+v, err %v", reason, res, err)
	}
	if r.Reason != reason {
		e.t.Fatalf("rejected with %q (%s), want %q", r.Reason, r.Detail, reason)
	}
	if r.Code == "" {
		e.t.Error("rejection without a code")
	}
	after := e.snapshot()
	if !reflect.DeepEqual(before.accounts, after.accounts) {
		e.t.Errorf("%s: accounts changed:\n%+v\n%+v", reason, before.accounts, after.accounts)
	}
	if before.conn.Version != after.conn.Version || !before.conn.TestedAt.Equal(after.conn.TestedAt) {
		e.t.Errorf("%s: connection changed", reason)
	}
	if after.events != before.events+1 {
		e.t.Errorf("%s: %d audit events written, want exactly the rejection", reason, after.events-before.events)
	}
	evs := e.events(e.orgA, "sso.rejected")
	if len(evs) == 0 {
		e.t.Fatalf("%s: not audited", reason)
	}
	last := evs[len(evs)-1]
	if last.Reason != reason || last.Outcome != "failure" || last.Details["code"] != r.Code || last.TargetID != e.conn.ID {
		e.t.Errorf("%s: audit event %+v", reason, last)
	}
	return r
}

// TestComplete runs each scenario on a fresh store of each backend:
// verified domains are deployment-wide, so scenarios cannot share one.
func TestComplete(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"JIT, then link, then email change", testJITLinkEmailChange},
		{"replay and request reuse", testReplay},
		{"browser binding", testBrowserBinding},
		{"expired request", testExpiredRequest},
		{"unsolicited", testUnsolicited},
		{"cross organization", testCrossOrganization},
		{"unverified domain", testUnverifiedDomain},
		{"JIT off", testJITOff},
		{"suspended", testSuspended},
		{"groups", testGroups},
		{"test sign-in", testTestLogin},
		{"bad input", testBadInput},
		{"signed requests", testSignedRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) { tc.fn(t, newEnv(t, st)) })
		})
	}
}

func testJITLinkEmailChange(t *testing.T, e *env) {
	res := e.loginAs(alice)
	a := res.Account
	if !res.JIT || a.OrgID != e.orgA || a.Email != alice.email || a.Role != storage.RoleMember ||
		a.PasswordHash != "" || a.DisplayName != "Alice Liddell" || a.Status != storage.StatusActive {
		t.Fatalf("JIT account = %+v", res)
	}
	if res.ReturnTo != "/apps/wiki" || res.Test || res.ConnectionID != e.conn.ID || !res.AuthnInstant.Equal(t0.Add(-2*time.Minute)) {
		t.Errorf("result = %+v", res)
	}
	if g := e.groups(a.ID); !reflect.DeepEqual(g, []string{"engineering", "everyone"}) {
		t.Errorf("groups = %v", g)
	}
	login := e.events(e.orgA, "sso.login")
	if len(login) != 1 || login[0].ActorID != a.ID || login[0].Details["jit"] != "true" || login[0].Details["subject"] != alice.oid ||
		login[0].Details["connection"] != e.conn.Slug {
		t.Errorf("sso.login = %+v", login)
	}
	if evs := e.events(e.orgA, "account.create"); len(evs) != 1 || evs[0].Details["source"] != "sso_jit" {
		t.Errorf("account.create = %+v", evs)
	}

	// A second sign-in finds the same account through its link.
	e.clock.Advance(time.Hour)
	res = e.loginAs(alice)
	if res.JIT || res.Account.ID != a.ID {
		t.Errorf("second login: %+v", res)
	}
	if as, _ := e.st.ListAccounts(e.ctx, e.orgA); len(as) != 1 {
		t.Errorf("%d accounts after two logins", len(as))
	}

	// The email changes at the IdP (same object ID): the account follows.
	renamed := alice
	renamed.email = "alice.liddell@corp.example"
	res = e.loginAs(renamed)
	if res.Account.ID != a.ID || res.Account.Email != renamed.email {
		t.Fatalf("after rename: %+v", res.Account)
	}
	if evs := e.events(e.orgA, "account.email_change"); len(evs) != 1 || evs[0].Details["from"] != alice.email || evs[0].Details["to"] != renamed.email {
		t.Errorf("email_change = %+v", evs)
	}
	// Not to a domain the organization does not verify…
	away := alice
	away.email = "alice@gmail.example"
	l := e.begin("/", false)
	e.rejected(ReasonEmailDomainNotVerified, func() (Result, error) { return e.complete(e.response(away, l.requestID, nil), l.relay, l.secret) })
	// …nor to another account's address.
	e.account(e.orgA, "bob@corp.example", storage.StatusActive)
	taken := alice
	taken.email = "bob@corp.example"
	l = e.begin("/", false)
	e.rejected(ReasonEmailConflict, func() (Result, error) { return e.complete(e.response(taken, l.requestID, nil), l.relay, l.secret) })
	// Nothing was consumed by the refusals: the same request still works
	// with a good response.
	if _, err := e.complete(e.response(renamed, l.requestID, nil), l.relay, l.secret); err != nil {
		t.Errorf("request unusable after a rejected response: %v", err)
	}
}

func testReplay(t *testing.T, e *env) {
	l := e.begin("/", false)
	resp := e.response(alice, l.requestID, nil)
	if _, err := e.complete(resp, l.relay, l.secret); err != nil {
		t.Fatal(err)
	}
	// The same POST again: its request is spent.
	e.rejected(ReasonRequestReused, func() (Result, error) { return e.complete(resp, l.relay, l.secret) })

	// The same assertion ID in a response to a fresh request is a replay.
	first := e.begin("/", false)
	second := e.begin("/", false)
	assertionID := samltest.NewID()
	withID := func(o *samltest.Options) { o.AssertionID = assertionID }
	if _, err := e.complete(e.response(alice, first.requestID, withID), first.relay, first.secret); err != nil {
		t.Fatal(err)
	}
	r := e.rejected(ReasonReplayed, func() (Result, error) {
		return e.complete(e.response(alice, second.requestID, withID), second.relay, second.secret)
	})
	if !strings.Contains(r.Detail, assertionID) {
		t.Errorf("detail %q does not name the assertion", r.Detail)
	}
}

func testBrowserBinding(t *testing.T, e *env) {
	l := e.begin("/", false)
	resp := e.response(alice, l.requestID, nil)
	other := e.begin("/", false) // another browser's secret
	e.rejected(ReasonInResponseToMismatch, func() (Result, error) { return e.complete(resp, l.relay, other.secret) })
	e.rejected(ReasonInResponseToMismatch, func() (Result, error) { return e.complete(resp, l.relay, "") })
	// A response to a request nobody sent.
	e.rejected(ReasonInResponseToMismatch, func() (Result, error) {
		return e.complete(e.response(alice, "_00000000000000000000000000000000", nil), "", l.secret)
	})
	// A request started through another connection of the same org.
	c2 := e.connection(e.orgA, nil)
	u, secret2, err := e.svc.Begin(e.ctx, c2.Slug, "/", false)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := requestID(t, u)
	e.rejected(ReasonInResponseToMismatch, func() (Result, error) {
		return e.complete(e.response(alice, id2, nil), "", secret2)
	})
	// The right browser still gets in: the refusals consumed nothing.
	if _, err := e.complete(resp, l.relay, l.secret); err != nil {
		t.Errorf("right browser: %v", err)
	}
}

func testExpiredRequest(t *testing.T, e *env) {
	l := e.begin("/", false)
	e.clock.Advance(10*time.Minute + time.Second)
	e.rejected(ReasonRequestExpired, func() (Result, error) {
		return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	})
}

func testUnsolicited(t *testing.T, e *env) {
	resp := e.response(alice, "", nil)
	e.rejected(ReasonUnsolicitedNotAllowed, func() (Result, error) { return e.complete(resp, "/apps/board", "") })
	e.update(func(c *storage.IdPConnection) { c.AllowIdPInitiated = true })
	res, err := e.complete(resp, "/apps/board", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnTo != "/apps/board" || res.Account.Email != alice.email {
		t.Errorf("IdP-initiated result = %+v", res)
	}
	if evs := e.events(e.orgA, "sso.login"); evs[len(evs)-1].Details["idp_initiated"] != "true" {
		t.Errorf("not marked IdP-initiated: %+v", evs[len(evs)-1])
	}
	// Posting the same unsolicited response again is a replay.
	e.rejected(ReasonReplayed, func() (Result, error) { return e.complete(resp, "/apps/board", "") })
	// A RelayState longer than any return URL is not carried into the
	// sign-in: the person lands on the default page.
	long, err := e.complete(e.response(alice, "", nil), "/"+strings.Repeat("a", 5000), "")
	if err != nil || long.ReturnTo != "" {
		t.Errorf("oversized RelayState: return to %d bytes, %v", len(long.ReturnTo), err)
	}
	// A solicited response still needs its request even when unsolicited ones are allowed.
	e.rejected(ReasonInResponseToMismatch, func() (Result, error) {
		return e.complete(e.response(alice, "_ffffffffffffffffffffffffffffffff", nil), "", "")
	})
}

func testCrossOrganization(t *testing.T, e *env) {
	// Org A's IdP asserts an address of org B's verified domain.
	bob := user{email: "bob@b.example", oid: "11111111-0000-4000-8000-000000000001"}
	e.account(e.orgB, bob.email, storage.StatusActive)
	l := e.begin("/", false)
	e.rejected(ReasonCrossOrganization, func() (Result, error) { return e.complete(e.response(bob, l.requestID, nil), l.relay, l.secret) })
	// Unknown address in org B's domain: still refused, nothing created.
	stranger := user{email: "stranger@b.example", oid: "11111111-0000-4000-8000-000000000002"}
	e.rejected(ReasonCrossOrganization, func() (Result, error) {
		return e.complete(e.response(stranger, l.requestID, nil), l.relay, l.secret)
	})
	// An account of org B whose address is in org A's domain is not
	// reachable through org A's IdP either.
	carol := user{email: "carol@corp.example", oid: "11111111-0000-4000-8000-000000000003"}
	e.account(e.orgB, carol.email, storage.StatusActive)
	r := e.rejected(ReasonCrossOrganization, func() (Result, error) {
		return e.complete(e.response(carol, l.requestID, nil), l.relay, l.secret)
	})
	if evs := e.events(e.orgA, "sso.rejected"); evs[len(evs)-1].Details["email"] != carol.email || r.Detail == "" {
		t.Errorf("rejection does not say who: %+v", evs[len(evs)-1])
	}
	if evs := e.events(e.orgB, "sso.*"); len(evs) != 0 {
		t.Errorf("org B's audit chain got %d events from org A's IdP", len(evs))
	}
}

func testUnverifiedDomain(t *testing.T, e *env) {
	u := user{email: "dave@unverified.example", oid: "22222222-0000-4000-8000-000000000001"}
	l := e.begin("/", false)
	e.rejected(ReasonEmailDomainNotVerified, func() (Result, error) { return e.complete(e.response(u, l.requestID, nil), l.relay, l.secret) })
}

func testJITOff(t *testing.T, e *env) {
	e.update(func(c *storage.IdPConnection) { c.JIT = false })
	l := e.begin("/", false)
	e.rejected(ReasonAccountNotProvisioned, func() (Result, error) { return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret) })
	// An existing account of the org is linked without JIT.
	acct := e.account(e.orgA, alice.email, storage.StatusActive)
	res, err := e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	if err != nil || res.Account.ID != acct.ID || res.JIT {
		t.Fatalf("existing account: %+v, %v", res, err)
	}
	if link, err := e.st.GetSSOLink(e.ctx, e.conn.ID, alice.oid); err != nil || link.AccountID != acct.ID {
		t.Errorf("link = %+v, %v", link, err)
	}
}

func testSuspended(t *testing.T, e *env) {
	acct := e.account(e.orgA, alice.email, storage.StatusSuspended)
	l := e.begin("/", false)
	e.rejected(ReasonAccountSuspended, func() (Result, error) { return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret) })
	// Linked and later suspended: still refused.
	if _, err := e.st.UpdateAccount(e.ctx, acct.ID, func(a *storage.Account) error { a.Status = storage.StatusActive; return nil }); err != nil {
		t.Fatal(err)
	}
	e.loginAs(alice)
	if _, err := e.st.UpdateAccount(e.ctx, acct.ID, func(a *storage.Account) error { a.Status = storage.StatusSuspended; return nil }); err != nil {
		t.Fatal(err)
	}
	l = e.begin("/", false)
	e.rejected(ReasonAccountSuspended, func() (Result, error) { return e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret) })
}

func testGroups(t *testing.T, e *env) {
	res := e.loginAs(alice)
	id := res.Account.ID
	// Entra's overage: a link instead of the groups. Keep them, warn.
	over := alice
	over.overage = true
	res = e.loginAs(over)
	if g := e.groups(id); !reflect.DeepEqual(g, []string{"engineering", "everyone"}) {
		t.Errorf("groups after overage = %v", g)
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != WarningGroupsOverage {
		t.Errorf("warnings = %v", res.Warnings)
	}
	if evs := e.events(e.orgA, "sso.login"); !strings.Contains(evs[len(evs)-1].Details["warnings"], "groups_overage") {
		t.Errorf("overage not audited: %+v", evs[len(evs)-1].Details)
	}
	// No groups claim at all: nothing said, nothing changed.
	none := alice
	none.noGroups = true
	e.loginAs(none)
	if g := e.groups(id); len(g) != 2 {
		t.Errorf("groups after a response without the claim = %v", g)
	}
	// A group name no index can hold (PostgreSQL refuses entries over
	// about 2.7 kB, and random text does not compress below that): the
	// list cannot be applied whole, so it is not applied at all.
	huge := alice
	huge.groups = []string{"engineering", randomText(3000)}
	res = e.loginAs(huge)
	if g := e.groups(id); !reflect.DeepEqual(g, []string{"engineering", "everyone"}) {
		t.Errorf("groups after an unstorable group = %v", g)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], WarningGroupsUnusable) {
		t.Errorf("warnings = %v", res.Warnings)
	}
	// An explicit new list replaces the old one.
	moved := alice
	moved.groups = []string{"sales"}
	e.loginAs(moved)
	if g := e.groups(id); !reflect.DeepEqual(g, []string{"sales"}) {
		t.Errorf("groups after a change = %v", g)
	}
	// Sessions cache the groups: the first sign-in (none → some) and the
	// change told every node to drop them; the sign-ins that changed
	// nothing did not.
	e.loginAs(moved)
	if n := e.accountInvalidations(id); n != 2 {
		t.Errorf("account invalidations = %d, want 2 (first groups, then the change)", n)
	}
}

// accountInvalidations counts the feed's "account" entries for accountID.
func (e *env) accountInvalidations(accountID string) int {
	e.t.Helper()
	invs, err := e.st.InvalidationsSince(e.ctx, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, inv := range invs {
		if inv.Kind == "account" && inv.Key == accountID {
			n++
		}
	}
	return n
}

func testTestLogin(t *testing.T, e *env) {
	if !e.conn.TestedAt.IsZero() {
		t.Fatal("new connection already tested")
	}
	// Only an admin of the connection's org may start a test sign-in.
	member := e.account(e.orgA, "member@corp.example", storage.StatusActive)
	outsider := e.account(e.orgB, "admin@b.example", storage.StatusActive)
	if _, err := e.st.UpdateAccount(e.ctx, outsider.ID, func(a *storage.Account) error { a.Role = storage.RoleOwner; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{e.ctx, reqctx.WithActor(e.ctx, "account", member.ID, member.Email), reqctx.WithActor(e.ctx, "account", outsider.ID, outsider.Email)} {
		if _, _, err := e.svc.Begin(ctx, e.conn.Slug, "/", true); !errors.Is(err, ErrTestNotAllowed) {
			t.Errorf("test sign-in started by a non-admin: %v", err)
		}
	}
	l := e.begin("/admin/sso", true)
	e.clock.Advance(time.Minute)
	res, err := e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Test || res.ReturnTo != "/admin/sso" {
		t.Errorf("result = %+v", res)
	}
	c, _ := e.st.GetIdPConnection(e.ctx, e.conn.ID)
	if !c.TestedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("TestedAt = %v", c.TestedAt)
	}
	// The test is the admin's own action; the IdP's user gets no account,
	// link or groups.
	admin, _ := e.st.GetAccount(e.ctx, reqctx.From(e.adminCtx()).ActorID)
	if evs := e.events(e.orgA, "sso.test"); len(evs) != 1 || evs[0].ActorID != admin.ID || evs[0].Details["idp_email"] != alice.email ||
		evs[0].Details["idp_subject"] != alice.oid {
		t.Errorf("sso.test events = %+v", evs)
	}
	if evs := e.events(e.orgA, "sso.login"); len(evs) != 0 {
		t.Errorf("a test sign-in audited as a sign-in: %+v", evs)
	}
	if _, err := e.st.GetAccountByEmail(e.ctx, alice.email); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the test created an account for the IdP user: %v", err)
	}
	if !res.JIT || res.Account.ID != "" || res.Subject != alice.oid || res.Tester.ID != admin.ID {
		t.Errorf("test result = %+v", res)
	}
	// A failed test sign-in does not count.
	e.update(func(c *storage.IdPConnection) { c.TestedAt = time.Time{} })
	l = e.begin("/admin/sso", true)
	e.rejected(saml.ReasonAudienceMismatch, func() (Result, error) {
		return e.complete(e.response(alice, l.requestID, func(o *samltest.Options) { o.Audience = "https://wrong.example/" }), l.relay, l.secret)
	})
}

func testBadInput(t *testing.T, e *env) {
	for _, c := range []struct{ name, resp, reason string }{
		{"empty", "", saml.ReasonMalformed},
		{"not base64", "%%%", saml.ReasonMalformed},
		{"not XML", samltest.Encode([]byte("hello")), saml.ReasonMalformed},
		{"DTD", samltest.Encode([]byte(`<!DOCTYPE r [<!ENTITY x "_abc">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="&x;"/>`)), saml.ReasonDoctypeForbidden},
		{"wrong root", samltest.Encode([]byte(`<Response InResponseTo="_abc"/>`)), saml.ReasonMalformed},
		{"hostile request ID", samltest.Encode([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="x' OR 1=1"/>`)), saml.ReasonInResponseToMismatch},
		{"too large", strings.Repeat("A", saml.DefaultMaxBodyBytes+4), saml.ReasonTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.rejected(c.reason, func() (Result, error) { return e.complete(c.resp, "", "secret") })
		})
	}
	e.t = t
	// An unsigned response to a real request.
	l := e.begin("/", false)
	unsigned := samltest.BuildResponse(samltest.Options{Issuer: idpEntity, Audience: e.idps.SPEntityID(e.conn), ACSURL: e.idps.ACSURL(e.conn),
		InResponseTo: l.requestID, NameID: alice.email, Attributes: alice.attributes(), IssueInstant: t0})
	xml, _ := samltest.Serialize(unsigned)
	e.rejected(saml.ReasonUnsigned, func() (Result, error) { return e.complete(samltest.Encode(xml), l.relay, l.secret) })

	// Unknown connection: refused and audited outside any organization.
	_, err := e.svc.Complete(e.ctx, "no-such-idp", e.response(alice, "", nil), "", "")
	var r *Rejection
	if !errors.As(err, &r) || r.Reason != ReasonUnknownConnection {
		t.Fatalf("unknown connection: %v", err)
	}
	if evs := e.events("", "sso.rejected"); len(evs) == 0 || evs[len(evs)-1].Reason != ReasonUnknownConnection {
		t.Errorf("unknown connection not audited: %+v", evs)
	}
	// The code is the request ID when there is one.
	ctx := reqctx.With(e.ctx, reqctx.Info{RequestID: "req-123", IP: "192.0.2.7"})
	_, err = e.svc.Complete(ctx, e.conn.Slug, "", "", "")
	if !errors.As(err, &r) || r.Code != "req-123" {
		t.Errorf("code = %+v", r)
	}
	if evs := e.events(e.orgA, "sso.rejected"); evs[len(evs)-1].IP != "192.0.2.7" || evs[len(evs)-1].RequestID != "req-123" {
		t.Errorf("request context not audited: %+v", evs[len(evs)-1])
	}
	if _, _, err := e.svc.Begin(e.ctx, "no-such-idp", "/", false); !errors.Is(err, ErrUnknownConnection) {
		t.Errorf("Begin on an unknown slug: %v", err)
	}
}

func testSignedRequests(t *testing.T, e *env) {
	l := e.begin("/", false)
	u, _ := url.Parse(l.redirect)
	if u.Query().Has("Signature") || l.relay != l.requestID || !strings.HasPrefix(l.redirect, idpSSO+"?SAMLRequest=") {
		t.Errorf("unsigned redirect = %s", l.redirect)
	}
	e.update(func(c *storage.IdPConnection) { c.SignRequests = true })
	l = e.begin("https://gatehouse.test/apps/wiki?a=b&c=d", false)
	u, _ = url.Parse(l.redirect)
	if u.Query().Get("SigAlg") != saml.SigAlgRSASHA256 || u.Query().Get("Signature") == "" {
		t.Errorf("signed redirect = %s", l.redirect)
	}
	if strings.Contains(l.redirect, "apps") {
		t.Errorf("the return URL leaked into the redirect: %s", l.redirect)
	}
	res, err := e.complete(e.response(alice, l.requestID, nil), l.relay, l.secret)
	if err != nil || res.ReturnTo != "https://gatehouse.test/apps/wiki?a=b&c=d" {
		t.Errorf("return URL round trip: %+v, %v", res, err)
	}
}

func TestTwoTabsAndPurge(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		first := e.begin("/one", false)
		u, secret, err := e.svc.BeginInBrowser(e.ctx, e.conn.Slug, "/two", false, first.secret)
		if err != nil || secret != first.secret {
			t.Fatalf("second tab: secret reused %v, %v", secret == first.secret, err)
		}
		id2, _ := requestID(t, u)
		for _, c := range []struct{ id, want string }{{first.requestID, "/one"}, {id2, "/two"}} {
			res, err := e.complete(e.response(alice, c.id, nil), "", secret)
			if err != nil || res.ReturnTo != c.want {
				t.Errorf("tab %s: %+v, %v", c.want, res.ReturnTo, err)
			}
		}
		if _, s2, _ := e.svc.BeginInBrowser(e.ctx, e.conn.Slug, "/", false, "forged"); s2 == "forged" || !wellFormedSecret(s2) {
			t.Errorf("a malformed existing secret was kept: %q", s2)
		}
		// Past every expiry, the purge removes requests and replay entries.
		e.clock.Advance(2 * time.Hour)
		n, err := e.svc.PurgeExpired(e.ctx)
		if err != nil || n != 5 { // 3 requests + 2 assertions
			t.Errorf("PurgeExpired = %d, %v", n, err)
		}
	})
}
