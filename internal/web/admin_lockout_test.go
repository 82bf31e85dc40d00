package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// lockoutOrg is the organization of the reported lockout: the owner's
// domain has a verification pending, a tested connection, the default
// policy enforcing SSO through it, and a break-glass policy with SSO off
// that keeps the owner on their password.
type lockoutOrg struct {
	org      storage.Organization
	owner    storage.Account
	c        *client
	def, bg  storage.Policy
	domainID string
}

func newLockoutOrg(t *testing.T) (*env, *lockoutOrg) {
	dns, err := devdns.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	e := newEnv(t, func(o *envOptions) { o.dnsResolver = dns.Addr() })
	ctx := authz.AsCLI(context.Background(), "test") // the fixture is the operator's
	org, owner, c := e.signedInOwner()
	lo := &lockoutOrg{org: org, owner: owner, c: c}
	conn := storage.IdPConnection{ID: uuid.NewString(), OrgID: org.ID, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: e.clock.Now(),
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(), Version: 1}
	if err := e.store.CreateIdPConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	d, err := e.domains.Add(ctx, org.ID, "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	dns.Set("acme.example", e.domains.TXTRecord(d))
	lo.domainID = d.ID
	if lo.bg, err = e.policies.Create(ctx, org.ID, "Break glass", storage.SSOOff, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.policies.SetMember(ctx, org.ID, owner.Email, lo.bg.ID); err != nil {
		t.Fatal(err)
	}
	e.factors.MakeBreakGlass(t, e.store, org.ID, lo.bg.ID, owner.ID) // MFA required, a factor enrolled
	enforced, slug := storage.SSOEnforced, conn.Slug
	if lo.def, err = e.policies.EnsureDefault(ctx, org.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.policies.Update(ctx, org.ID, lo.def.ID, policy.UpdateInput{SSO: &enforced, Connection: &slug}); err != nil {
		t.Fatal(err)
	}
	return e, lo
}

// safe evaluates the stored configuration.
func (e *env) safe(orgID string) bool {
	e.t.Helper()
	cfg, err := lockout.Load(context.Background(), e.store, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return lockout.Evaluate(cfg).Safe
}

// The reported sequence: with the domain verified and the default policy
// enforcing SSO, the sole owner takes themself out of the break-glass
// policy. The console refuses before saving, says who would be locked out
// and how to avoid it, and offers a reason box; with a reason the change
// is made and audited as forced.
func TestConsoleRefusesRemovingTheOwnerFromBreakGlass(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test") // the fixture is the operator's
	if _, err := e.domains.Verify(ctx, lo.org.ID, lo.domainID); err != nil {
		t.Fatalf("verify while the owner is in break-glass: %v", err)
	}
	before := e.auditCount()
	remove := "/admin/policies/" + lo.bg.ID + "/members/remove"
	r := lo.c.post(remove, url.Values{"email": {ownerEmail}})
	expect(t, r, http.StatusConflict, "This change would lock every owner out", ownerEmail+" (owner",
		"add yourself to a policy with SSO off", "keep the default policy optional", "Reason", "Save anyway")
	if !strings.Contains(r.body, `name="email" value="`+ownerEmail+`"`) || !strings.Contains(r.body, `action="`+remove+`"`) {
		t.Errorf("the confirmation does not resend the same change:\n%s", r.body)
	}
	if ids, _ := e.policies.Members(ctx, lo.org.ID, lo.bg.ID); len(ids) != 1 || e.auditCount() != before || !e.safe(lo.org.ID) {
		t.Fatalf("the refused change was saved: members %v, audit %d → %d", ids, before, e.auditCount())
	}
	// A blank reason is no reason.
	expect(t, lo.c.post(remove, url.Values{"email": {ownerEmail}, "force_reason": {"   "}}), http.StatusConflict, "Save anyway")

	// Saving the default as enforced again changes nothing and is allowed.
	expectRedirect(t, lo.c.post("/admin/policies/"+lo.def.ID, url.Values{"sso": {"enforced"}, "connection": {"corp-idp"}}), "/admin/policies")

	// With a reason the change is made, and the audit event says so.
	expectRedirect(t, lo.c.post(remove, url.Values{"email": {ownerEmail}, "force_reason": {"moving to the new IdP, ticket 88"}}),
		"/admin/policies?notice=member-removed")
	ev := e.lastAudit(lo.org.ID)
	if ev.Action != "policy.member_set" || ev.Details["forced"] != "true" ||
		ev.Details["force_reason"] != "moving to the new IdP, ticket 88" || ev.Details["locked_out"] != ownerEmail {
		t.Fatalf("forced change audited as %s %v", ev.Action, ev.Details)
	}
	if e.safe(lo.org.ID) {
		t.Fatal("the forced change did not take effect")
	}
	// The overview says so.
	expect(t, lo.c.get("/admin"), http.StatusOK, "Sign-in without the IdP", "0 owners and admins can sign in with a password",
		"No owner can sign in without the IdP")
}

// The other order: the owner is already out of break-glass while the
// default is optional, and then saves the default as enforced.
func TestConsoleRefusesEnforcingTheDefaultOverTheOwner(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test") // the fixture is the operator's
	optional, slug := storage.SSOOptional, "corp-idp"
	if _, err := e.policies.Update(ctx, lo.org.ID, lo.def.ID, policy.UpdateInput{SSO: &optional, Connection: &slug}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.domains.Verify(ctx, lo.org.ID, lo.domainID); err != nil {
		t.Fatal(err)
	}
	if err := e.policies.SetMember(ctx, lo.org.ID, ownerEmail, ""); err != nil {
		t.Fatalf("leaving break-glass while the default is optional: %v", err)
	}
	form := url.Values{"sso": {"enforced"}, "connection": {slug}}
	expect(t, lo.c.post("/admin/policies/"+lo.def.ID, form), http.StatusConflict,
		"This change would lock every owner out", ownerEmail+" (owner", "keep the default policy optional")
	if p, _ := e.policies.Get(ctx, lo.org.ID, lo.def.ID); p.SSO != storage.SSOOptional {
		t.Fatalf("the refused change was saved: %s", p.SSO)
	}
	form.Set("force_reason", "IdP is stable; recover is our break-glass")
	expectRedirect(t, lo.c.post("/admin/policies/"+lo.def.ID, form), "/admin/policies")
	ev := e.lastAudit(lo.org.ID)
	if ev.Action != "policy.update" || ev.Details["forced"] != "true" || ev.Details["force_reason"] != "IdP is stable; recover is our break-glass" {
		t.Fatalf("forced change audited as %s %v", ev.Action, ev.Details)
	}
}

// Verifying the owner's own domain brings them under the enforced default
// policy: refused on the console with the explanation (the domain stays
// unverified), made with a reason.
func TestConsoleRefusesVerifyingTheOwnersDomain(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test") // the fixture is the operator's
	// SSO is enforced, so the only break-glass owner leaving break-glass
	// needs a force (lockout: the last break-glass owner); set-up here.
	if err := e.policies.SetMember(ctx, lo.org.ID, ownerEmail, "", lockout.Force{Reason: "test set-up"}); err != nil {
		t.Fatalf("leaving break-glass while the domain is unverified: %v", err)
	}
	verify := "/admin/domains/" + lo.domainID + "/verify"
	expect(t, lo.c.post(verify, nil), http.StatusConflict, "This change would lock every owner out", ownerEmail+" (owner")
	if d, _ := e.domains.Get(ctx, lo.org.ID, lo.domainID); !d.VerifiedAt.IsZero() {
		t.Fatal("the refused verification was saved")
	}
	expectRedirect(t, lo.c.post(verify, url.Values{"force_reason": {"SSO only from today"}}), "/admin/domains/"+lo.domainID)
	ev := e.lastAudit(lo.org.ID)
	if ev.Action != "domain.verify" || ev.Details["forced"] != "true" || ev.Details["force_reason"] != "SSO only from today" {
		t.Fatalf("forced verification audited as %s %v", ev.Action, ev.Details)
	}
	if d, _ := e.domains.Get(ctx, lo.org.ID, lo.domainID); d.VerifiedAt.IsZero() {
		t.Fatal("the forced verification was not saved")
	}
}

// The overview counts the owners and admins who can really sign in without
// the IdP, never members, and warns below two.
func TestOverviewCountsSignInWithoutTheIdP(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test") // the fixture is the operator's
	if _, err := e.domains.Verify(ctx, lo.org.ID, lo.domainID); err != nil {
		t.Fatal(err)
	}
	// A member under break-glass, and an admin under the enforced default:
	// neither counts.
	mel := e.addMember(lo.org.ID, "mel@acme.example", storage.RoleMember)
	if err := e.policies.SetMember(ctx, lo.org.ID, mel.Email, lo.bg.ID); err != nil {
		t.Fatal(err)
	}
	e.addMember(lo.org.ID, "ada@acme.example", storage.RoleAdmin)
	r := lo.c.get("/admin")
	expect(t, r, http.StatusOK, "1 owner or admin can sign in with a password", ownerEmail+" (owner", "Keep at least two")
	if body := text(r.body); strings.Contains(body, "mel@acme.example") || strings.Contains(body, "ada@acme.example (admin)") {
		t.Errorf("the overview counts someone who cannot sign in without the IdP:\n%s", body)
	}
	// The admin joins break-glass: two, no warning.
	if err := e.policies.SetMember(ctx, lo.org.ID, "ada@acme.example", lo.bg.ID); err != nil {
		t.Fatal(err)
	}
	r = lo.c.get("/admin")
	expect(t, r, http.StatusOK, "2 owners and admins can sign in with a password", "ada@acme.example (admin)")
	if strings.Contains(text(r.body), "Keep at least two") {
		t.Error("the overview warns with two people who can sign in without the IdP")
	}
}
