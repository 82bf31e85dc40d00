package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// shownSeqs are the event numbers an audit page lists, top to bottom.
func shownSeqs(t *testing.T, body string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range regexp.MustCompile(`aria-label="Event (\d+)"`).FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

// link is the unescaped href of the pager link with text label, or "".
func link(body, label string) string {
	m := regexp.MustCompile(`href="([^"]*)"[^>]*>` + regexp.QuoteMeta(label) + `<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAdminAuditPagesBothWays(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	for i := range 60 {
		if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "d"+strconv.Itoa(i)+".example"); err != nil {
			t.Fatal(err)
		}
	}
	head, err := e.store.AuditHead(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The newest page: the newest 50 events, newest first, and a way older.
	r := c.get("/admin/audit")
	expect(t, r, http.StatusOK, "domain.add", "newest first", "Older")
	first := shownSeqs(t, r.body)
	if len(first) != 50 || first[0] != head.Seq || first[49] != head.Seq-49 {
		t.Fatalf("first page shows %v, want %d down to %d", first, head.Seq, head.Seq-49)
	}
	if link(r.body, "← Newer") != "" {
		t.Error("the newest page offers newer events")
	}
	older := link(r.body, "Older →")
	if older != "/admin/audit?before="+strconv.FormatInt(head.Seq-49, 10) {
		t.Fatalf("older link %q", older)
	}

	// Events recorded meanwhile do not move the older page.
	for i := range 5 {
		if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "late"+strconv.Itoa(i)+".example"); err != nil {
			t.Fatal(err)
		}
	}
	r = c.get(older)
	expect(t, r, http.StatusOK, "organization.create", "Newest")
	second := shownSeqs(t, r.body)
	if len(second) != int(head.Seq-50) || second[0] != head.Seq-50 || second[len(second)-1] != 1 {
		t.Fatalf("older page shows %v", second)
	}
	if link(r.body, "Older →") != "" {
		t.Error("the oldest page offers older events")
	}

	// Newer from the oldest page: the 50 events just above it, then the
	// top, which now holds the five new events too.
	newer := link(r.body, "← Newer")
	if newer != "/admin/audit?after="+strconv.FormatInt(head.Seq-50, 10) {
		t.Fatalf("newer link %q", newer)
	}
	r = c.get(newer)
	if up := shownSeqs(t, r.body); len(up) != 50 || up[0] != head.Seq || up[49] != head.Seq-49 {
		t.Fatalf("newer page shows %v, want %d down to %d", up, head.Seq, head.Seq-49)
	}
	r = c.get(link(r.body, "← Newer"))
	expect(t, r, http.StatusOK, "late4.example")
	if top := shownSeqs(t, r.body); len(top) != 50 || top[0] != head.Seq+5 {
		t.Fatalf("top page shows %v", top)
	}
	if link(r.body, "← Newer") != "" {
		t.Error("the top page offers newer events")
	}

	// A newer page in the middle of the log is the 50 events just above
	// the cursor, still newest first.
	r = c.get("/admin/audit?after=3")
	mid := shownSeqs(t, r.body)
	if len(mid) != 50 || mid[0] != 53 || mid[49] != 4 {
		t.Fatalf("middle page shows %v", mid)
	}
	if link(r.body, "← Newer") == "" || link(r.body, "Older →") != "/admin/audit?before=4" {
		t.Errorf("middle page links: newer %q older %q", link(r.body, "← Newer"), link(r.body, "Older →"))
	}

	// Broken cursors are refused in plain words.
	for _, q := range []string{"after=-4", "before=x", "after=3&before=9"} {
		expect(t, c.get("/admin/audit?"+q), http.StatusBadRequest, "The page link is broken")
	}
}

func TestAdminAuditFilters(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	ctx := context.Background()
	d, err := e.domains.Add(adminCtx(org.ID), org.ID, "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "other.example"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AppendAudit(ctx, &storage.AuditEvent{OrgID: org.ID, Time: e.clock.Now(), ActorType: "anonymous",
		ActorEmail: "mallory@acme.example", Action: "login.failure", Outcome: "failure", Reason: "bad_credentials"}); err != nil {
		t.Fatal(err)
	}
	day := e.clock.Now().UTC().Format("2006-01-02")

	for _, c2 := range []struct {
		query      string
		want, gone []string
	}{
		{"action=login.*", []string{"login.success", "login.failure"}, []string{"domain.add"}},
		{"actor=" + url.QueryEscape(ownerEmail), []string{"login.success"}, []string{"domain.add", "login.failure"}},
		{"actor=" + owner.ID, []string{"login.success"}, []string{"domain.add"}},
		{"outcome=failure", []string{"login.failure", "bad_credentials"}, []string{"login.success"}},
		{"target_type=domain&target=" + d.ID, []string{"acme.example"}, []string{"other.example"}},
		{"target_type=domain", []string{"acme.example", "other.example"}, []string{"login.success"}},
		{"from=" + day + "&to=" + day, []string{"login.success", "domain.add"}, nil},
	} {
		r := c.get("/admin/audit?" + c2.query)
		expect(t, r, http.StatusOK, c2.want...)
		for _, g := range c2.gone {
			if strings.Contains(r.body, g) {
				t.Errorf("%s: the page shows %s", c2.query, g)
			}
		}
	}
	expect(t, c.get("/admin/audit?from=2999-01-01"), http.StatusOK, "No events match the filter")
	expect(t, c.get("/admin/audit?to=2000-01-01"), http.StatusOK, "No events match the filter")
	expect(t, c.get("/admin/audit?since=2999-01-01"), http.StatusOK, "No events match the filter")
	expect(t, c.get("/admin/audit?from=yesterday"), http.StatusBadRequest, "Enter a date like 2026-01-31.")
	expect(t, c.get("/admin/audit?from=2026-02-01&to=2026-01-01"), http.StatusBadRequest, "The end of the range is before its start.")
	expect(t, c.get("/admin/audit?outcome=maybe"), http.StatusBadRequest, "Choose an outcome from the list.")
	// Filters stay on the pager links and in the export link.
	r := c.get("/admin/audit?action=domain.*")
	if !strings.Contains(r.body, `href="/admin/audit/export?action=domain.%2A"`) {
		t.Error("the export link lost the filter")
	}
}

func TestAdminAuditEventPage(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	ctx := context.Background()
	// A change made in the console, so its actor is the owner.
	r := c.post("/admin/domains", url.Values{"name": {"acme.example"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("add domain: %d", r.status)
	}
	evs, err := e.store.ListAudit(ctx, storage.AuditFilter{OrgID: org.ID, Action: "domain.add", Newest: true, Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("domain.add event: %v %v", evs, err)
	}
	ev := evs[0]
	r = c.get("/admin/audit/" + strconv.FormatInt(ev.Seq, 10))
	expect(t, r, http.StatusOK, "domain.add", ev.ID, ev.Hash, ev.PrevHash, ev.RequestID, ownerEmail, "acme.example", "Previous event")
	for _, want := range []string{`href="/admin/members/` + owner.ID + `"`, `href="/admin/domains/` + ev.TargetID + `"`,
		`<time datetime="` + ev.Time.UTC().Format("2006-01-02T15:04:05"), `href="/admin/audit?actor=` + owner.ID + `"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the event page lacks %s", want)
		}
	}
	if strings.Contains(r.body, "Next event") {
		t.Error("the newest event offers a next one")
	}
	// Its row in the log leads to it.
	if !strings.Contains(c.get("/admin/audit").body, `href="/admin/audit/`+strconv.FormatInt(ev.Seq, 10)+`"`) {
		t.Error("the log does not link to the event's page")
	}
	expect(t, c.get("/admin/audit/1"), http.StatusOK, "none: this is the first event", "Next event")

	// Another organization's event at a position this chain has not
	// reached is not found; neither is a made-up one.
	if err := e.store.AppendAudit(ctx, &storage.AuditEvent{OrgID: "someone-else", Action: "x", Time: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/audit/" + strconv.FormatInt(ev.Seq+100, 10), "/admin/audit/0", "/admin/audit/abc", "/admin/audit/-1"} {
		expect(t, c.get(p), http.StatusNotFound, "There is no such audit event")
	}
}

func TestAdminAuditVerifyAndExport(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	ctx := context.Background()
	for i := range 5 {
		if _, err := e.domains.Add(adminCtx(org.ID), org.ID, "d"+strconv.Itoa(i)+".example"); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, c.get("/admin/audit?verify=1"), http.StatusOK, "Chain verified", "The audit log is intact")

	// Export: JSON lines of this organization only, as a download, in
	// chain order, whatever page the link was taken from.
	res := c.get("/admin/audit/export?action=login.*&before=2")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Disposition"), `attachment; filename="audit-acme-corp-`) {
		t.Fatalf("export: %d %q", res.status, res.header.Get("Content-Disposition"))
	}
	lines := strings.Split(strings.TrimSpace(res.body), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("empty export")
	}
	for _, l := range lines {
		var ev audit.Entry
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		if ev.OrgID != org.ID || !strings.HasPrefix(ev.Action, "login.") {
			t.Errorf("exported %s of org %s", ev.Action, ev.OrgID)
		}
	}
	all := c.get("/admin/audit/export")
	allLines := strings.Split(strings.TrimSpace(all.body), "\n")
	n := len(allLines) - 1 // the last line is the chain head
	if res, err := audit.Verify(ctx, e.store, org.ID); err != nil || int64(n) != res.Events ||
		!strings.Contains(allLines[n], `"record":"head"`) || !strings.Contains(allLines[n], res.Head.Hash) {
		t.Errorf("full export has %d event lines and head %s, chain %d events, head %s (%v)", n, allLines[n], res.Events, res.Head.Hash, err)
	}
	var firstLine audit.Entry
	if err := json.Unmarshal([]byte(allLines[0]), &firstLine); err != nil || firstLine.Seq != 1 {
		t.Errorf("the export does not start at event 1: %s", allLines[0])
	}
	expect(t, c.get("/admin/audit/export?from=bad"), http.StatusBadRequest)

	// A tampered event is found and named.
	evs, err := e.store.ListAudit(ctx, storage.AuditFilter{OrgID: org.ID, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	tamperAudit(t, e, evs[2])
	expect(t, c.get("/admin/audit?verify=1"), http.StatusOK, "Chain broken", "The audit log has been tampered with", "event 3")
}

// An event's page is the console's like any other: a member is refused,
// an anonymous visitor is sent to sign in, and an admin of another
// organization sees only their own chain's event at that number.
func TestAdminAuditEventPageAccess(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	anon := e.client()
	if r := anon.get("/admin/audit/1"); r.status != http.StatusSeeOther || r.location() != "/login?return_to="+url.QueryEscape("/admin/audit/1") {
		t.Errorf("anonymous: %d to %q", r.status, r.location())
	}
	mia := e.client()
	mia.signIn("mia@acme.example", memberPassword)
	for _, p := range []string{"/admin/audit/1", "/admin/audit?before=3", "/admin/audit?outcome=failure"} {
		expect(t, mia.get(p), http.StatusForbidden, "Only your organization's owners and admins")
	}
}
