package signin_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

const (
	password   = "correct horse battery staple"
	corpDomain = "corp.example"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type env struct {
	t        testing.TB
	ctx      context.Context
	st       storage.Store
	clock    *testenv.Clock
	engine   *signin.Engine
	policies *policy.Service
	sessions *session.Service
	metrics  *metrics.Metrics
	org      string
	conn     storage.IdPConnection

	// The real second factors, emergency mode and mail, wired as
	// internal/app wires them.
	accounts    *account.Service
	mfa         *mfa.Service
	passkeys    *mfa.Passkeys
	emergencies *emergency.Service
	outbox      string // mail.Outbox directory, read with mail.ReadOutbox
	// breakGlass are the second factors the policies' lockout check sees.
	breakGlass *lockouttest.Factors
}

// rpOrigin is the origin the passkey relying party trusts and the
// software authenticators' "browser" reports: passkeys need a domain name,
// and localhost is one.
const rpOrigin = "http://localhost:8443"

func newEnv(t testing.TB, st storage.Store) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), st: st, clock: testenv.NewClock(t0)}
	e.outbox = filepath.Join(t.TempDir(), "outbox")
	mailer := &mail.Outbox{Dir: e.outbox}
	e.accounts = account.New(st, mailer, account.Config{PublicURL: "http://gatehouse.test"}, nil, e.clock.Now)
	t.Cleanup(e.accounts.Wait)
	e.sessions = session.New(st, session.Config{}, nil, e.clock.Now)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	idps := idp.New(st, box, idp.Config{PublicURL: "http://gatehouse.test"}, nil, e.clock.Now)
	e.policies = policy.New(st, nil, e.clock.Now)
	e.breakGlass = new(lockouttest.Factors)
	e.breakGlass.Wire(e.accounts, idps, e.policies)
	e.metrics = metrics.New(prometheus.NewRegistry())
	e.mfa = mfa.NewService(st, box, "Gatehouse", nil, e.clock.Now)
	pkCfg, err := mfa.PasskeyConfigFromURL(rpOrigin, "Corp")
	must(t, err)
	e.passkeys, err = mfa.NewPasskeys(st, pkCfg, nil, e.clock.Now)
	must(t, err)
	e.emergencies = emergency.NewService(st, notify.New(st, mailer, nil), config.Default().Emergency, nil, e.clock.Now)
	e.policies.SetEmergencies(e.emergencies)
	e.emergencies.SetSessionCache(e.sessions.Forget)
	e.emergencies.SetPasskeyCounts(e.passkeys.Count)
	e.accounts.SetPasswordOrigin(e.emergencies.PasswordOrigin)
	e.accounts.SetResetGate(e.emergencies.ResetGate)
	e.policies.SetFactors(mfa.HasSecondFactor(e.mfa, e.passkeys))
	deps := signin.Deps{Store: st, Accounts: e.accounts, Policies: e.policies, Sessions: e.sessions,
		SSO: sso.New(st, idps, nil, e.clock.Now, sso.Options{}), Metrics: e.metrics, Now: e.clock.Now,
		Notify: notify.New(st, mailer, nil)}
	mfa.WireSignIn(&deps, e.mfa, e.passkeys)
	e.engine, err = signin.New(deps)
	if err != nil {
		t.Fatal(err)
	}

	// Corp verified corp.example and connected a tested IdP.
	e.org = uuid.NewString()
	must(t, st.CreateOrganization(e.ctx, storage.Organization{ID: e.org, Slug: "corp", Name: "Corp", CreatedAt: t0}))
	d := storage.Domain{ID: uuid.NewString(), OrgID: e.org, Name: corpDomain, VerificationToken: "tok", CreatedAt: t0}
	must(t, st.CreateDomain(e.ctx, d))
	must(t, st.RecordDomainCheck(e.ctx, e.org, d.ID, t0, t0, ""))
	e.conn = storage.IdPConnection{ID: uuid.NewString(), OrgID: e.org, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.corp.example", SSOURL: "https://idp.corp.example/sso", JIT: true,
		TestedAt: t0, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	must(t, st.CreateIdPConnection(e.ctx, e.conn))
	if _, err := e.policies.EnsureDefault(e.ctx, e.org); err != nil {
		t.Fatal(err)
	}
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// member creates an active account with the test password.
func (e *env) member(email string, role storage.Role) storage.Account {
	e.t.Helper()
	hash, err := account.HashPassword(password)
	must(e.t, err)
	a := storage.Account{ID: uuid.NewString(), OrgID: e.org, Email: email, Role: role, Status: storage.StatusActive,
		PasswordHash: hash, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	must(e.t, e.st.CreateAccount(e.ctx, a))
	return a
}

// setDefault sets the default policy's SSO mode (through the tested
// connection unless off).
func (e *env) setDefault(mode string) {
	e.t.Helper()
	in := policy.UpdateInput{SSO: &mode}
	if mode == storage.SSOEnforced {
		e.breakGlass.BreakGlassOwner(e.t, e.st, e.org) // enforcing needs one
	}
	if mode != storage.SSOOff {
		in.Connection = &e.conn.Slug
	} else {
		empty := ""
		in.Connection = &empty
	}
	if _, err := e.policies.Update(e.operator(), e.org, policy.DefaultName, in); err != nil {
		e.t.Fatal(err)
	}
}

// operator is the context configuration changes are made in: the CLI on
// the server (sign-ins themselves run with no actor, as a browser's do).
func (e *env) operator() context.Context { return authz.AsCLI(e.ctx, "test") }

func (e *env) count(method, result string) float64 {
	var m dto.Metric
	must(e.t, e.metrics.SignIns.WithLabelValues(method, result).Write(&m))
	return m.GetCounter().GetValue()
}

func browser() signin.Client {
	return signin.Client{IP: "192.0.2.10", UserAgent: "test"}
}

func TestEngineSQLite(t *testing.T) {
	runEngine(t, func(t *testing.T) storage.Store { return sqltest.NewSQLite(t) })
}

func TestEnginePostgres(t *testing.T) {
	testenv.PostgresDSN(t) // skips (or fails under GATEHOUSE_TEST_REQUIRE_ALL) without PostgreSQL
	runEngine(t, func(t *testing.T) storage.Store { return sqltest.NewPostgres(t) })
}

func runEngine(t *testing.T, newStore func(t *testing.T) storage.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"password sign-in end to end", testPasswordSignIn},
		{"steps out of order", testOutOfOrder},
		{"flow from another browser", testOtherBrowser},
		{"expired flow", testExpired},
		{"replayed flow", testReplayed},
		{"SSO enforced and a password posted", testEnforcedPassword},
		{"break-glass in an enforced domain", testBreakGlass},
		{"BeginSSO names the flow", testBeginSSO},
		{"suspended account", testSuspended},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, newStore(t))) })
	}
}

func testPasswordSignIn(t *testing.T, e *env) {
	ann := e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), " Ann@Corp.Example ", "/apps/wiki", false)
	if err != nil {
		t.Fatal(err)
	}
	if step.Step != signin.StepPassword || step.Email != ann.Email || step.OrgID != e.org || step.Browser == "" {
		t.Fatalf("Identify = %+v", step)
	}
	c := browser()
	c.Browser = step.Browser
	out, err := e.engine.Password(e.ctx, c, step.FlowID, password, "")
	if err != nil {
		t.Fatal(err)
	}
	if out.Account.ID != ann.ID || out.Token == "" || out.ReturnTo != "/apps/wiki" || strings.Join(out.Methods, ",") != "pwd" {
		t.Fatalf("Outcome = %+v", out)
	}
	v, err := e.sessions.Validate(e.ctx, out.Token)
	if err != nil || v.Account.ID != ann.ID || v.Session.Method != "password" {
		t.Fatalf("the issued session: %+v, %v", v.Session, err)
	}
	// The session says how and when: apps receive these as amr and auth_time.
	if m := v.Methods(); len(m) != 1 || m[0] != "pwd" || !v.AuthTime().Equal(t0) {
		t.Errorf("session amr %v auth_time %v, want [pwd] at %v", m, v.AuthTime(), t0)
	}
	if got := e.count("password", "success"); got != 1 {
		t.Errorf("password successes counted = %v", got)
	}
	// The flow is spent: the same step again is refused.
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); !isFlow(err, signin.FlowUsed) {
		t.Errorf("second use of the flow: %v", err)
	}
	// A second tab's flow in the same browser keeps the same secret.
	step2, err := e.engine.Identify(e.ctx, c, ann.Email, "/", false)
	if err != nil || step2.Browser != step.Browser || step2.FlowID == step.FlowID {
		t.Errorf("second flow = %+v, %v", step2, err)
	}
}

func isFlow(err error, reason string) bool {
	var fe *signin.FlowError
	return errors.As(err, &fe) && fe.Reason == reason
}

func testOutOfOrder(t *testing.T, e *env) {
	e.member("ann@"+corpDomain, storage.RoleMember)
	c := browser()
	// A made-up or malformed flow.
	for _, id := range []string{"", "nope", strings.Repeat("A", 43), "../../etc"} {
		if _, err := e.engine.Password(e.ctx, c, id, password, ""); !isFlow(err, signin.FlowUnknown) {
			t.Errorf("flow %q: %v", id, err)
		}
	}
	step, err := e.engine.Identify(e.ctx, c, "ann@"+corpDomain, "/", false)
	must(t, err)
	c.Browser = step.Browser
	out, err := e.engine.Password(e.ctx, c, step.FlowID, password, "")
	must(t, err)
	// After the session: neither SSO nor showing the step again.
	if _, _, err := e.engine.BeginSSO(e.ctx, c, step.FlowID, ""); !isFlow(err, signin.FlowUsed) {
		t.Errorf("BeginSSO after the session: %v", err)
	}
	if _, err := e.engine.Show(e.ctx, c, step.FlowID); !isFlow(err, signin.FlowUsed) {
		t.Errorf("Show after the session: %v", err)
	}
	if out.Token == "" {
		t.Fatal("no session")
	}
	// An authenticated flow that was never finished cannot take a
	// password again (stored that way on purpose), and a flow that never
	// reached the password step cannot either.
	f, err := e.st.GetLoginFlow(e.ctx, step.FlowID)
	must(t, err)
	f.ID, f.Step, f.UsedAt = strings.Repeat("B", 43), signin.StepAuthenticated, time.Time{}
	must(t, e.st.CreateLoginFlow(e.ctx, f))
	if _, err := e.engine.Password(e.ctx, c, f.ID, password, ""); !isFlow(err, signin.FlowInProgress) {
		t.Errorf("password on an authenticated flow: %v", err)
	}
	f.ID, f.Step = strings.Repeat("C", 43), "identify"
	must(t, e.st.CreateLoginFlow(e.ctx, f))
	if _, err := e.engine.Password(e.ctx, c, f.ID, password, ""); !isFlow(err, signin.FlowOutOfOrder) {
		t.Errorf("password on a flow at another step: %v", err)
	}
}

func testOtherBrowser(t *testing.T, e *env) {
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	// The flow ID leaked (it is in the page); the attacker's browser has
	// its own secret, or none.
	for _, secret := range []string{"", "forged", strings.Repeat("x", 43)} {
		c := browser()
		c.Browser = secret
		if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); !isFlow(err, signin.FlowOtherBrowser) {
			t.Errorf("browser secret %q: %v", secret, err)
		}
	}
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{Action: "login.flow_refused", Limit: 10})
	must(t, err)
	if len(evs) != 3 || evs[0].Reason != signin.FlowOtherBrowser {
		t.Errorf("refusals audited: %+v", evs)
	}
	// The real browser still finishes.
	c := browser()
	c.Browser = step.Browser
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err != nil {
		t.Errorf("the real browser: %v", err)
	}
}

func testExpired(t *testing.T, e *env) {
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	e.clock.Advance(signin.FlowTTL)
	c := browser()
	c.Browser = step.Browser
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); !isFlow(err, signin.FlowExpired) {
		t.Errorf("after %v: %v", signin.FlowTTL, err)
	}
	if n, err := e.engine.Purge(e.ctx); err != nil || n != 0 {
		t.Errorf("purge at the deadline = %d, %v (a flow is kept until strictly past it)", n, err)
	}
	e.clock.Advance(time.Second)
	if n, err := e.engine.Purge(e.ctx); err != nil || n != 1 {
		t.Errorf("purge after the deadline = %d, %v", n, err)
	}
}

func testReplayed(t *testing.T, e *env) {
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	c := browser()
	c.Browser = step.Browser
	// The same submit sent many times at once (a double click, a replay):
	// exactly one session.
	var wg sync.WaitGroup
	tokens := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			if out, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err == nil {
				tokens <- out.Token
			} else if !isFlow(err, signin.FlowUsed) && !isFlow(err, signin.FlowInProgress) {
				t.Errorf("concurrent submit: %v", err)
			}
		})
	}
	wg.Wait()
	close(tokens)
	if n := len(tokens); n != 1 {
		t.Errorf("%d sessions from one flow, want 1", n)
	}
}

func testEnforcedPassword(t *testing.T, e *env) {
	erin := e.member("erin@"+corpDomain, storage.RoleMember)
	e.setDefault(storage.SSOEnforced)
	step, err := e.engine.Identify(e.ctx, browser(), erin.Email, "/", false)
	must(t, err)
	if step.Step != signin.StepSSO || step.Page.Method != policy.MethodSSO {
		t.Fatalf("Identify under enforced SSO = %+v", step)
	}
	c := browser()
	c.Browser = step.Browser
	// The right password, posted directly into the SSO flow.
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("password under enforced SSO: %v", err)
	}
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.org, Action: "login.failure", Limit: 10})
	must(t, err)
	if len(evs) != 1 || evs[0].Reason != "sso_enforced" || evs[0].TargetID != erin.ID {
		t.Errorf("audited: %+v", evs)
	}
	if got := e.count("password", "failure"); got != 1 {
		t.Errorf("failures counted = %v", got)
	}
	// And an unknown address of the domain gets exactly the same.
	step2, err := e.engine.Identify(e.ctx, c, "nobody@"+corpDomain, "/", false)
	must(t, err)
	if step2.Step != step.Step || step2.Page != step.Page {
		t.Errorf("unknown email step %+v, known %+v", step2, step)
	}
	if _, err := e.engine.Password(e.ctx, c, step2.FlowID, password, ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("unknown email: %v", err)
	}
}

func testBreakGlass(t *testing.T, e *env) {
	owner := e.member("olivia@"+corpDomain, storage.RoleOwner)
	e.member("erin@"+corpDomain, storage.RoleMember)
	if _, err := e.policies.CreateForced(e.operator(), e.org, "Break-glass", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	must(t, e.policies.SetMember(e.operator(), e.org, owner.Email, "Break-glass"))
	e.setDefault(storage.SSOEnforced)

	// Typed normally, the owner's address gets the domain's SSO page,
	// like everyone's.
	a, err := e.engine.Identify(e.ctx, browser(), owner.Email, "/", false)
	must(t, err)
	b, err := e.engine.Identify(e.ctx, browser(), "erin@"+corpDomain, "/", false)
	must(t, err)
	if a.Step != b.Step || a.Page != b.Page || a.Step != signin.StepSSO {
		t.Fatalf("break-glass %+v, member %+v: the pages differ", a, b)
	}
	// "Use a password instead" gets both the password form; only the
	// break-glass owner's password signs in.
	for _, who := range []struct {
		email string
		ok    bool
	}{{owner.Email, true}, {"erin@" + corpDomain, false}} {
		step, err := e.engine.Identify(e.ctx, browser(), who.email, "/", true)
		must(t, err)
		if step.Step != signin.StepPassword || step.Page.Method != policy.MethodChoice {
			t.Fatalf("%s chose a password: %+v", who.email, step)
		}
		c := browser()
		c.Browser = step.Browser
		_, err = e.engine.Password(e.ctx, c, step.FlowID, password, "")
		if (err == nil) != who.ok {
			t.Errorf("%s: password sign-in error %v, want success=%v", who.email, err, who.ok)
		}
	}
}

func testBeginSSO(t *testing.T, e *env) {
	e.setDefault(storage.SSOOptional)
	step, err := e.engine.Identify(e.ctx, browser(), "new@"+corpDomain, "/apps/board", false)
	must(t, err)
	if step.Page.Method != policy.MethodChoice {
		t.Fatalf("optional default: %+v", step)
	}
	c := browser()
	c.Browser = step.Browser
	redirect, binding, err := e.engine.BeginSSO(e.ctx, c, step.FlowID, "")
	must(t, err)
	if !strings.HasPrefix(redirect, e.conn.SSOURL+"?SAMLRequest=") || binding == "" {
		t.Fatalf("BeginSSO = %q, %q", redirect, binding)
	}
	f, err := e.st.GetLoginFlow(e.ctx, step.FlowID)
	must(t, err)
	if f.Step != signin.StepSSO {
		t.Errorf("flow step after BeginSSO = %q", f.Step)
	}
	// Under SSO off for the whole org there is no SSO to begin.
	e.setDefault(storage.SSOOff)
	step, err = e.engine.Identify(e.ctx, c, "new@"+corpDomain, "/", false)
	must(t, err)
	if _, _, err := e.engine.BeginSSO(e.ctx, c, step.FlowID, ""); !errors.Is(err, signin.ErrNoSSO) {
		t.Errorf("BeginSSO without SSO: %v", err)
	}
}

func testSuspended(t *testing.T, e *env) {
	sam := e.member("sam@"+corpDomain, storage.RoleMember)
	_, err := e.st.UpdateAccount(e.ctx, sam.ID, func(a *storage.Account) error { a.Status = storage.StatusSuspended; return nil })
	must(t, err)
	step, err := e.engine.Identify(e.ctx, browser(), sam.Email, "/", false)
	must(t, err)
	c := browser()
	c.Browser = step.Browser
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("suspended account with its password: %v", err)
	}
}

// TestNewRefusesMissingWiring: a server without its policy or SSO wiring
// does not start (no fallback to passwords).
func TestNewRefusesMissingWiring(t *testing.T) {
	_, err := signin.New(signin.Deps{Store: sqltest.NewSQLite(t)})
	if err == nil {
		t.Fatal("New accepted an engine without its services")
	}
	for _, name := range []string{"Accounts", "Policies", "Sessions", "SSO", "Metrics", "TOTP", "EnrolTOTP", "ConfirmTOTP", "Notify"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error %q does not name %s", err, name)
		}
	}
}

// TestRefusedStepsAndNewFlowsAreBounded: one client address cannot grow
// the audit log or the flow table without end. Refused steps past its
// budget are still refused but no longer audited one by one, and new flows
// past its budget are throttled.
func TestRefusedStepsAndNewFlowsAreBounded(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	attacker := browser()
	attacker.Browser, attacker.IP = strings.Repeat("x", 43), "203.0.113.9"
	for range 80 {
		if _, err := e.engine.Password(e.ctx, attacker, step.FlowID, "guess", ""); !isFlow(err, signin.FlowOtherBrowser) {
			t.Fatalf("refused step: %v", err)
		}
	}
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{Action: "login.flow_refused", Limit: 1000})
	must(t, err)
	if len(evs) != 50 {
		t.Errorf("%d login.flow_refused events for 80 refused steps from one address, want the budget of 50", len(evs))
	}
	// The real browser is not affected.
	c := browser()
	c.Browser = step.Browser
	c.IP = "198.51.100.7"
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err != nil {
		t.Errorf("the real browser after the flood: %v", err)
	}

	var throttled *account.ThrottledError
	n := 0
	for ; n < 700; n++ {
		if _, err = e.engine.Identify(e.ctx, attacker, "x@"+corpDomain, "/", false); err != nil {
			break
		}
	}
	if !errors.As(err, &throttled) || n != 600 {
		t.Errorf("new flows from one address: %d stored, then %v; want 600, then throttled", n, err)
	}
}
