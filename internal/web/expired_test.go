package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
)

// TestPostAfterSessionEnded: a form posted after the session ended lands on
// the sign-in page saying so, and signing in returns to the page the form
// was on — never a silent bounce.
func TestPostAfterSessionEnded(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	c.get("/account?tab=sessions")
	// The session ends elsewhere (signed out everywhere, expired).
	other := e.client()
	other.signIn(ownerEmail, ownerPassword)
	other.post("/account/sessions/revoke-others", nil)

	form := url.Values{"current": {ownerPassword}, "password": {newPassword}, "confirm": {newPassword},
		httpserver.CSRFField: {c.csrf()}}
	r := c.postRaw("/account/password", form.Encode(), http.Header{"Referer": {e.srv.URL + "/account?tab=sessions"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("post after the session ended: %d", r.status)
	}
	loc, _ := url.Parse(r.location())
	if loc.Path != "/login" || loc.Query().Get("notice") != "session-ended" || loc.Query().Get("return_to") != "/account?tab=sessions" {
		t.Fatalf("sent to %q", r.location())
	}
	page := c.get(r.location())
	expect(t, page, http.StatusOK, "Your session ended")
	if !strings.Contains(page.body, `name="return_to" value="/account?tab=sessions"`) {
		t.Error("the sign-in form does not carry the page to return to")
	}
	step := c.post("/login", url.Values{"email": {ownerEmail}, "return_to": {"/account?tab=sessions"}})
	m := flowRe.FindStringSubmatch(step.body)
	if m == nil {
		t.Fatalf("no password step:\n%s", text(step.body))
	}
	done := c.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "flow": {m[1]},
		"return_to": {"/account?tab=sessions"}})
	if done.status != http.StatusSeeOther || done.location() != "/account?tab=sessions" {
		t.Errorf("after signing in again: %d → %q", done.status, done.location())
	}
}

// TestStaleFormToken: a form whose token went stale (a long-open tab)
// gets a page that says what happened and leads back to the page it was
// on; a Referer from elsewhere is never offered as the way back.
func TestStaleFormToken(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	stale := url.Values{httpserver.CSRFField: {"c3RhbGUtdG9rZW4tZnJvbS1hbi1vbGQtdGFi"}}
	r := c.postRaw("/account/sessions/revoke-others", stale.Encode(), http.Header{"Referer": {e.srv.URL + "/account"}})
	expect(t, r, http.StatusForbidden, "its form expired", "nothing was changed", "Reload the page")
	if !strings.Contains(r.body, `href="/account"`) {
		t.Error("no way back to the page the form was on")
	}
	r = c.postRaw("/account/sessions/revoke-others", stale.Encode(), http.Header{"Referer": {"https://evil.example/account"}})
	expect(t, r, http.StatusForbidden)
	if strings.Contains(r.body, "evil.example") || strings.Contains(r.body, `href="/account"`) {
		t.Error("a foreign Referer was offered as the way back")
	}
}
