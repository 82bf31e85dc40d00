package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// seedMembers writes n members of orgID straight into storage, in one
// transaction (the account service would hash a password for each), named
// "Person 0000"… with emails person-0000@acme.example…, and returns them.
func seedMembers(t testing.TB, st storage.Store, orgID string, n int, now time.Time, domain ...string) []storage.Account {
	t.Helper()
	dom := "acme.example"
	if len(domain) > 0 {
		dom = domain[0]
	}
	out := make([]storage.Account, 0, n)
	err := st.InTx(context.Background(), func(tx storage.Store) error {
		for i := range n {
			a := storage.Account{
				ID: fmt.Sprintf("seed-%s-%05d", orgID[:8], i), OrgID: orgID,
				Email: fmt.Sprintf("person-%04d@%s", i, dom), DisplayName: fmt.Sprintf("Person %04d", i),
				PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", PasswordChangedAt: now, PasswordOrigin: storage.PasswordOpen,
				Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now, Version: 1,
			}
			if err := tx.CreateAccount(context.Background(), a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	nextLinkRE = regexp.MustCompile(`href="(/admin/members\?[^"]*after=[^"]+)" rel="next"`)
	prevLinkRE = regexp.MustCompile(`href="(/admin/members\?[^"]*before=[^"]+)" rel="prev"`)
	rowEmailRE = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

func hrefOf(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s link on the page", re)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

func TestAdminMembersSearchFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	seedMembers(t, e.store, org.ID, 120, e.clock.Now())

	// A name prefix in any case finds the one person; an email prefix too.
	r := c.get("/admin/members?q=PERSON+0042")
	expect(t, r, http.StatusOK, "Person 0042", "person-0042@acme.example")
	if strings.Contains(r.body, "person-0043@") {
		t.Error("the search lists someone whose name does not start so")
	}
	expect(t, c.get("/admin/members?q=person-011"), http.StatusOK, "person-0110@", "person-0119@")

	// Paging: 50 a page, next and back again give the same rows.
	first := c.get("/admin/members?sort=name")
	ids1 := rowEmailRE.FindAllStringSubmatch(first.body, -1)
	if len(ids1) != 50 {
		t.Fatalf("first page has %d rows, want 50", len(ids1))
	}
	second := c.get(hrefOf(t, nextLinkRE, first.body))
	expect(t, second, http.StatusOK, "Person 0049", "Previous page")
	third := c.get(hrefOf(t, nextLinkRE, second.body))
	expect(t, third, http.StatusOK, "Person 0119")
	if nextLinkRE.MatchString(third.body) {
		t.Error("the last page offers a next page")
	}
	back := c.get(hrefOf(t, prevLinkRE, second.body))
	if got := rowEmailRE.FindAllStringSubmatch(back.body, -1); fmt.Sprint(got) != fmt.Sprint(ids1) {
		t.Errorf("back from page 2 is not page 1")
	}

	// Filters: suspended people only; newest added first.
	expect(t, c.get("/admin/members?status=suspended"), http.StatusOK, "Nobody matches this search.")
	r = c.get("/admin/members?sort=created&dir=desc")
	if i, j := strings.Index(r.body, "person-0119@"), strings.Index(r.body, "person-0100@"); i < 0 || j < 0 || i > j {
		t.Error("newest first does not put the last added first")
	}

	// Bad input is said plainly, never a 500.
	expect(t, c.get("/admin/members?sort=password_hash"), http.StatusBadRequest, "Sort by email")
	expect(t, c.get("/admin/members?after=!!!"), http.StatusBadRequest, "This page link is not valid any more")
	expect(t, c.get("/admin/members?after=bm9wZQ&sort=created"), http.StatusBadRequest, "This page link is not valid any more")
}

func TestAdminMembersBulkSuspendReactivateSignOut(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	ctx := context.Background()
	ms := seedMembers(t, e.store, org.ID, 5, e.clock.Now())
	pick := url.Values{"id": {ms[0].ID, ms[1].ID, ms[2].ID}}

	// The confirmation names who and what, and changes nothing.
	before := e.auditCount()
	form := url.Values{"action": {"suspend"}, "id": pick["id"]}
	r := c.post("/admin/members/bulk", form)
	expect(t, r, http.StatusOK, "Suspend 3 people?", "person-0000@", "person-0001@", "person-0002@", "every session they have is signed out", "Suspend them")
	if strings.Contains(r.body, "person-0003@") {
		t.Error("the confirmation lists someone not selected")
	}
	if n := e.auditCount(); n != before {
		t.Fatalf("the confirmation page wrote %d audit events", n-before)
	}
	if a, _ := e.store.GetAccount(ctx, ms[0].ID); a.Status != storage.StatusActive {
		t.Fatal("the confirmation page suspended someone")
	}

	expect(t, c.post("/admin/members/bulk/apply", form), http.StatusOK, "3 changed")
	for _, m := range ms[:3] {
		if a, _ := e.store.GetAccount(ctx, m.ID); a.Status != storage.StatusSuspended {
			t.Errorf("%s is %s after the bulk suspension", m.Email, a.Status)
		}
	}
	if a, _ := e.store.GetAccount(ctx, ms[3].ID); a.Status != storage.StatusActive {
		t.Error("someone not selected was suspended")
	}
	if n := e.auditCount() - before; n != 3 {
		t.Errorf("3 suspensions wrote %d audit events, want one each", n)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.suspend" || ev.ActorID != owner.ID {
		t.Errorf("last event %s by %s", ev.Action, ev.ActorID)
	}
	expect(t, c.get("/admin/members?status=suspended"), http.StatusOK, "person-0000@", "person-0001@", "person-0002@")

	// Again: nothing changes, and the results say so.
	expect(t, c.post("/admin/members/bulk/apply", form), http.StatusOK, "0 changed, 3 already so")

	// Reactivate one.
	one := url.Values{"action": {"reactivate"}, "id": {ms[1].ID}}
	expect(t, c.post("/admin/members/bulk", one), http.StatusOK, "Reactivate 1 person?", "person-0001@")
	expect(t, c.post("/admin/members/bulk/apply", one), http.StatusOK, "1 changed")
	if a, _ := e.store.GetAccount(ctx, ms[1].ID); a.Status != storage.StatusActive {
		t.Error("the reactivated member is still suspended")
	}

	// Sign out everywhere ends the sessions of those selected.
	mc := e.client()
	mem := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	mc.signIn("mia@acme.example", memberPassword)
	expect(t, mc.get("/account"), http.StatusOK)
	so := url.Values{"action": {"sign_out"}, "id": {mem.ID}}
	expect(t, c.post("/admin/members/bulk", so), http.StatusOK, "Sign out 1 person everywhere?")
	expect(t, c.post("/admin/members/bulk/apply", so), http.StatusOK, "1 changed")
	if r := mc.get("/account"); r.status == http.StatusOK {
		t.Error("the member is still signed in after sign out everywhere")
	}
	if ev := e.lastAudit(org.ID); ev.Action != "session.revoke_all" || ev.TargetID != mem.ID {
		t.Errorf("sign-out audited as %s on %s", ev.Action, ev.TargetID)
	}
}

func TestAdminMembersBulkRefusals(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	ms := seedMembers(t, e.store, org.ID, 2, e.clock.Now())

	// The sole owner among the selection: the others are suspended, the
	// owner is not, by name and why.
	form := url.Values{"action": {"suspend"}, "id": {owner.ID, ms[0].ID}}
	r := c.post("/admin/members/bulk/apply", form)
	expect(t, r, http.StatusOK, "1 changed, 1 refused", "Not changed", "An organization must keep at least one owner.", ownerEmail)
	if a, _ := e.store.GetAccount(context.Background(), owner.ID); a.Status != storage.StatusActive {
		t.Fatal("the last owner was suspended")
	}

	// Another organization's account, or nobody, is never selected.
	other, err := e.accounts.CreateOrganization(authz.AsCLI(context.Background(), "test"), "Globex", "globex")
	if err != nil {
		t.Fatal(err)
	}
	stranger := seedMembers(t, e.store, other.ID, 1, e.clock.Now(), "globex.example")[0]
	expect(t, c.post("/admin/members/bulk", url.Values{"action": {"suspend"}, "id": {stranger.ID, "nobody"}}), http.StatusBadRequest, "Select at least one member.")
	expect(t, c.post("/admin/members/bulk/apply", url.Values{"action": {"suspend"}, "id": {stranger.ID}}), http.StatusBadRequest)
	if a, _ := e.store.GetAccount(context.Background(), stranger.ID); a.Status != storage.StatusActive {
		t.Fatal("a bulk action reached into another organization")
	}
	expect(t, c.post("/admin/members/bulk", url.Values{"action": {"suspend"}}), http.StatusBadRequest, "Select at least one member.")
	expect(t, c.post("/admin/members/bulk", url.Values{"action": {"delete"}, "id": {ms[1].ID}}), http.StatusBadRequest, "Choose suspend, reactivate")
	expect(t, c.post("/admin/members/bulk", url.Values{"action": {"policy"}, "policy": {"no-such-policy"}, "id": {ms[1].ID}}), http.StatusBadRequest)

	// Without the CSRF token nothing happens.
	expect(t, c.post("/admin/members/bulk/apply", url.Values{"action": {"suspend"}, "id": {ms[1].ID}, httpserver.CSRFField: {"x"}}), http.StatusForbidden)

	// A member is no admin.
	mem := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	mc := e.client()
	mc.signIn(mem.Email, memberPassword)
	expect(t, mc.post("/admin/members/bulk/apply", url.Values{"action": {"suspend"}, "id": {ms[1].ID}}), http.StatusForbidden)
	if a, _ := e.store.GetAccount(context.Background(), ms[1].ID); a.Status != storage.StatusActive {
		t.Fatal("a member suspended someone")
	}
}

// Moving the owner out of the break-glass policy while the default
// enforces SSO is refused by the no-lockout check, plainly and by name,
// while the others selected are moved.
func TestAdminMembersBulkPolicyMoveRefusedByLockout(t *testing.T) {
	e, lo := newLockoutOrg(t)
	ctx := authz.AsCLI(context.Background(), "test")
	if _, err := e.domains.Verify(ctx, lo.org.ID, lo.domainID); err != nil {
		t.Fatal(err)
	}
	ms := seedMembers(t, e.store, lo.org.ID, 2, e.clock.Now())
	form := url.Values{"action": {"policy"}, "policy": {""}, "id": {lo.owner.ID}}
	expect(t, lo.c.post("/admin/members/bulk", form), http.StatusOK, "Move 1 person to the default policy?", ownerEmail)
	expect(t, lo.c.post("/admin/members/bulk/apply", form), http.StatusOK, "0 changed, 1 refused",
		"Refused: it would leave no owner able to sign in without the IdP.")
	if !e.safe(lo.org.ID) {
		t.Fatal("the refused move was made")
	}
	// Into break glass: allowed for the others.
	in := url.Values{"action": {"policy"}, "policy": {lo.bg.ID}, "id": {ms[0].ID, ms[1].ID}}
	expect(t, lo.c.post("/admin/members/bulk", in), http.StatusOK, "Move 2 people to the policy “Break glass”?")
	expect(t, lo.c.post("/admin/members/bulk/apply", in), http.StatusOK, "2 changed")
	if ids, _ := e.policies.Members(ctx, lo.org.ID, lo.bg.ID); len(ids) != 3 {
		t.Fatalf("break glass has %d members, want 3", len(ids))
	}
	if ev := e.lastAudit(lo.org.ID); ev.Action != "policy.member_set" {
		t.Errorf("move audited as %s", ev.Action)
	}
}

func TestAdminMembersExportCSV(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	ms := seedMembers(t, e.store, org.ID, 3, e.clock.Now())
	if _, err := e.store.UpdateAccount(context.Background(), ms[1].ID, func(a *storage.Account) error {
		a.DisplayName = `=HYPERLINK("https://evil.example","x")`
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := c.get("/admin/members/export")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", r.status, r.header)
	}
	if !strings.HasPrefix(r.body, "email,name,role,status,sign_in_methods,mfa,emergency_passkey,last_sign_in,created\n") {
		t.Errorf("header row: %q", strings.SplitN(r.body, "\n", 2)[0])
	}
	if !strings.Contains(r.body, `"'=HYPERLINK(""https://evil.example"",""x"")"`) {
		t.Errorf("a formula is exported as one:\n%s", r.body)
	}
	if n := strings.Count(r.body, "\n"); n != 5 { // header, owner, 3
		t.Errorf("export has %d lines, want 5:\n%s", n, r.body)
	}
	// The export follows the search.
	r = c.get("/admin/members/export?q=person-0002")
	if n := strings.Count(r.body, "\n"); n != 2 || !strings.Contains(r.body, "person-0002@acme.example,Person 0002,member,active,password,no,no,,") {
		t.Errorf("filtered export:\n%s", r.body)
	}
	expect(t, c.get("/admin/members/export?role=superuser"), http.StatusBadRequest, "The role must be")
}

// postFile posts a multipart form with a file part, as a browser's upload.
func (c *client) postFile(path string, fields url.Values, file string) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields[httpserver.CSRFField]; !ok {
		_ = mw.WriteField(httpserver.CSRFField, c.csrf())
	}
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != "" {
		fw, err := mw.CreateFormFile("file", "people.csv")
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write([]byte(file))
	}
	_ = mw.Close()
	return c.postRaw(path, body.String(), http.Header{"Content-Type": {mw.FormDataContentType()}})
}

func TestAdminMembersImportCSV(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	expect(t, c.get("/admin/members/import"), http.StatusOK, "Import members", "email")
	file := "email,name,role\n" +
		"grace@acme.example,Grace Hopper,\n" +
		"not-an-email,Nobody,member\n" +
		ownerEmail + ",Olivia,owner\n" +
		"alan@acme.example,Alan Turing,admin\n" +
		"GRACE@acme.example,Grace again,member\n" +
		"kay@acme.example,Kay,superuser\n"
	before, mails := e.auditCount(), len(e.mails())
	r := c.postFile("/admin/members/import", nil, file)
	expect(t, r, http.StatusOK, "2 will be invited", "1 already is a member", "3 rows have problems",
		"The email address is not valid.", "The same email is on line 2.", "The role must be member, admin or owner.", "Already a member", "Invite 2 people")
	for _, line := range []string{"<td data-label=\"Line\">3</td>", "<td data-label=\"Line\">6</td>", "<td data-label=\"Line\">7</td>"} {
		if !strings.Contains(r.body, line) {
			t.Errorf("the preview does not name %s", line)
		}
	}
	if e.auditCount() != before {
		t.Fatal("the preview wrote something")
	}
	if _, err := e.accounts.GetMember(adminCtx(org.ID), org.ID, "grace@acme.example"); err == nil {
		t.Fatal("the preview invited someone")
	}
	// Confirm: the file travels in the form.
	expectRedirect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {file}}, ""), "/admin/members?status=invited")
	for _, email := range []string{"grace@acme.example", "alan@acme.example"} {
		if _, err := e.accounts.GetMember(adminCtx(org.ID), org.ID, email); err != nil {
			t.Errorf("%s was not invited: %v", email, err)
		}
	}
	if _, err := e.accounts.GetMember(adminCtx(org.ID), org.ID, "kay@acme.example"); err == nil {
		t.Error("a bad row was imported")
	}
	if n := e.auditCount() - before; n != 3 {
		t.Errorf("the import wrote %d audit events, want 2 creations and the batch", n)
	}
	if ev := e.lastAudit(org.ID); ev.Action != "account.import" || ev.Details["invited"] != "2" {
		t.Errorf("batch event %s %v", ev.Action, ev.Details)
	}
	if n := len(e.mails()) - mails; n != 2 {
		t.Errorf("%d invitations mailed, want 2", n)
	}
	expect(t, c.get("/admin/members?status=invited"), http.StatusOK, "Grace Hopper", "Alan Turing")

	// The same file again: nobody new.
	expect(t, c.postFile("/admin/members/import/confirm", url.Values{"csv": {file}}, ""), http.StatusBadRequest, "There is nobody new to invite")
	// Pasted text works like a file; a file without an email column is refused.
	expect(t, c.post("/admin/members/import", url.Values{"csv": {"name\nAda\n"}}), http.StatusBadRequest, "one of them must be email")
	// Too many rows.
	big := "email\n" + strings.Repeat("x@acme.example\n", 1001)
	expect(t, c.postFile("/admin/members/import", nil, big), http.StatusBadRequest, "The file is too large")
	// A body over the upload limit is refused before it is read whole;
	// other forms read no multipart body at all, so one is refused there.
	huge := "email\n" + strings.Repeat("a", 3<<20)
	expect(t, c.postFile("/admin/members/import", nil, huge), http.StatusRequestEntityTooLarge)
	expect(t, c.postFile("/admin/members/bulk", url.Values{"action": {"suspend"}}, strings.Repeat("a", 100<<10)), http.StatusForbidden)
	// No CSRF token, no upload.
	expect(t, c.postFile("/admin/members/import", url.Values{httpserver.CSRFField: {"nope"}}, file), http.StatusForbidden)
}
