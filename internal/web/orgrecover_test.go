package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// An owner locked out of everything opens /recover, enters their email and
// one organization recovery code, and is in the admin console: no IdP, no
// mail to them. All admins are mailed. The same code again, a wrong code
// and a member's email all get the same page.
func TestRecoverWithOrganizationCode(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, func(o *envOptions) { o.store = st })
		org, owner := e.setupOwner()
		e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
		e.addMember(org.ID, "mel@acme.example", storage.RoleMember)
		codes, err := e.orgRec.Generate(authz.AsAccount(t.Context(), owner), org.ID)
		if err != nil {
			t.Fatal(err)
		}

		c := e.client()
		expect(t, c.get("/recover"), http.StatusOK, "Sign in with a recovery code", "Email address", "Recovery code",
			"Every use is recorded and all admins are told by mail.")

		same := "That email and recovery code don't work together."
		for _, f := range []url.Values{
			{"email": {ownerEmail}, "code": {"2222-3333-4444-5555"}},
			{"email": {"mel@acme.example"}, "code": {codes[1]}},
			{"email": {"nobody@acme.example"}, "code": {codes[1]}},
		} {
			r := c.post("/recover/code", f)
			expect(t, r, http.StatusUnauthorized, same)
			if !strings.Contains(r.body, `value="`+f.Get("email")+`"`) {
				t.Errorf("the form forgot the email %s", f.Get("email"))
			}
		}

		before := len(e.mails())
		r := c.post("/recover/code", url.Values{"email": {ownerEmail}, "code": {strings.ToLower(codes[0])}})
		expectRedirect(t, r, "/admin")
		expect(t, c.get("/admin"), http.StatusOK, orgName)
		var toAdmins []string
		for _, m := range e.mails()[before:] {
			if m.Subject == "An organization recovery code was used" && strings.Contains(m.Text, ownerEmail+" signed in with an organization recovery code") {
				toAdmins = append(toAdmins, m.To)
			}
		}
		if len(toAdmins) != 2 {
			t.Errorf("mailed %v, want the owner and ada", toAdmins)
		}
		// The code is spent.
		c2 := e.client()
		expect(t, c2.post("/recover/code", url.Values{"email": {ownerEmail}, "code": {codes[0]}}), http.StatusUnauthorized, same)
	})
}

// An owner generates the codes on the console and sees them once, with
// what to do with them; afterwards the page shows only how many are left.
// An admin sees the state but may not generate.
func TestConsoleRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	expect(t, c.get("/admin"), http.StatusOK, "organization recovery code")
	expect(t, c.get("/admin/recovery-codes"), http.StatusOK, "No recovery codes yet.", "Generate recovery codes")

	r := c.post("/admin/recovery-codes", nil)
	expect(t, r, http.StatusOK, "Your new codes", "This is the only time they are shown.", "Print this page or copy the codes")
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	shown := codeInPageRE.FindAllString(r.body, -1)
	if len(shown) != 10 {
		t.Fatalf("%d codes shown", len(shown))
	}
	if ev := e.lastAudit(org.ID); ev.Action != "recovery_codes.generate" || ev.ActorID != owner.ID {
		t.Errorf("audit = %+v", ev)
	}
	r = c.get("/admin/recovery-codes")
	expect(t, r, http.StatusOK, "10 of 10 codes are unused.", "Generate new codes (the old ones stop working)")
	if codeInPageRE.MatchString(r.body) {
		t.Error("the codes are shown again")
	}

	// A shown code works at /recover.
	if _, err := e.orgRec.Redeem(t.Context(), ownerEmail, shown[2]); err != nil {
		t.Fatalf("a shown code: %v", err)
	}
	expect(t, c.get("/admin/recovery-codes"), http.StatusOK, "9 of 10 codes are unused.", "1 has been used")

	e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	ada := e.client()
	ada.signIn("ada@acme.example", memberPassword)
	expect(t, ada.get("/admin/recovery-codes"), http.StatusOK, "9 of 10 codes are unused.", "Only owners can generate recovery codes.")
	expect(t, ada.post("/admin/recovery-codes", nil), http.StatusForbidden)
	if _, err := e.orgRec.Redeem(t.Context(), ownerEmail, shown[3]); err != nil {
		t.Errorf("the admin's refused attempt changed the codes: %v", err)
	}
}

var codeInPageRE = regexp.MustCompile(`\b[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}\b`)
