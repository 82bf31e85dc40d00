package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
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

		lockouttest.MarkEnrolled(owner.ID)
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

		lockouttest.MarkEnrolled(ada.ID)
		r = c.get("/admin")
		expect(t, r, http.StatusOK, "ada@acme.example admin Break glass Enrolled")
		if strings.Contains(r.body, `class="bg-warning"`) {
			t.Errorf("warnings remain with two enrolled break-glass admins:\n%s", text(r.body))
		}
	})
}
