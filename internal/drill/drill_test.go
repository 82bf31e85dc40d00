package drill

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The people of the drill. Passwords pass the account service's rules.
const (
	corpDomain = "corp.example"

	// The owner is on the break-glass policy (SSO off): a password.
	ownerEmail    = "olivia@corp.example"
	ownerPassword = "violet-harbor-lantern-42"
	// Olivia's identity at the IdP, for the console's test sign-in.
	ownerIdPPassword = "olivia at the idp 1"

	// Alice and Bob sign in through SSO only (the default policy).
	aliceEmail    = "alice@corp.example"
	alicePassword = "alice at the idp 1"
	bobEmail      = "bob@corp.example"
	bobPassword   = "bob at the idp 1"

	connSlug = "dev-idp"
)

// idpUsers are the people the development IdP knows.
var idpUsers = []devidp.User{
	{Email: ownerEmail, Password: ownerIdPPassword, GivenName: "Olivia", Surname: "Owner", Groups: []string{"it"}},
	{Email: aliceEmail, Password: alicePassword, GivenName: "Alice", Surname: "Example", Groups: []string{"staff"}},
	{Email: bobEmail, Password: bobPassword, GivenName: "Bob", Surname: "Example", Groups: []string{"staff"}},
}

// drill is what the steps share: the harness, the organization set up as
// an admin would, and each person's browser, which keeps its cookies (and
// so its session) from step to step.
type drill struct {
	*Harness
	org        storage.Organization
	owner      storage.Account
	conn       storage.IdPConnection
	def, glass storage.Policy

	ownerBrowser, alice, bob *Browser
	// idpRequestsAtStop is the IdP's request count when it was stopped.
	idpRequestsAtStop int64
}

// step is one thing that happens in the drill, and what people notice.
type step struct {
	name string
	run  func(t *testing.T, d *drill)
}

// steps is the drill, in order; each step starts where the previous one
// left off. Later work adds its steps at the marked places (the whole
// sequence the issue asks for is in doc.go):
//
//   - BEFORE THE OUTAGE, while SSO works: the break-glass owner enrols
//     TOTP; alice registers an emergency passkey; a person is suspended;
//     a person created long ago never signs in through SSO; a policy opts
//     in to automatic failback.
//   - DURING THE OUTAGE, after the incident opened: the owner's sign-in
//     asks for TOTP too; an emergency is declared; alice signs in with her
//     passkey; bob sets a password through the reset mail and signs in;
//     the suspended and the ineligible person cannot by any path.
//   - AFTER: the emergency ends, bob's password is refused and routed to
//     SSO; automatic failback starts with the incident and ends with it.
func steps() []step {
	return []step{
		{"the organization is set up with SSO enforced", setUpOrganization},
		{"alice signs in through SSO", aliceSignsInThroughSSO},
		{"validating sessions never contacts the IdP", sessionsDoNotContactTheIdP},
		// ↑ Steps before the outage go here.
		{"the IdP goes down", theIdPGoesDown},
		{"alice keeps working", aliceKeepsWorking},
		{"bob's new SSO sign-in fails at the IdP and is counted as abandoned", bobsSignInIsAbandoned},
		{"the health probe opens an incident that admins see", incidentOpens},
		{"the owner signs in with her password", ownerSignsInWithPassword},
		// ↑ Steps during the outage go here.
		{"alice is still signed in after two hours", aliceStillWorksLater},
		{"the IdP comes back: SSO works and the incident closes", theIdPComesBack},
		// ↑ Steps after the outage go here.
	}
}

// TestOutageDrill runs the drill on SQLite and on PostgreSQL.
func TestOutageDrill(t *testing.T) {
	forEachBackend(t, idpUsers, func(t *testing.T, h *Harness) {
		d := &drill{Harness: h}
		for i, s := range steps() {
			t.Logf("step %d: %s", i+1, s.name)
			s.run(t, d)
			if t.Failed() {
				t.Fatalf("the drill stops at step %d (%s): the later steps build on it", i+1, s.name)
			}
		}
	})
}

// setUpOrganization does what an admin does before switching SSO on, with
// the operator's CLI authority: the organization and its owner, the
// verified domain (TXT record on the DNS server), the IdP connection from
// its metadata URL, a break-glass policy with SSO off for the owner, a
// test sign-in through the console, and SSO enforced on the default
// policy.
func setUpOrganization(t *testing.T, d *drill) {
	ctx := d.Admin
	a := d.App
	var err error
	if d.org, err = a.Accounts.CreateOrganization(ctx, "Corp", "corp"); err != nil {
		t.Fatal(err)
	}
	if d.owner, err = a.Accounts.AddMember(ctx, d.org.ID, account.MemberInput{
		Email: ownerEmail, DisplayName: "Olivia Owner", Role: storage.RoleOwner, Password: ownerPassword,
	}); err != nil {
		t.Fatal(err)
	}
	dom, err := a.Domains.Add(ctx, d.org.ID, corpDomain)
	if err != nil {
		t.Fatal(err)
	}
	d.DNS.Set(a.Domains.RecordName(dom), a.Domains.TXTRecord(dom))
	if dom, err = a.Domains.Verify(ctx, d.org.ID, dom.ID); err != nil || dom.VerifiedAt.IsZero() {
		t.Fatalf("verify %s: %+v, %v", corpDomain, dom, err)
	}
	if d.conn, err = a.IdPs.Create(ctx, d.org.ID, idp.CreateInput{Name: "Dev IdP", Slug: connSlug, MetadataURL: d.IdP.MetadataURL()}); err != nil {
		t.Fatalf("connect the IdP: %v", err)
	}
	if d.glass, err = a.Policies.Create(ctx, d.org.ID, "Break glass", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.Policies.SetMember(ctx, d.org.ID, ownerEmail, d.glass.Name); err != nil {
		t.Fatal(err)
	}
	if d.def, err = a.Policies.EnsureDefault(ctx, d.org.ID); err != nil {
		t.Fatal(err)
	}

	// The owner completes a test sign-in in the console, with her own
	// identity at the IdP, as enforcing SSO requires.
	d.ownerBrowser = d.Browser()
	d.ownerBrowser.SignInPassword(ownerEmail, ownerPassword)
	p := d.ownerBrowser.Post("/saml/"+connSlug+"/test", nil)
	if p.Status != http.StatusOK || p.Refresh() == "" {
		t.Fatalf("test sign-in: %d\n%s", p.Status, p.Text())
	}
	expect(t, d.ownerBrowser.AtIdP(p.Refresh(), ownerEmail, ownerIdPPassword), http.StatusOK, "Test sign-in succeeded")

	enforced, slug := storage.SSOEnforced, connSlug
	if d.def, err = a.Policies.Update(ctx, d.org.ID, d.def.ID, policy.UpdateInput{SSO: &enforced, Connection: &slug}); err != nil {
		t.Fatalf("enforce SSO on the default policy: %v", err)
	}
	expect(t, d.ownerBrowser.Get("/admin/sso/"+connSlug), http.StatusOK, "Dev IdP", "Tested")
}

// aliceSignsInThroughSSO: alice, who has no account yet, signs in through
// the IdP (her account is created just in time) and reaches /account.
func aliceSignsInThroughSSO(t *testing.T, d *drill) {
	d.alice = d.Browser()
	p := d.alice.SignInSSO(aliceEmail, alicePassword)
	expect(t, d.alice.Get(p.Location()), http.StatusOK)
	expect(t, d.alice.Get("/account"), http.StatusOK, aliceEmail, "Single sign-on (Dev IdP)")
}

// sessionsDoNotContactTheIdP: while the IdP is up, validating alice's
// session (each page she opens) makes no request to it, so an outage
// cannot affect sessions.
func sessionsDoNotContactTheIdP(t *testing.T, d *drill) {
	before := d.IdP.Requests()
	for range 5 {
		d.alice.SignedIn(aliceEmail)
		d.Advance(10 * time.Minute)
	}
	if n := d.IdP.Requests() - before; n != 0 {
		t.Fatalf("validating alice's session made %d requests to the IdP", n)
	}
}

// theIdPGoesDown: the IdP stops answering; its port refuses connections.
func theIdPGoesDown(t *testing.T, d *drill) {
	d.IdP.Stop()
	d.idpRequestsAtStop = d.IdP.Requests()
	if _, err := d.Browser().TryGet(d.IdP.MetadataURL()); !refused(err) {
		t.Fatalf("the stopped IdP still answers: %v", err)
	}
}

// aliceKeepsWorking: alice's session validates throughout, also as time
// passes within the idle timeout.
func aliceKeepsWorking(t *testing.T, d *drill) {
	d.alice.SignedIn(aliceEmail)
	d.Advance(30 * time.Minute)
	d.alice.SignedIn(aliceEmail)
}

// bobsSignInIsAbandoned: bob starts an SSO sign-in; Gatehouse sends him to
// the IdP and his browser fails there. Gatehouse never hears back, and
// once the request has expired (10 minutes) counts the sign-in as
// abandoned, which Prometheus shows.
func bobsSignInIsAbandoned(t *testing.T, d *drill) {
	series := `connection="` + connSlug + `"`
	startedBefore := d.Metric("gatehouse_sso_signins_started_total", series)
	abandonedBefore := d.Metric("gatehouse_sso_signins_abandoned_total", series)

	d.bob = d.Browser()
	idpURL := d.bob.StartSSO(bobEmail)
	if _, err := d.bob.TryGet(idpURL); !refused(err) {
		t.Fatalf("bob's browser at the IdP: %v, want connection refused", err)
	}
	if got := d.Metric("gatehouse_sso_signins_started_total", series); got != startedBefore+1 {
		t.Errorf("started SSO sign-ins: %v, want %v", got, startedBefore+1)
	}

	// Not yet abandoned: the IdP has ten minutes to answer.
	d.Advance(5 * time.Minute)
	d.HealthPass()
	if got := d.Metric("gatehouse_sso_signins_abandoned_total", series); got != abandonedBefore {
		t.Errorf("abandoned after 5 minutes: %v, want %v", got, abandonedBefore)
	}
	d.Advance(6 * time.Minute)
	d.HealthPass()
	if got := d.Metric("gatehouse_sso_signins_abandoned_total", series); got != abandonedBefore+1 {
		t.Errorf("abandoned after 11 minutes: %v, want %v", got, abandonedBefore+1)
	}
	if d.bob.SessionCookie() != "" {
		t.Error("bob got a session")
	}
}

// incidentOpens: the health loop's probe of the IdP fails on every pass;
// after health.unreachable_after (3) failures in a row an incident opens.
// The console's connection page and the public status page show it, and
// the admins (the owner) are mailed.
func incidentOpens(t *testing.T, d *drill) {
	for range 3 {
		d.Advance(time.Minute)
		d.HealthPass()
	}
	inc, err := d.App.Store.GetOpenSSOIncident(context.Background(), d.conn.ID)
	if err != nil {
		t.Fatalf("no incident open after three failed probes: %v", err)
	}
	if inc.Cause != "unreachable" {
		t.Errorf("incident cause %q, want unreachable", inc.Cause)
	}
	expect(t, d.ownerBrowser.Get("/admin/sso/"+connSlug), http.StatusOK, "Incident")
	status := d.Browser().Get("/status/" + d.org.Slug)
	expect(t, status, http.StatusOK, "Dev IdP", "Down", "Ongoing")
	if strings.Contains(status.Text(), "@") {
		t.Errorf("the public status page names a person:\n%s", status.Text())
	}
	if m := d.MailsTo(ownerEmail, "SSO problem: sign-in through Dev IdP is failing"); len(m) != 1 {
		t.Errorf("the owner got %d incident mails, want 1", len(m))
	}
	if n := d.IdP.Requests(); n != d.idpRequestsAtStop {
		t.Errorf("the stopped IdP answered %d requests", n-d.idpRequestsAtStop)
	}
}

// ownerSignsInWithPassword: the break-glass owner signs in again with her
// password, in a new browser, while the IdP is down, and reaches the
// console.
func ownerSignsInWithPassword(t *testing.T, d *drill) {
	b := d.Browser()
	b.SignInPassword(ownerEmail, ownerPassword)
	b.SignedIn(ownerEmail)
	expect(t, b.Get("/admin"), http.StatusOK)
	d.ownerBrowser.SignedIn(ownerEmail)
}

// aliceStillWorksLater: two hours into the outage (within the 8-hour idle
// timeout, having been active) alice's session still validates.
func aliceStillWorksLater(t *testing.T, d *drill) {
	for range 4 {
		d.Advance(30 * time.Minute)
		d.alice.SignedIn(aliceEmail)
	}
}

// theIdPComesBack: the IdP answers again with the same key; bob's new SSO
// sign-in works, the probes succeed, and once the failure has been clear
// for a whole health window (15 minutes) the incident closes and admins
// are mailed that it is over.
func theIdPComesBack(t *testing.T, d *drill) {
	d.IdP.Restart()
	d.bob.SignInSSO(bobEmail, bobPassword)
	d.bob.SignedIn(bobEmail)
	d.alice.SignedIn(aliceEmail)
	for range 16 {
		d.Advance(time.Minute)
		d.HealthPass()
	}
	if inc, err := d.App.Store.GetOpenSSOIncident(context.Background(), d.conn.ID); err == nil {
		t.Fatalf("the incident is still open after the IdP came back: %+v", inc)
	}
	expect(t, d.Browser().Get("/status/"+d.org.Slug), http.StatusOK, "Operational")
	if m := d.MailsTo(ownerEmail, "SSO problem over"); len(m) != 1 {
		t.Errorf("the owner got %d all-clear mails, want 1", len(m))
	}
}
