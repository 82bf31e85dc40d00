package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// An owner runs an emergency from the console: sees who could get in,
// starts it, sees it on every page and the sign-ins made under it, extends
// it, and ends it signing those sessions out.
func TestConsoleEmergency(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test")
	grace, err := e.accounts.AddMember(ctx, lo.org.ID, account.MemberInput{Email: "grace@acme.example", Role: storage.RoleMember})
	if err != nil {
		t.Fatal(err)
	}

	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "Emergency sign-in", "Start emergency mode",
		"Who can sign in during an emergency", lo.def.Name)
	if r := lo.c.get("/admin"); strings.Contains(r.body, "emergency-banner") {
		t.Fatal("banner shown without an emergency")
	}
	expect(t, lo.c.post("/admin/emergency", url.Values{"reason": {" "}, "for": {"4h0m0s"}, "scope": {"all"}}),
		http.StatusBadRequest, "Say why you are starting emergency mode.")
	expectRedirect(t, lo.c.post("/admin/emergency", url.Values{"reason": {"Corp IdP is down"}, "for": {"4h0m0s"}, "scope": {"all"}}),
		"/admin/emergency?notice=emergency-started")
	if ev := e.lastAudit(lo.org.ID); ev.Action != "emergency.start" || ev.ActorID != lo.owner.ID {
		t.Fatalf("audited %s by %s", ev.Action, ev.ActorID)
	}
	expect(t, lo.c.get("/admin"), http.StatusOK, "Emergency sign-in is on", "Corp IdP is down", "Manage or end it")
	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "Emergency mode is on", "Nobody has signed in through emergency mode yet", "End emergency mode")

	act, ok, err := e.emergencies.Active(ctx, lo.org.ID)
	if err != nil || !ok {
		t.Fatalf("Active = %v, %v", ok, err)
	}
	now := e.clock.Now()
	sess := storage.Session{ID: uuid.NewString(), TokenHash: uuid.NewString(), AccountID: grace.ID, OrgID: lo.org.ID, Method: "password",
		CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(8 * time.Hour), IP: "198.51.100.7",
		AMR: []string{"pwd", "emergency"}, EmergencyID: act.ID}
	if err := e.store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "grace@", "pwd, emergency", "198.51.100.7", "Signed in")

	expectRedirect(t, lo.c.post("/admin/emergency/"+act.ID+"/extend", url.Values{"for": {"2h0m0s"}}), "/admin/emergency?notice=emergency-extended")
	if got, _ := e.store.GetEmergency(ctx, lo.org.ID, act.ID); !got.EndsAt.Equal(act.EndsAt.Add(2 * time.Hour)) {
		t.Fatalf("extended to %v", got.EndsAt)
	}
	// Another organization's emergency is not found.
	if r := lo.c.post("/admin/emergency/"+uuid.NewString()+"/end", url.Values{}); r.status != http.StatusNotFound {
		t.Fatalf("unknown emergency: %d", r.status)
	}
	expectRedirect(t, lo.c.post("/admin/emergency/"+act.ID+"/end", url.Values{"sign_out": {"on"}}), "/admin/emergency?notice=emergency-ended")
	if x, _ := e.store.GetSession(ctx, sess.ID); x.RevokedAt.IsZero() {
		t.Fatal("the emergency session survived End with sign-out")
	}
	if ev := e.lastAudit(lo.org.ID); ev.Action != "emergency.end" || ev.Details["sessions_revoked"] != "1" {
		t.Fatalf("audited %s %v", ev.Action, ev.Details)
	}
	r := lo.c.get("/admin/emergency")
	expect(t, r, http.StatusOK, "Start emergency mode", "History", "Corp IdP is down", "Ended")
	if strings.Contains(r.body, "emergency-banner") {
		t.Fatal("banner still shown after the end")
	}
}

// Turning SSO enforcement off outside an emergency first shows who would
// gain a password way in and offers emergency mode instead.
func TestConsolePolicyExposure(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test")
	if _, err := e.accounts.AddMember(ctx, lo.org.ID, account.MemberInput{Email: "grace@acme.example", Role: storage.RoleMember,
		Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.AddMember(ctx, lo.org.ID, account.MemberInput{Email: "hopper@acme.example", Role: storage.RoleMember}); err != nil {
		t.Fatal(err)
	}
	path := "/admin/policies/" + lo.def.ID
	form := url.Values{"sso": {"optional"}, "connection": {"corp-idp"}}
	before := e.auditCount()
	r := lo.c.post(path, form)
	expect(t, r, http.StatusOK, "Stop enforcing SSO for", "grace@", "hopper@", "Start emergency mode instead", "Stop enforcing SSO")
	if p, _ := e.policies.Get(ctx, lo.org.ID, lo.def.ID); p.SSO != storage.SSOEnforced || e.auditCount() != before {
		t.Fatal("the policy changed before the confirmation")
	}
	if !strings.Contains(r.body, `name="confirm_exposure" value="yes"`) {
		t.Fatal("the confirmation does not resend the change")
	}
	// Emergency mode instead, scoped to the policy.
	expectRedirect(t, lo.c.post("/admin/emergency", url.Values{"reason": {"IdP down"}, "for": {"4h0m0s"}, "scope": {"policies"}, "policy": {lo.def.ID}}),
		"/admin/emergency?notice=emergency-started")
	em, ok, _ := e.emergencies.Active(ctx, lo.org.ID)
	if !ok || !em.Scoped || len(em.PolicyIDs) != 1 || em.PolicyIDs[0] != lo.def.ID {
		t.Fatalf("emergency %+v", em)
	}
	if _, err := e.emergencies.End(ctx, lo.org.ID, em.ID, emergencyEnd()); err != nil {
		t.Fatal(err)
	}
	// Or the change, confirmed.
	form.Set("confirm_exposure", "yes")
	expectRedirect(t, lo.c.post(path, form), "/admin/policies")
	if p, _ := e.policies.Get(ctx, lo.org.ID, lo.def.ID); p.SSO != storage.SSOOptional {
		t.Fatalf("policy SSO %q after confirming", p.SSO)
	}
}

func emergencyEnd() emergency.EndInput { return emergency.EndInput{} }

// An owner starts an emergency choosing to sign its sessions out at its
// end, changes that choice on the page, and when it runs out the sessions
// made during it are ended.
func TestConsoleEmergencySignOutAtEnd(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test")
	grace, err := e.accounts.AddMember(ctx, lo.org.ID, account.MemberInput{Email: "grace@acme.example", Role: storage.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "When it ends, sign out everyone who signed in during it")
	expectRedirect(t, lo.c.post("/admin/emergency", url.Values{"reason": {"Corp IdP is down"}, "for": {"4h0m0s"}, "scope": {"all"},
		"sign_out_at_end": {"on"}}), "/admin/emergency?notice=emergency-started")
	act, ok, err := e.emergencies.Active(ctx, lo.org.ID)
	if err != nil || !ok || !act.SignOutAtEnd {
		t.Fatalf("Active = %+v, %v, %v", act, ok, err)
	}
	r := lo.c.get("/admin/emergency")
	expect(t, r, http.StatusOK, "When it ends, everyone who signed in during it is signed out", "Let their sessions run to their own expiry instead")
	if !strings.Contains(r.body, `name="sign_out" checked`) {
		t.Fatal("the end form does not reflect the stored choice")
	}

	expectRedirect(t, lo.c.post("/admin/emergency/"+act.ID+"/extend", url.Values{"sign_out_at_end": {"off"}}),
		"/admin/emergency?notice=emergency-keep-at-end")
	if got, _ := e.store.GetEmergency(ctx, lo.org.ID, act.ID); got.SignOutAtEnd || !got.EndsAt.Equal(act.EndsAt) {
		t.Fatalf("after turning it off: %+v", got)
	}
	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "Sign them all out when it ends instead")
	expectRedirect(t, lo.c.post("/admin/emergency/"+act.ID+"/extend", url.Values{"sign_out_at_end": {"on"}}),
		"/admin/emergency?notice=emergency-sign-out-at-end")
	if ev := e.lastAudit(lo.org.ID); ev.Action != "emergency.extend" || ev.Details["sign_out_at_end"] != "true" {
		t.Fatalf("audited %s %v", ev.Action, ev.Details)
	}

	now := e.clock.Now()
	sess := storage.Session{ID: uuid.NewString(), TokenHash: uuid.NewString(), AccountID: grace.ID, OrgID: lo.org.ID, Method: "password",
		CreatedAt: now, LastSeenAt: now, IdleTimeout: 8 * time.Hour, ExpiresAt: now.Add(8 * time.Hour), IP: "198.51.100.7",
		AMR: []string{"pwd", "emergency"}, EmergencyID: act.ID}
	if err := e.store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Hour)
	if n, err := e.emergencies.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if x, _ := e.store.GetSession(ctx, sess.ID); x.RevokedAt.IsZero() {
		t.Fatal("the emergency session outlived an emergency set to sign it out at its end")
	}
	expect(t, lo.c.get("/admin/emergency"), http.StatusOK, "Ran out")
}
