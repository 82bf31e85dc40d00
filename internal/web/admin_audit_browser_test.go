package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAuditLogPaging pages the audit log in Chromium the way an
// admin reads it: newest first, older twice, newer back to the top, while
// events keep arriving; then filters it and opens one event's page.
// Screenshots go to $GATEHOUSE_SCREENSHOTS.
func TestBrowserAuditLogPaging(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	org, _ := e.setupOwner()
	for i := range 120 {
		if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "d"+strconv.Itoa(i)+".example"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.AppendAudit(context.Background(), &storage.AuditEvent{OrgID: org.ID, Time: e.clock.Now(), ActorType: "anonymous",
		ActorEmail: "mallory@acme.example", Action: "login.failure", Outcome: "failure", Reason: "bad_credentials", IP: "198.51.100.7"}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	// Signing in was recorded too: the newest event is read now.
	head, err := e.store.AuditHead(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	firstSeq := func() int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.TrimSpace(b.text("table.data tbody tr:first-child td:first-child")), 10, 64)
		if err != nil {
			t.Fatalf("first row: %v", err)
		}
		return n
	}
	lastSeq := func() int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.TrimSpace(b.text("table.data tbody tr:last-child td:first-child")), 10, 64)
		if err != nil {
			t.Fatalf("last row: %v", err)
		}
		return n
	}
	b.do("open the audit log", chromedp.Navigate(e.srv.URL+"/admin"), chromedp.WaitVisible(css(".admin-nav")),
		chromedp.Click(css(`.admin-nav a[href="/admin/audit"]`)), chromedp.WaitVisible(css("table.data")))
	if got := firstSeq(); got != head.Seq {
		t.Fatalf("the log opens on event %d, want the newest, %d", got, head.Seq)
	}
	if s := b.text("table.data tbody tr:nth-child(2)"); !strings.Contains(s, "login.failure") || !strings.Contains(s, "Failed: bad_credentials") {
		t.Errorf("second newest row = %q", s)
	}
	b.shot("admin-audit-newest")

	b.do("older", chromedp.Click(css(`a[rel="next"]`)), chromedp.WaitVisible(css(`a[rel="prev"]`)))
	if got := firstSeq(); got != head.Seq-50 {
		t.Errorf("the older page starts at %d, want %d", got, head.Seq-50)
	}
	// An event recorded now appears on the newest page only.
	if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "late.example"); err != nil {
		t.Fatal(err)
	}
	b.do("older again", chromedp.Click(css(`a[rel="next"]`)), chromedp.WaitNotPresent(css(`a[rel="next"]`)))
	if got, last := firstSeq(), lastSeq(); got != head.Seq-100 || last != 1 {
		t.Errorf("the oldest page shows %d to %d, want %d to 1", got, last, head.Seq-100)
	}
	b.shot("admin-audit-oldest")
	b.do("newer", chromedp.Click(css(`a[rel="prev"]`)), chromedp.WaitVisible(css(`a[rel="next"]`)))
	if got, last := firstSeq(), lastSeq(); got != head.Seq-50 || last != head.Seq-99 {
		t.Errorf("back newer, the page shows %d to %d, want %d to %d", got, last, head.Seq-50, head.Seq-99)
	}
	// The page where the walk began is as it was; the event recorded
	// meanwhile is one page newer.
	b.do("newer again", chromedp.Click(css(`a[rel="prev"]`)), chromedp.WaitVisible(css(`a[href="/admin/audit?after=`+strconv.FormatInt(head.Seq, 10)+`"]`)))
	if got, last := firstSeq(), lastSeq(); got != head.Seq || last != head.Seq-49 {
		t.Errorf("the page where the walk began shows %d to %d, want %d to %d", got, last, head.Seq, head.Seq-49)
	}
	b.do("newer to the top", chromedp.Click(css(`a[rel="prev"]`)), chromedp.WaitNotPresent(css(`a[rel="prev"]`)))
	if got := firstSeq(); got != head.Seq+1 {
		t.Errorf("the top now starts at %d, want the event recorded meanwhile, %d", got, head.Seq+1)
	}

	b.do("filter failures",
		chromedp.SetValue(css("#outcome"), "failure"),
		chromedp.Click(css(`form.filters button[type=submit]`)),
		chromedp.WaitVisible(css(`.filters-buttons a[href="/admin/audit"]`)),
	)
	if s := b.text("table.data tbody"); !strings.Contains(s, "login.failure") || strings.Contains(s, "domain.add") {
		t.Errorf("failures = %q", s)
	}
	b.shot("admin-audit-filtered")
	b.do("open the event", chromedp.Click(css(`table.data tbody tr:first-child th a`)), chromedp.WaitVisible(css("#chain-heading")))
	if s := b.text("main"); !strings.Contains(s, "mallory@acme.example") || !strings.Contains(s, "198.51.100.7") || !strings.Contains(s, "Previous hash") {
		t.Errorf("event page = %q", s)
	}
	b.shot("admin-audit-event")
	b.do("a domain event", chromedp.Navigate(e.srv.URL+"/admin/audit/"+strconv.FormatInt(head.Seq-2, 10)), chromedp.WaitVisible(css("#chain-heading")))
	b.do("to its domain", chromedp.Click(css(`a[href^="/admin/domains/"]`)), chromedp.WaitVisible(css(".record")))

	if b.shots != "" {
		phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		b.do("audit on a phone", phone, chromedp.Navigate(e.srv.URL+"/admin/audit?before=60"), chromedp.WaitVisible(css("table.data")))
		b.shot("admin-audit-paged-phone")
		b.do("event on a phone", chromedp.Navigate(e.srv.URL+"/admin/audit/"+strconv.FormatInt(head.Seq, 10)), chromedp.WaitVisible(css("#chain-heading")))
		b.shot("admin-audit-event-phone")
	}
}
