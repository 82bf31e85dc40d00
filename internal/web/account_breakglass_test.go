package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// On /account, the last break-glass owner with a second factor of an
// organization that enforces SSO cannot remove their authenticator app:
// the page says why and what to do first, and the app stays on.
func TestAccountKeepsTheLastBreakGlassFactor(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		org, owner, c := e.signedInOwner()
		secret, _ := e.enrolTOTP(owner)
		ctx, now := t.Context(), e.clock.Now()
		conn := storage.IdPConnection{ID: "conn-" + org.ID, OrgID: org.ID, Slug: "corp-idp", Name: "Corp IdP",
			EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := st.CreateIdPConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		for _, p := range []storage.Policy{
			{ID: "bg-" + org.ID, OrgID: org.ID, Name: "Break glass", SSO: storage.SSOOff, MFA: storage.MFARequired,
				CreatedAt: now, UpdatedAt: now, Version: 1},
			{ID: "eng-" + org.ID, OrgID: org.ID, Name: "Engineering", SSO: storage.SSOEnforced, ConnectionID: conn.ID,
				CreatedAt: now, UpdatedAt: now, Version: 1},
		} {
			if err := st.CreatePolicy(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetPolicyMember(ctx, org.ID, owner.ID, "bg-"+org.ID); err != nil {
			t.Fatal(err)
		}
		r := c.post("/account/totp/remove", url.Values{"code": {e.totpCode(secret)}})
		expect(t, r, http.StatusConflict, "you are its only break-glass owner with an authenticator app or passkey",
			"First make sure another owner is a break-glass owner")
		if ok, _ := e.mfa.TOTPEnrolled(ctx, owner.ID); !ok {
			t.Fatal("the refused removal took the app away")
		}
		// Once another break-glass owner has a second factor, it goes.
		ada := e.addMember(org.ID, "ada@acme.example", storage.RoleOwner)
		if err := st.SetPolicyMember(ctx, org.ID, ada.ID, "bg-"+org.ID); err != nil {
			t.Fatal(err)
		}
		e.factors.MarkEnrolled(ada.ID)
		e.clock.Advance(30 * time.Second)
		r = c.post("/account/totp/remove", url.Values{"code": {e.totpCode(secret)}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("remove with another break-glass owner: status %d\n%s", r.status, text(r.body))
		}
	})
}
