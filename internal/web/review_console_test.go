package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// An attacker's review of the console's member, import, bulk, token,
// audit and overview pages: each test is one class of attack, and
// docs/SECURITY-REVIEW-CONSOLE.md lists them with what held and what was
// fixed.

// signedInAdmin adds an admin (not an owner) to org and signs them in.
func (e *env) signedInAdmin(orgID, email string) (storage.Account, *client) {
	e.t.Helper()
	a := e.addMember(orgID, email, storage.RoleAdmin)
	c := e.client()
	c.signIn(email, memberPassword)
	return a, c
}

// An admin may not create owners, so an import by an admin names an owner
// row as not imported in the preview, and the confirmation invites the
// rest rather than failing the whole batch (or creating the owner).
func TestConsoleReviewImportAdminCannotInviteOwners(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	_, c := e.signedInAdmin(org.ID, "ada@acme.example")
	file := "email,name,role\nboss@acme.example,Boss,owner\nbea@acme.example,Bea,member\n"
	r := c.postFile("/admin/members/import", nil, file)
	expect(t, r, http.StatusOK, "1 will be invited", "Only an owner can invite an owner.")
	r = c.postFile("/admin/members/import/confirm", url.Values{"csv": {file}}, "")
	expectRedirect(t, r, "/admin/members?status=invited")
	if a, err := e.store.GetAccountByEmail(context.Background(), "boss@acme.example"); err == nil {
		t.Fatalf("an admin's import created %s as %s", a.Email, a.Role)
	}
	if _, err := e.store.GetAccountByEmail(context.Background(), "bea@acme.example"); err != nil {
		t.Errorf("the member row was not invited: %v", err)
	}
}

// Markup, control characters and formulas in an imported file: the
// preview escapes what it shows (the file's text too, in the hidden
// field), a name with a line break or other control character is a bad
// row (not a failed batch at confirmation), and a formula name is stored
// as text and exported guarded.
func TestConsoleReviewImportHostileCells(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	file := "email,name,role\n" +
		"xss@acme.example,\"<script>alert(1)</script>\",member\n" +
		"attr@acme.example,\"\"\"><img src=x onerror=alert(1)>\",member\n" +
		"crlf@acme.example,\"Eve\r\nBcc: all@acme.example\",member\n" +
		"nul@acme.example,\"Bell\aringer\",member\n" +
		"formula@acme.example,\"=HYPERLINK(\"\"https://evil.example\"\")\",member\n"
	r := c.postFile("/admin/members/import", nil, file)
	expect(t, r, http.StatusOK, "3 will be invited", "2 rows have problems", "The name cannot contain control characters.")
	for _, raw := range []string{"<script>alert(1)", "<img src=x"} {
		if i := strings.Index(r.body, raw); i >= 0 {
			t.Errorf("the preview carries %q unescaped: %s", raw, r.body[max(0, i-300):i+50])
		}
	}
	expectRedirect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {file}}, ""), "/admin/members?status=invited")
	for _, email := range []string{"crlf@acme.example", "nul@acme.example"} {
		if _, err := e.store.GetAccountByEmail(context.Background(), email); err == nil {
			t.Errorf("%s was invited with a control character in the name", email)
		}
	}
	r = c.get("/admin/members?status=invited")
	if strings.Contains(r.body, "<script>alert(1)") || strings.Contains(r.body, "<img src=x") {
		t.Error("the members page shows an imported name unescaped")
	}
	exp := c.get("/admin/members/export")
	if !strings.Contains(exp.body, `"'=HYPERLINK(""https://evil.example"")"`) {
		t.Errorf("an imported formula is exported as one:\n%s", exp.body)
	}
	_ = org
}

// The confirmation re-reads the file it is sent: a tampered form can
// invite only what the same file's preview would show (every check runs
// again, as this admin, into this admin's organization), never into
// another organization, and stays within the limits.
func TestConsoleReviewImportConfirmTampered(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	other, err := e.accounts.CreateOrganization(authz.AsCLI(context.Background(), "test"), "Globex", "globex")
	if err != nil {
		t.Fatal(err)
	}
	// Extra form fields naming another organization change nothing.
	file := "email,name,role,org_id\nzed@acme.example,Zed,member," + other.ID + "\n"
	expectRedirect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {file}, "org_id": {other.ID}, "org": {"globex"}}, ""), "/admin/members?status=invited")
	a, err := e.store.GetAccountByEmail(context.Background(), "zed@acme.example")
	if err != nil || a.OrgID != org.ID {
		t.Fatalf("zed: %+v %v, want a member of %s", a, err, org.ID)
	}
	// Limits hold at confirmation as at preview.
	big := "email\n" + strings.Repeat("x@acme.example\n", 1001)
	expect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {big}}, ""), http.StatusBadRequest, "The file is too large")
	expect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {"email\n" + strings.Repeat("a", 1<<20)}}, ""), http.StatusBadRequest, "The file is too large")
	// Invalid UTF-8, a GET, no CSRF token, a member: nothing.
	expect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {"email\n\xff@acme.example\n"}}, ""), http.StatusBadRequest, "not UTF-8")
	if r := c.get("/admin/members/import/confirm?csv=email%0Ayy%40acme.example"); r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
		t.Errorf("GET confirm: %d", r.status)
	}
	expect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {"email\nyy@acme.example\n"}, httpserver.CSRFField: {"forged"}}, ""), http.StatusForbidden)
	e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	mc := e.client()
	mc.signIn("mia@acme.example", memberPassword)
	expect(t, mc.postFile("/admin/members/import/confirm", url.Values{"csv": {"email\nyy@acme.example\n"}}, ""), http.StatusForbidden)
	if _, err := e.store.GetAccountByEmail(context.Background(), "yy@acme.example"); err == nil {
		t.Fatal("a refused confirmation invited someone")
	}
}

// Every cell an admin or a member controls is guarded in the export, for
// each character a spreadsheet starts a formula with.
func TestConsoleReviewExportFormulaGuard(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	names := []string{"=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"}
	ms := seedMembers(t, e.store, org.ID, len(names), e.clock.Now())
	for i, m := range ms {
		if _, err := e.store.UpdateAccount(context.Background(), m.ID, func(a *storage.Account) error {
			a.DisplayName = names[i]
			if i == 0 {
				a.Email = "=cmd@acme.example"
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := c.get("/admin/members/export")
	for _, line := range strings.Split(r.body, "\n") {
		for _, cell := range strings.Split(line, ",") {
			cell = strings.TrimPrefix(cell, `"`)
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("an exported cell starts a formula: %q in %q", cell, line)
			}
		}
	}
}

// Bulk actions: an admin suspending a page that includes themselves is
// refused for their own row (as deleting oneself is), an admin cannot
// change an owner, a GET changes nothing.
func TestConsoleReviewBulkSelfOwnersAndMethods(t *testing.T) {
	e := newEnv(t)
	org, owner := e.setupOwner()
	adm, c := e.signedInAdmin(org.ID, "ada@acme.example")
	ms := seedMembers(t, e.store, org.ID, 2, e.clock.Now())
	form := url.Values{"action": {"suspend"}, "id": {adm.ID, owner.ID, ms[0].ID}}
	r := c.post("/admin/members/bulk/apply", form)
	expect(t, r, http.StatusOK, "1 changed, 2 refused", "You can't suspend your own account.")
	for _, id := range []string{adm.ID, owner.ID} {
		if a, _ := e.store.GetAccount(context.Background(), id); a.Status != storage.StatusActive {
			t.Errorf("%s was suspended by the admin's bulk action", a.Email)
		}
	}
	if c.get("/admin/members").status != http.StatusOK {
		t.Error("the admin is no longer signed in after the bulk action")
	}
	// A GET of either step does nothing.
	q := "?action=suspend&id=" + url.QueryEscape(ms[1].ID)
	for _, p := range []string{"/admin/members/bulk" + q, "/admin/members/bulk/apply" + q} {
		if r := c.get(p); r.status == http.StatusOK {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	if a, _ := e.store.GetAccount(context.Background(), ms[1].ID); a.Status != storage.StatusActive {
		t.Error("a GET suspended someone")
	}
	// The member page's single suspension refuses oneself too, and one's
	// own page does not offer it.
	if r := c.get("/admin/members/" + adm.ID); strings.Contains(r.body, `/suspend"`) {
		t.Error("the admin's own page offers to suspend them")
	}
	r = c.post("/admin/members/"+adm.ID+"/status", url.Values{"status": {"suspended"}})
	expect(t, r, http.StatusConflict, "You can't suspend your own account.")
}

// Every member-page action: another organization's member (by ID), a
// session or SSO link of someone else, a member-role account and a forged
// CSRF token are all refused and write nothing.
func TestConsoleReviewMemberActionsIDOR(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	ctxB := adminCtx("beta")
	orgB, err := e.accounts.CreateOrganization(ctxB, "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	bob := e.addMember(orgB.ID, "bob@beta.example", storage.RoleOwner)
	bc := e.client()
	bc.signIn(bob.Email, memberPassword)
	bobSID := between(bc.get("/admin/members/"+bob.ID).body, "/admin/members/"+bob.ID+"/sessions/", "/revoke")
	if bobSID == "" {
		t.Fatal("no session of bob's on his page")
	}
	mc := e.client()
	mc.signIn(mia.Email, memberPassword)
	miaSID := between(c.get("/admin/members/"+mia.ID).body, "/admin/members/"+mia.ID+"/sessions/", "/revoke")

	bHref, mHref := "/admin/members/"+bob.ID, "/admin/members/"+mia.ID
	posts := []string{
		bHref + "/name", bHref + "/resend-invite", bHref + "/send-reset", bHref + "/delete", bHref + "/status",
		bHref + "/sessions/" + bobSID + "/revoke", bHref + "/sso-links/x/unlink",
	}
	before := e.auditCount()
	mails := len(e.mails())
	for _, p := range posts {
		if r := c.post(p, url.Values{"display_name": {"pwned"}, "status": {"suspended"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s across organizations: %d, want 404", p, r.status)
		}
	}
	// Bob's session through Mia's page.
	expect(t, c.post(mHref+"/sessions/"+bobSID+"/revoke", nil), http.StatusNotFound)
	for _, p := range []string{bHref + "/suspend", bHref + "/delete", bHref + "/sso-links/x/unlink"} {
		expect(t, c.get(p), http.StatusNotFound)
	}
	// A member, on every action against Mia herself or the owner.
	memberPosts := []string{mHref + "/name", mHref + "/resend-invite", mHref + "/send-reset", mHref + "/delete",
		mHref + "/sessions/" + miaSID + "/revoke", mHref + "/sso-links/x/unlink"}
	for _, p := range memberPosts {
		expect(t, mc.post(p, url.Values{"display_name": {"pwned"}}), http.StatusForbidden)
	}
	// A forged token on each.
	for _, p := range memberPosts {
		expect(t, c.post(p, url.Values{"display_name": {"pwned"}, httpserver.CSRFField: {"forged-token-forged-token-forged-token-xxx"}}), http.StatusForbidden)
	}
	// The member's attempts are recorded as refusals (access.denied), and
	// nothing else is written.
	if n, denied := e.auditCount()-before, len(e.auditEvents(org.ID, "access.denied")); n != denied {
		t.Errorf("refused requests wrote %d audit events besides %d refusals", n-denied, denied)
	}
	if n := len(e.mails()); n != mails {
		t.Errorf("refused requests mailed %d messages", n-mails)
	}
	if bc.get("/account").status != http.StatusOK {
		t.Error("bob was signed out from another organization")
	}
	if a, _ := e.store.GetAccount(context.Background(), bob.ID); a.DisplayName == "pwned" || a.Status != storage.StatusActive {
		t.Errorf("bob changed: %+v", a)
	}
	if a, _ := e.store.GetAccount(context.Background(), mia.ID); a.DisplayName == "pwned" {
		t.Error("a member renamed themselves through the console")
	}
}

// API tokens: the secret is on the created page only (no redirect, no
// Location, never in the log), and an expiry is only one of the list's.
func TestConsoleReviewTokenSecretAndExpiry(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	r := c.post("/admin/tokens", url.Values{"name": {"ci"}, "scope": {"read"}, "expires": {"30"}})
	if r.status != http.StatusCreated || r.location() != "" {
		t.Fatalf("create: %d to %q", r.status, r.location())
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the secret's page may be cached: %q", cc)
	}
	for _, bad := range []string{"-30", "0", "-1", "36500", "1e9", "30 ", "99999999999999999999"} {
		expect(t, c.post("/admin/tokens", url.Values{"name": {"x" + bad}, "scope": {"read"}, "expires": {bad}}), http.StatusBadRequest, "Choose when the token expires")
	}
	for _, scope := range []string{"superuser", "owner ", "OWNER"} {
		if r := c.post("/admin/tokens", url.Values{"name": {"s" + scope}, "scope": {scope}, "expires": {"30"}}); r.status < 400 || r.status >= 500 {
			t.Errorf("scope %q: %d", scope, r.status)
		}
	}
	toks, err := e.accounts.ListAPITokens(adminCtx(org.ID), org.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %d %v", len(toks), err)
	}
}

// Audit filters with SQL metacharacters, huge values and made-up cursors
// answer 200 (nothing matches) or a plain 400, never a 500, and never
// another organization's events.
func TestConsoleReviewAuditHostileFilters(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	if err := e.store.AppendAudit(context.Background(), &storage.AuditEvent{OrgID: "other-org", ID: uuid.NewString(), Action: "secret.other", Time: e.clock.Now(), TargetID: "leak-target"}); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("A", 100<<10)
	qs := []string{
		"actor=" + url.QueryEscape("' OR 1=1 --"), "action=" + url.QueryEscape("%' OR '1'='1"), "target=" + url.QueryEscape(`"; DROP TABLE audit_events; --`),
		"action=" + url.QueryEscape("secret.%"), "target=" + url.QueryEscape("leak%"), "target=" + url.QueryEscape("_eak-target"),
		"actor=" + huge, "action=" + huge, "target=" + huge,
		"before=" + huge, "after=99999999999999999999999", "before=-5", "after=" + url.QueryEscape("1 OR 1=1"),
		"from=" + url.QueryEscape("2026-01-01' OR '1'='1"), "to=99999-12-31", "outcome=" + url.QueryEscape("success' --"),
		"actor=%00", "action=" + url.QueryEscape("\x00\xff"),
	}
	for _, q := range qs {
		r := c.get("/admin/audit?" + q)
		if r.status != http.StatusOK && r.status != http.StatusBadRequest {
			t.Errorf("GET /admin/audit?%.80s: %d", q, r.status)
		}
		if strings.Contains(r.body, "secret.other") || strings.Contains(r.body, "leak-target") {
			t.Errorf("GET /admin/audit?%.80s shows another organization's event", q)
		}
	}
	for _, p := range []string{"/admin/audit/99999999999999999999999", "/admin/audit/1e3", "/admin/audit/%27%20OR%201%3D1"} {
		if r := c.get(p); r.status != http.StatusNotFound && r.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	_ = org
}

// The overview's chart draws methods from a fixed list: a login event
// whose method (or any detail) carries markup does not reach the page raw.
func TestConsoleReviewChartEscapes(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	ev := storage.AuditEvent{OrgID: org.ID, ID: uuid.NewString(), Time: e.clock.Now().Add(-1), ActorType: "account", ActorID: `"><script>x</script>`,
		Action: "login.success", Outcome: "success", Details: map[string]string{"method": `"/><script>alert(1)</script><svg x="`}}
	if err := e.store.AppendAudit(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	r := c.get("/admin")
	if !strings.Contains(r.body, "<svg") {
		t.Fatal("the overview has no chart")
	}
	if strings.Contains(r.body, "<script>alert(1)") || strings.Contains(r.body, "<script>x") {
		t.Error("the overview carries markup from an audit event unescaped")
	}
}
