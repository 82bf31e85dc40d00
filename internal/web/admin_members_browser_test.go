package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserMembersAtScale is an admin's afternoon with 5,000 people in a
// real Chromium, no script involved: find one person by search, suspend
// three through the confirmation page, reactivate one, and import a CSV
// file with two bad rows.
func TestBrowserMembersAtScale(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	org, _ := e.setupOwner()
	ms := seedMembers(t, e.store, org.ID, 5000, e.clock.Now())
	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("members", chromedp.Navigate(e.srv.URL+"/admin"), chromedp.Click(css(`.admin-nav a[href="/admin/members"]`)),
		chromedp.WaitVisible(css("#q")))
	b.shot("admin-members-5000")
	if n := strings.Count(b.text("table.data tbody"), "@acme.example"); n != 50 {
		t.Errorf("the first page shows %d people, want 50", n)
	}

	// Find one person among 5,000 by the start of their name.
	b.do("search", chromedp.SendKeys(css("#q"), "person 4321"), chromedp.Submit(css("#q")),
		chromedp.WaitVisible(css(`input[value="`+ms[4321].ID+`"]`)))
	if s := b.text("table.data tbody"); !strings.Contains(s, "person-4321@acme.example") || strings.Count(s, "@acme.example") != 1 {
		t.Fatalf("search for person 4321 shows %q", s)
	}

	// Suspend three: select, review, confirm.
	b.do("search for three", chromedp.Navigate(e.srv.URL+"/admin/members?q=person-000"), chromedp.WaitVisible(css("#bulk-action")))
	b.do("select three",
		chromedp.Click(css(`#sel-`+ms[1].ID)), chromedp.Click(css(`#sel-`+ms[2].ID)), chromedp.Click(css(`#sel-`+ms[3].ID)),
		chromedp.SetValue(css("#bulk-action"), "suspend"),
		chromedp.Click(css(`form[action="/admin/members/bulk"] button[type=submit]`)),
		chromedp.WaitVisible(css(`form[action="/admin/members/bulk/apply"]`)),
	)
	b.ShotWidths("admin-members-bulk-confirm")
	if s := b.text("main"); !strings.Contains(s, "Suspend 3 people?") || !strings.Contains(s, "person-0002@acme.example") {
		t.Fatalf("confirmation = %q", s)
	}
	b.do("confirm", chromedp.Click(css(`form[action="/admin/members/bulk/apply"] button[type=submit]`)),
		chromedp.WaitVisible(css(`a[href="/admin/members"].btn-primary`)))
	b.ShotWidths("admin-members-bulk-results")
	if s := b.text("main"); !strings.Contains(s, "3 changed") {
		t.Fatalf("results = %q", s)
	}
	for _, m := range ms[1:4] {
		if a, _ := e.store.GetAccount(context.Background(), m.ID); a.Status != storage.StatusSuspended {
			t.Errorf("%s is %s", m.Email, a.Status)
		}
	}

	// Reactivate one of them, found through the status filter.
	b.do("suspended people", chromedp.Navigate(e.srv.URL+"/admin/members"), chromedp.WaitVisible(css("#f-status")),
		chromedp.SetValue(css("#f-status"), "suspended"), chromedp.Submit(css("#q")), chromedp.WaitVisible(css(`#sel-`+ms[2].ID)))
	if s := b.text("table.data tbody"); strings.Count(s, "@acme.example") != 3 {
		t.Fatalf("suspended filter shows %q", s)
	}
	b.do("reactivate one",
		chromedp.Click(css(`#sel-`+ms[2].ID)),
		chromedp.SetValue(css("#bulk-action"), "reactivate"),
		chromedp.Click(css(`form[action="/admin/members/bulk"] button[type=submit]`)),
		chromedp.WaitVisible(css(`form[action="/admin/members/bulk/apply"]`)),
		chromedp.Click(css(`form[action="/admin/members/bulk/apply"] button[type=submit]`)),
		chromedp.WaitVisible(css(`a[href="/admin/members"].btn-primary`)),
	)
	if s := b.text("main"); !strings.Contains(s, "1 changed") {
		t.Fatalf("results = %q", s)
	}
	if a, _ := e.store.GetAccount(context.Background(), ms[2].ID); a.Status != storage.StatusActive {
		t.Errorf("the reactivated member is %s", a.Status)
	}

	// Import a file with two bad rows: the preview names them by line,
	// and confirming invites the others only.
	file := filepath.Join(t.TempDir(), "people.csv")
	csv := "email,name,role\nlin@acme.example,Lin Lee,\nnot an email,Bad Row,\nmo@acme.example,Mo Ali,admin\nkim@acme.example,Kim,root\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("import", chromedp.Navigate(e.srv.URL+"/admin/members"), chromedp.Click(css(`a[href="/admin/members/import"]`)),
		chromedp.WaitVisible(css("#file")),
		chromedp.SetUploadFiles(css("#file"), []string{file}),
		chromedp.Click(css(`form[action="/admin/members/import"] button[type=submit]`)),
		chromedp.WaitVisible(css(`form[action="/admin/members/import/confirm"]`)),
	)
	b.ShotWidths("admin-members-import-preview")
	s := b.text("main")
	for _, want := range []string{"2 will be invited", "2 rows have problems", "The email address is not valid.", "The role must be member, admin or owner."} {
		if !strings.Contains(s, want) {
			t.Errorf("preview lacks %q: %q", want, s)
		}
	}
	b.do("invite them", chromedp.Click(css(`form[action="/admin/members/import/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")))
	if s := b.text(".notice"); !strings.Contains(s, "invitations are on their way") {
		t.Errorf("notice = %q", s)
	}
	if s := b.text("table.data tbody"); !strings.Contains(s, "Lin Lee") || !strings.Contains(s, "Mo Ali") || strings.Contains(s, "Kim") {
		t.Errorf("invited list = %q", s)
	}
	for _, email := range []string{"lin@acme.example", "mo@acme.example"} {
		if _, err := e.store.GetAccountByEmail(context.Background(), email); err != nil {
			t.Errorf("%s was not invited: %v", email, err)
		}
	}
	if _, err := e.store.GetAccountByEmail(context.Background(), "kim@acme.example"); err == nil {
		t.Error("a bad row was imported")
	}
}
