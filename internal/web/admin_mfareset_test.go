package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Ann lost her phone. An admin opens her page, reads on a confirmation
// page of its own what a reset does, resets her sign-in methods: her
// sessions end, she is mailed, the audit log says who did it, and her
// next sign-in (her policy requires a second factor) asks her to set up
// an authenticator app. An admin cannot do the same to an owner, a member
// cannot at all, and another organization's owner finds nobody.
func TestAdminResetFactors(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		ctx := context.Background()
		org, ann := e.strictMember("ann@" + corpDomain)
		secret, _ := e.enrolTOTP(ann)
		grace := e.addMember(org.ID, "grace@"+corpDomain, storage.RoleAdmin)
		olive := e.addMember(org.ID, "olive@"+corpDomain, storage.RoleOwner)
		e.enrolTOTP(olive)

		// Ann is signed in, with her phone.
		phone := e.client()
		flow := flowRe.FindStringSubmatch(phone.get(phone.toSecondStep(ann.Email)).body)[1]
		if r := phone.post("/login/mfa", url.Values{"flow": {flow}, "kind": {"totp"}, "code": {e.totpCode(secret)}}); r.status != http.StatusSeeOther {
			t.Fatalf("Ann's sign-in: %d\n%s", r.status, text(r.body))
		}
		expect(t, phone.get("/account"), http.StatusOK)

		adm := e.client()
		adm.signIn(grace.Email, memberPassword)
		annPage := "/admin/members/" + ann.ID
		r := adm.get(annPage)
		expect(t, r, http.StatusOK, "Reset sign-in methods", "lost their phone")
		if !strings.Contains(r.body, `href="`+annPage+`/reset-factors"`) {
			t.Error("the member page does not link to the confirmation page")
		}
		r = adm.get(annPage + "/reset-factors")
		expect(t, r, http.StatusOK, "Reset their sign-in methods?", ann.Email,
			"removes their authenticator app, recovery codes and passkeys and signs them out everywhere",
			"set up new ones at their next sign-in", "Cancel")
		if !strings.Contains(r.body, `action="`+annPage+`/reset-factors"`) {
			t.Error("the confirmation page does not post the reset")
		}
		if ok, _ := e.mfa.TOTPEnrolled(ctx, ann.ID); !ok {
			t.Fatal("opening the confirmation page reset something")
		}

		expectRedirect(t, adm.post(annPage+"/reset-factors", nil), annPage+"?notice=factors-reset")
		expect(t, adm.get(annPage+"?notice=factors-reset"), http.StatusOK, "Their sign-in methods were reset")
		eventually(t, "Ann's session ends", func() bool { return phone.get("/account").status == http.StatusSeeOther })
		if ok, _ := e.mfa.TOTPEnrolled(ctx, ann.ID); ok {
			t.Error("Ann still has her authenticator app")
		}
		if ev := e.lastAudit(org.ID); ev.Action != mfa.ActionReset || ev.ActorID != grace.ID || ev.TargetID != ann.ID ||
			ev.Details["totp_removed"] != "true" || ev.Details["recovery_codes_removed"] != "10" {
			t.Errorf("audit: %s by %s on %s %v", ev.Action, ev.ActorID, ev.TargetID, ev.Details)
		}
		var mailed bool
		for _, m := range e.mails() {
			mailed = mailed || (m.To == ann.Email && strings.Contains(m.Text, "reset the sign-in methods of your account"))
		}
		if !mailed {
			t.Error("Ann was not mailed")
		}

		// Her next sign-in asks her to set up an authenticator app.
		again := e.client()
		r = again.get(again.toSecondStep(ann.Email))
		expect(t, r, http.StatusOK, "Set up two-step sign-in", "Scan this QR code")
		if again.sessionCookie() != "" {
			t.Error("signed in without a second factor")
		}

		// An admin cannot reset an owner; the page says why.
		before := e.auditCount()
		r = adm.post("/admin/members/"+olive.ID+"/reset-factors", nil)
		expect(t, r, http.StatusForbidden, "Only an owner")
		if ok, _ := e.mfa.TOTPEnrolled(ctx, olive.ID); !ok {
			t.Error("an admin reset an owner's authenticator app")
		}
		if n := len(e.auditEvents(org.ID, mfa.ActionReset)); n != 1 {
			t.Errorf("%d mfa.reset events after a refusal, want 1 (audit grew by %d)", n, e.auditCount()-before)
		}

		// A member may not reset anyone.
		bob := e.addMember(org.ID, "bob@"+corpDomain, storage.RoleMember)
		m := e.client()
		m.signIn(bob.Email, memberPassword)
		expect(t, m.get("/admin/members/"+grace.ID+"/reset-factors"), http.StatusForbidden)
		expect(t, m.post("/admin/members/"+grace.ID+"/reset-factors", nil), http.StatusForbidden)

		// Another organization's owner: Ann is not found.
		orgB, err := e.accounts.CreateOrganization(adminCtx("beta"), "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		e.addMember(orgB.ID, "sam@beta.example", storage.RoleOwner)
		other := e.client()
		other.signIn("sam@beta.example", memberPassword)
		expect(t, other.get(annPage+"/reset-factors"), http.StatusNotFound)
		expect(t, other.post(annPage+"/reset-factors", nil), http.StatusNotFound)
		if n := len(e.auditEvents(org.ID, mfa.ActionReset)); n != 1 {
			t.Errorf("%d mfa.reset events, want 1", n)
		}
	})
}
