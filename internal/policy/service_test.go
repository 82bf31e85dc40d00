package policy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	ctx context.Context
	st  storage.Store
	svc *Service
	// factors are the second factors the lockout check sees.
	factors *lockouttest.Factors
}

func newEnv(t *testing.T, st storage.Store) *env {
	e := &env{t: t, ctx: authz.AsCLI(context.Background(), "test"), st: st, svc: New(st, nil, func() time.Time { return t0 }),
		factors: new(lockouttest.Factors)}
	e.factors.Wire(e.svc)
	return e
}

func (e *env) org(slug string) string {
	e.t.Helper()
	o := storage.Organization{ID: uuid.NewString(), Slug: slug, Name: slug, CreatedAt: t0}
	if err := e.st.CreateOrganization(e.ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

func (e *env) account(orgID, email string) storage.Account {
	e.t.Helper()
	a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: email, Role: storage.RoleMember,
		Status: storage.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := e.st.CreateAccount(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) verify(orgID, name string) {
	e.t.Helper()
	d := storage.Domain{ID: uuid.NewString(), OrgID: orgID, Name: name, VerificationToken: "tok", CreatedAt: t0}
	if err := e.st.CreateDomain(e.ctx, d); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.RecordDomainCheck(e.ctx, orgID, d.ID, t0, t0, ""); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) conn(orgID, slug string, tested bool) storage.IdPConnection {
	e.t.Helper()
	c := storage.IdPConnection{ID: uuid.NewString(), OrgID: orgID, Slug: slug, Name: "IdP " + slug,
		EntityID: "https://idp.example/" + slug, SSOURL: "https://idp.example/sso", JIT: true,
		CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if tested {
		c.TestedAt = t0
	}
	if err := e.st.CreateIdPConnection(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) events(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// route returns the account's decision for email, without the allow
// flags; page is what the sign-in pages show for it.
func (e *env) route(email string) Decision {
	e.t.Helper()
	return e.routing(email).Account.Public()
}

func (e *env) page(email string) Decision {
	e.t.Helper()
	return e.routing(email).Page
}

func (e *env) routing(email string) Routing {
	e.t.Helper()
	r, err := e.svc.Route(e.ctx, email)
	if err != nil {
		e.t.Fatalf("Route(%q): %v", email, err)
	}
	return r
}

func TestService(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		t.Run("default policy", func(t *testing.T) { testDefault(t, newEnv(t, st)) })
		t.Run("lockout prevention", func(t *testing.T) { testLockout(t, newEnv(t, st)) })
		t.Run("route", func(t *testing.T) { testRoute(t, newEnv(t, st)) })
		t.Run("members and isolation", func(t *testing.T) { testMembers(t, newEnv(t, st)) })
	})
}

func testDefault(t *testing.T, e *env) {
	org := e.org("dflt")
	p, err := e.svc.EnsureDefault(e.ctx, org)
	if err != nil || !p.IsDefault || p.SSO != storage.SSOOff || p.Name != DefaultName {
		t.Fatalf("EnsureDefault = %+v, %v", p, err)
	}
	again, err := e.svc.EnsureDefault(e.ctx, org)
	if err != nil || again.ID != p.ID {
		t.Fatalf("second EnsureDefault = %+v, %v; want the same policy", again, err)
	}
	if n := len(e.events(org, "policy.create")); n != 1 {
		t.Errorf("%d policy.create events, want 1", n)
	}
	if err := e.svc.Delete(e.ctx, org, DefaultName); !errors.Is(err, ErrDefaultPolicy) {
		t.Errorf("delete default: %v", err)
	}
	if _, err := e.svc.EnsureDefault(e.ctx, "no-such-org"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("EnsureDefault for a missing org: %v", err)
	}
	var inv *account.InvalidInputError
	if _, err := e.svc.Create(e.ctx, org, " ", storage.SSOOff, ""); !errors.As(err, &inv) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, org, "x", "always", ""); !errors.As(err, &inv) || inv.Field != "sso" {
		t.Errorf("bad sso: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, org, "x", storage.SSOOptional, ""); !errors.As(err, &inv) || inv.Field != "connection" {
		t.Errorf("sso without connection: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, org, "Contractors", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(e.ctx, org, "Contractors", storage.SSOOff, ""); !errors.Is(err, account.ErrExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if err := e.svc.Delete(e.ctx, org, "Contractors"); err != nil {
		t.Fatal(err)
	}
	if len(e.events(org, "policy.delete")) != 1 {
		t.Error("no policy.delete event")
	}
}

func testLockout(t *testing.T, e *env) {
	org := e.org("lock")
	e.factors.BreakGlassOwner(t, e.st, org) // this test is about the test sign-in rule
	untestedConn := e.conn(org, "lock-untested", false)
	testedConn := e.conn(org, "lock-tested", true)
	if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
		t.Fatal(err)
	}
	enforced, optional := storage.SSOEnforced, storage.SSOOptional

	// Creating enforced through an untested connection is refused.
	_, err := e.svc.Create(e.ctx, org, "Staff", enforced, untestedConn.Slug)
	if !errors.Is(err, ErrUntestedConnection) || err.Error() != "Run a test sign-in through IdP lock-untested before enforcing SSO." {
		t.Fatalf("create enforced/untested: %v", err)
	}
	var inv *account.InvalidInputError
	if !errors.As(err, &inv) {
		t.Error("lockout refusal is not an InvalidInputError")
	}
	// Optional is fine; enforcing it later is refused without Force.
	if _, err := e.svc.Create(e.ctx, org, "Staff", optional, untestedConn.Slug); err != nil {
		t.Fatal(err)
	}
	before := len(e.events(org, "policy.update"))
	if _, err := e.svc.Update(e.ctx, org, "Staff", UpdateInput{SSO: &enforced}); !errors.Is(err, ErrUntestedConnection) {
		t.Fatalf("enforce untested: %v", err)
	}
	if p, _ := e.svc.Get(e.ctx, org, "Staff"); p.SSO != optional {
		t.Errorf("refused update changed SSO to %s", p.SSO)
	}
	if len(e.events(org, "policy.update")) != before {
		t.Error("refused update was audited as a change")
	}
	// Force: allowed and audited as an override.
	p, err := e.svc.Update(e.ctx, org, "Staff", UpdateInput{SSO: &enforced, Force: true})
	if err != nil || p.SSO != enforced {
		t.Fatalf("forced enforce = %+v, %v", p, err)
	}
	evs := e.events(org, "policy.update")
	last := evs[len(evs)-1]
	if last.Details["override"] != "untested_connection" || last.Details["sso"] != enforced || last.TargetID != p.ID {
		t.Errorf("forced update audit = %+v", last)
	}
	// Switching the default to a tested connection needs no override.
	dflt := "Default"
	p, err = e.svc.Update(e.ctx, org, dflt, UpdateInput{SSO: &enforced, Connection: &testedConn.Slug})
	if err != nil || p.SSO != enforced || p.ConnectionID != testedConn.ID {
		t.Fatalf("enforce default through tested connection = %+v, %v", p, err)
	}
	evs = e.events(org, "policy.update")
	if _, ok := evs[len(evs)-1].Details["override"]; ok {
		t.Error("tested enforcement audited as an override")
	}
	// Pointing an enforced policy at an untested connection is refused too.
	if _, err := e.svc.Update(e.ctx, org, dflt, UpdateInput{Connection: &untestedConn.ID}); !errors.Is(err, ErrUntestedConnection) {
		t.Errorf("move enforced policy to untested connection: %v", err)
	}
	// Clearing the connection of an SSO policy is refused.
	empty, off := "", storage.SSOOff
	if _, err := e.svc.Update(e.ctx, org, dflt, UpdateInput{Connection: &empty}); !errors.As(err, &inv) {
		t.Errorf("clear connection of enforced policy: %v", err)
	}
	if p, err := e.svc.Update(e.ctx, org, dflt, UpdateInput{SSO: &off, Connection: &empty}); err != nil || p.ConnectionID != "" {
		t.Errorf("turn SSO off = %+v, %v", p, err)
	}
}

func testRoute(t *testing.T, e *env) {
	orgA, orgB := e.org("route-a"), e.org("route-b")
	e.factors.BreakGlassOwner(t, e.st, orgA) // enforcing SSO needs one
	e.verify(orgA, "a.example")
	e.verify(orgB, "b.example")
	connA := e.conn(orgA, "route-a-idp", true)
	if _, err := e.svc.EnsureDefault(e.ctx, orgA); err != nil {
		t.Fatal(err)
	}
	alice := e.account(orgA, "alice@a.example")
	empty, off := "", storage.SSOOff
	e.account(orgA, "carol@gmail.example") // an org-A account in a domain nobody verified
	e.account(orgA, "dave@b.example")      // an org-A account in org B's domain

	password := Decision{Method: MethodPassword, Reason: ReasonSSOOff}
	if d := e.route("Alice@A.example "); d != password {
		t.Errorf("SSO off: %+v", d)
	}
	enforced := storage.SSOEnforced
	if _, err := e.svc.Update(e.ctx, orgA, "Default", UpdateInput{SSO: &enforced, Connection: &connA.Slug}); err != nil {
		t.Fatal(err)
	}
	sso := Decision{Method: MethodSSO, ConnectionSlug: connA.Slug, Reason: ReasonSSOEnforced}
	if d := e.route("alice@a.example"); d != sso {
		t.Errorf("enforced: %+v", d)
	}
	if d := e.route("newcomer@a.example"); d != sso {
		t.Errorf("unknown email in managed domain (JIT): %+v", d)
	}
	unmanaged := Decision{Method: MethodPassword, Reason: ReasonUnmanagedDomain}
	for _, email := range []string{"carol@gmail.example", "nobody@gmail.example", "dave@b.example"} {
		if d := e.route(email); d != unmanaged {
			t.Errorf("%s: %+v, want the unmanaged answer", email, d)
		}
	}
	// Org B manages b.example but has no policy yet: password, never a
	// dead end.
	if d := e.route("stranger@b.example"); d != (Decision{Method: MethodPassword, Reason: ReasonNoPolicy}) {
		t.Errorf("managed domain without policy: %+v", d)
	}
	// A named policy with SSO optional for one member.
	if _, err := e.svc.Create(e.ctx, orgA, "Contractors", storage.SSOOptional, connA.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMember(e.ctx, orgA, "ALICE@a.example", "Contractors"); err != nil {
		t.Fatal(err)
	}
	if d := e.route("alice@a.example"); d.Method != MethodChoice || d.ConnectionSlug != connA.Slug {
		t.Errorf("optional member: %+v", d)
	}
	if err := e.svc.SetMember(e.ctx, orgA, "alice@a.example", ""); err != nil {
		t.Fatal(err)
	}
	if d := e.route("alice@a.example"); d != sso {
		t.Errorf("back to default: %+v", d)
	}
	if evs := e.events(orgA, "policy.member_set"); len(evs) != 2 || evs[0].TargetID != alice.ID || evs[0].Details["policy"] != "Contractors" {
		t.Errorf("member_set events = %+v", evs)
	}

	// A break-glass member (SSO off) in a domain where the default
	// enforces SSO: the page is the domain's, the same as for anyone, and
	// only the account's own decision lets the password through.
	if _, err := e.svc.CreateForced(e.ctx, orgA, "Break-glass", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMember(e.ctx, orgA, "alice@a.example", "Break-glass"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"alice@a.example", "newcomer@a.example"} {
		if p := e.page(email); p != sso {
			t.Errorf("%s: page %+v, want the domain's SSO page", email, p)
		}
	}
	if r := e.routing("alice@a.example"); !r.Account.AllowPassword || r.Account.AllowSSO {
		t.Errorf("break-glass account decision: %+v", r.Account)
	}
	if r := e.routing("newcomer@a.example"); r.Account.AllowPassword || !r.Account.AllowSSO {
		t.Errorf("unknown email under the enforced default: %+v", r.Account)
	}
	// The default off, a named policy enforcing SSO: the whole domain is
	// offered the SSO button beside the password.
	if _, err := e.svc.Update(e.ctx, orgA, "Default", UpdateInput{SSO: &off, Connection: &empty}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(e.ctx, orgA, "Contractors", UpdateInput{SSO: &enforced}); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"alice@a.example", "newcomer@a.example"} {
		if p := e.page(email); p.Method != MethodChoice || p.ConnectionSlug != connA.Slug {
			t.Errorf("%s: page %+v, want the choice page", email, p)
		}
	}
	var inv *account.InvalidInputError
	if _, err := e.svc.Route(e.ctx, "not an email"); !errors.As(err, &inv) {
		t.Errorf("bad email: %v", err)
	}
}

func testMembers(t *testing.T, e *env) {
	orgA, orgB := e.org("mem-a"), e.org("mem-b")
	connB := e.conn(orgB, "mem-b-idp", true)
	bob := e.account(orgB, "bob@b.example")
	if _, err := e.svc.Create(e.ctx, orgA, "Staff", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	// Org A cannot use org B's connection, account or policy.
	if _, err := e.svc.Create(e.ctx, orgA, "Stolen", storage.SSOOptional, connB.Slug); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another org's connection: %v", err)
	}
	if err := e.svc.SetMember(e.ctx, orgA, bob.Email, "Staff"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another org's account: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, orgB, "Only-B", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMember(e.ctx, orgA, "x@a.example", "Only-B"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	e.account(orgA, "ann@a.example")
	if err := e.svc.SetMember(e.ctx, orgA, "ann@a.example", "Only-B"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another org's policy: %v", err)
	}
	if err := e.svc.SetMember(e.ctx, orgA, "ann@a.example", "Staff"); err != nil {
		t.Fatal(err)
	}
	ids, err := e.svc.Members(e.ctx, orgA, "Staff")
	if err != nil || len(ids) != 1 {
		t.Errorf("members = %v, %v", ids, err)
	}
	ps, err := e.svc.List(e.ctx, orgA)
	if err != nil || len(ps) != 2 || !ps[0].IsDefault || ps[1].Name != "Staff" {
		t.Errorf("List = %+v, %v", ps, err)
	}
	if _, err := e.svc.Get(e.ctx, orgB, "Staff"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B sees org A's policy: %v", err)
	}
}

// "default" always names the default policy, so no named policy may take
// the name; and a forced creation records its override in one event.
func TestCreateReservesDefaultAndForcesInOneEvent(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		for _, name := range []string{"default", "Default", " DEFAULT "} {
			var inv *account.InvalidInputError
			if _, err := e.svc.Create(e.ctx, org, name, storage.SSOOff, ""); !errors.As(err, &inv) || inv.Field != "name" {
				t.Errorf("Create(%q) = %v, want refused on name", name, err)
			}
		}
		c := e.conn(org, "untested", false)
		e.factors.BreakGlassOwner(t, st, org) // enforcing SSO needs one; this test is about the override
		p, err := e.svc.CreateForced(e.ctx, org, "Engineering", storage.SSOEnforced, c.Slug)
		if err != nil || p.SSO != storage.SSOEnforced {
			t.Fatalf("CreateForced = %+v, %v", p, err)
		}
		evs := e.events(org, "policy.*")
		if len(evs) != 2 || evs[1].Action != "policy.create" || evs[1].Details["override"] != "untested_connection" {
			t.Fatalf("events = %+v; want the default's creation, then one policy.create with the override", evs)
		}
	})
}

// Policy names are path segments of the API and CLI arguments: the
// slug-like rule keeps "..", "a/b" and friends out, and people's names in.
func TestPolicyNameShape(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		for _, name := range []string{"Break glass", "eng-contractors", "ops_2", "v1.2", "Bücher", "東京"} {
			if _, err := e.svc.Create(e.ctx, org, name, storage.SSOOff, ""); err != nil {
				t.Errorf("Create(%q): %v", name, err)
			}
		}
		for _, name := range []string{"..", ".", "a/b", `a\b`, "%2F", "-rf", ".hidden", "a?b", "a#b", "_x", "tab\there"} {
			_, err := e.svc.Create(e.ctx, org, name, storage.SSOOff, "")
			var inv *account.InvalidInputError
			if !errors.As(err, &inv) || inv.Field != "name" {
				t.Errorf("Create(%q) = %v, want an invalid name", name, err)
			}
		}
	})
}
