package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// The overview lists the break-glass admins with their second factor and
// says, in plain words, what is missing: none at all; then one owner
// without a factor (fewer than two, no owner proven, none enrolled); then
// two with factors, and the warnings are gone.
func TestOverviewListsBreakGlassAdmins(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		org, owner, c := e.signedInOwner()
		ctx := context.Background()

		r := c.get("/admin")
		expect(t, r, http.StatusOK, "Break-glass admins", "You have no break-glass admins.")

		bg := storage.Policy{ID: "bg-" + org.ID, OrgID: org.ID, Name: "Break glass", SSO: storage.SSOOff, MFA: storage.MFARequired,
			CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(), Version: 1}
		if err := st.CreatePolicy(ctx, bg); err != nil {
			t.Fatal(err)
		}
		if err := st.SetPolicyMember(ctx, org.ID, owner.ID, bg.ID); err != nil {
			t.Fatal(err)
		}
		r = c.get("/admin")
		expect(t, r, http.StatusOK, ownerEmail+" owner Break glass None enrolled",
			"You have only one break-glass admin.",
			"No break-glass owner has a second factor enrolled, so SSO cannot be enforced",
			"Ask them to enrol an authenticator app or passkey")

		e.factors.MarkEnrolled(owner.ID)
		ada := e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
		if err := st.SetPolicyMember(ctx, org.ID, ada.ID, bg.ID); err != nil {
			t.Fatal(err)
		}
		mel := e.addMember(org.ID, "mel@acme.example", storage.RoleMember) // members are never break-glass admins
		if err := st.SetPolicyMember(ctx, org.ID, mel.ID, bg.ID); err != nil {
			t.Fatal(err)
		}
		r = c.get("/admin")
		expect(t, r, http.StatusOK, ownerEmail+" owner Break glass Enrolled", "ada@acme.example admin Break glass None enrolled",
			"A break-glass admin has no second factor enrolled")
		if body := text(r.body); strings.Contains(body, "mel@acme.example") || strings.Contains(body, "only one break-glass admin") {
			t.Errorf("overview lists a member or still counts one admin:\n%s", body)
		}

		e.factors.MarkEnrolled(ada.ID)
		r = c.get("/admin")
		expect(t, r, http.StatusOK, "ada@acme.example admin Break glass Enrolled")
		if strings.Contains(r.body, `class="bg-warning"`) {
			t.Errorf("warnings remain with two enrolled break-glass admins:\n%s", text(r.body))
		}
	})
}

// Enforcing SSO on the console without a break-glass owner shows the
// confirmation page saying what is missing and what to do; saving it with
// a reason goes through and is audited as an override.
func TestConsoleEnforcingNeedsABreakGlassOwner(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	ctx := authzCLI()
	now := e.clock.Now()
	conn := storage.IdPConnection{ID: "conn-" + org.ID, OrgID: org.ID, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateIdPConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	def, err := e.policies.EnsureDefault(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"sso": {"enforced"}, "connection": {conn.Slug}}
	r := c.post("/admin/policies/"+def.ID, form)
	expect(t, r, http.StatusConflict, "Enforcing SSO needs a break-glass owner",
		"Add an owner to a break-glass policy (SSO off, MFA required) and have them enrol an authenticator app or passkey")
	if p, _ := e.policies.Get(ctx, org.ID, def.ID); p.SSO == storage.SSOEnforced {
		t.Fatal("the refused change was saved")
	}
	form.Set("force_reason", "drill: the break-glass owner enrols after lunch")
	expectRedirect(t, c.post("/admin/policies/"+def.ID, form), "/admin/policies")
	if ev := e.lastAudit(org.ID); ev.Action != "policy.update" || ev.Details["override_lockout"] != "no_break_glass_owner" ||
		ev.Details["force_reason"] != "drill: the break-glass owner enrols after lunch" {
		t.Errorf("audit = %+v", ev)
	}
}

func authzCLI() context.Context { return authz.AsCLI(context.Background(), "test") }

// In an organization that enforces SSO, making the break-glass policy's
// MFA optional on the console takes away the last break-glass owner: the
// confirmation page says so, and saving it with a reason goes through,
// audited as an override.
func TestConsoleKeepsTheLastBreakGlassOwner(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		org, owner, c := e.signedInOwner()
		ctx, now := context.Background(), e.clock.Now()
		conn := storage.IdPConnection{ID: "conn-" + org.ID, OrgID: org.ID, Slug: "corp-idp", Name: "Corp IdP",
			EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := st.CreateIdPConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		bg := storage.Policy{ID: "bg-" + org.ID, OrgID: org.ID, Name: "Break glass", SSO: storage.SSOOff, MFA: storage.MFARequired,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		eng := storage.Policy{ID: "eng-" + org.ID, OrgID: org.ID, Name: "Engineering", SSO: storage.SSOEnforced, ConnectionID: conn.ID,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		for _, p := range []storage.Policy{bg, eng} {
			if err := st.CreatePolicy(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetPolicyMember(ctx, org.ID, owner.ID, bg.ID); err != nil {
			t.Fatal(err)
		}
		e.factors.MarkEnrolled(owner.ID)
		form := url.Values{"mfa": {storage.MFAOptional}, "failback": {storage.FailbackAllowed}, "window_days": {"30"}}
		r := c.post("/admin/policies/"+bg.ID+"/settings", form)
		expect(t, r, http.StatusConflict, "This would remove the last break-glass owner",
			"This organization enforces SSO, so it must keep a break-glass owner", "This change takes away the last one")
		if p, _ := st.GetPolicy(ctx, org.ID, bg.ID); p.MFA != storage.MFARequired {
			t.Fatal("the refused change was saved")
		}
		form.Set("force_reason", "moving break-glass to the new vault policy")
		expectRedirect(t, c.post("/admin/policies/"+bg.ID+"/settings", form), "/admin/policies")
		if ev := e.lastAudit(org.ID); ev.Action != "policy.update" || ev.Details["override_lockout"] != "no_break_glass_owner" ||
			ev.Details["force_reason"] != "moving break-glass to the new vault policy" {
			t.Errorf("audit = %+v", ev)
		}
	})
}
