package web_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// rejectionCodeRE finds the code on the rejection page.
var rejectionCodeRE = regexp.MustCompile(`send this code to your admin: <code class="break">([^<]+)</code>`)

// expectRejected checks the rejection page: status, the reason shown, a
// code, a way back, and nothing of the internals; and that the browser
// was not signed in. It returns the code.
func expectRejected(t *testing.T, c *client, r response, status int, reason string) string {
	t.Helper()
	expect(t, r, status, "We couldn't sign you in",
		"Your organization's sign-in service sent a response Gatehouse could not accept (reason:",
		"Try again, or send this code to your admin:")
	if !strings.Contains(r.body, "(reason: <code>"+reason+"</code>)") {
		t.Errorf("the page does not give the reason %s:\n%s", reason, text(r.body))
	}
	m := rejectionCodeRE.FindStringSubmatch(r.body)
	if m == nil || len(m[1]) < 8 {
		t.Fatalf("no code on the rejection page:\n%s", text(r.body))
	}
	if !strings.Contains(r.body, `href="/login">Try again</a>`) {
		t.Error("no Try again link to /login")
	}
	for _, leak := range []string{"goroutine", ".go:", "sso:", "saml:", "panic", "Assertion", "request \""} {
		if strings.Contains(r.body, leak) {
			t.Errorf("the rejection page shows internals (%q):\n%s", leak, text(r.body))
		}
	}
	if c.sessionCookie() != "" {
		t.Error("a rejected response signed the browser in")
	}
	return m[1]
}

// TestACSRefusals: what the ACS refuses, each with the rejection page and
// nothing written but the audit event.
func TestACSRefusals(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	org, conn := e.corpOrg(dev, nil)
	e.setSSO(org.ID, storage.SSOEnforced, conn)
	acsPath := "/saml/" + conn.Slug + "/acs"
	ctx := context.Background()
	noAccount := func(t *testing.T, what string) {
		t.Helper()
		if _, err := e.store.GetAccountByEmail(ctx, erinEmail); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s: the account exists (%v): a rejected sign-in provisioned it", what, err)
		}
	}

	t.Run("response obtained in another browser", func(t *testing.T) {
		victim, attacker := e.client(), e.client()
		post := dev.signInAtIdP(t, attacker.startSSO(erinEmail, ""), erinEmail, erinPassword)
		// The attacker hands their response to the victim's browser (login
		// CSRF), which holds no binding cookie for it.
		// The page says what went wrong in words: a browser that dropped
		// the cookie (an IdP on another site over plain http) looks the same.
		const dropped = "Your browser did not send back the cookie set when this sign-in started."
		if r := victim.postACS(post, dev.srv.URL); !strings.Contains(r.body, dropped) {
			t.Errorf("no cookie: the page does not say so:\n%s", text(r.body))
		}
		expectRejected(t, victim, victim.postACS(post, dev.srv.URL), http.StatusBadRequest, "in_response_to_mismatch")
		// Another browser with a binding cookie of its own fares no better.
		victim.startSSO(erinEmail, "")
		r := victim.postACS(post, dev.srv.URL)
		expectRejected(t, victim, r, http.StatusBadRequest, "in_response_to_mismatch")
		if strings.Contains(r.body, dropped) {
			t.Errorf("a browser with its own cookie is told it sent none:\n%s", text(r.body))
		}
		noAccount(t, "another browser")
		// The refusal consumed nothing: the browser that started it can finish.
		if r := attacker.postACS(post, dev.srv.URL); r.status != http.StatusSeeOther {
			t.Fatalf("the starting browser: %d\n%s", r.status, text(r.body))
		}
		// And the same response cannot be used again, in any browser.
		again := e.client()
		expectRejected(t, again, again.postACS(post, dev.srv.URL), http.StatusBadRequest, "request_reused")
		r = attacker.postACS(post, dev.srv.URL)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "reason: <code>request_reused</code>") {
			t.Errorf("replay in the same browser: %d\n%s", r.status, text(r.body))
		}
	})

	t.Run("garbage", func(t *testing.T) {
		c := e.client()
		c.startSSO(erinEmail, "")
		before := e.sessionCount(t)
		for _, v := range []string{"not base64 at all %%%", base64.StdEncoding.EncodeToString([]byte("<html>not SAML</html>")), ""} {
			r := c.postRaw(acsPath, url.Values{"SAMLResponse": {v}}.Encode(), nil)
			expectRejected(t, c, r, http.StatusBadRequest, "response_not_verified")
		}
		if e.sessionCount(t) != before {
			t.Error("a rejected response wrote a session")
		}
	})

	t.Run("oversized body", func(t *testing.T) {
		c := e.client()
		big := url.Values{"SAMLResponse": {strings.Repeat("A", 300<<10)}}.Encode()
		r := c.postRaw(acsPath, big, nil)
		expect(t, r, http.StatusRequestEntityTooLarge, "larger than Gatehouse accepts")
		// Just under the limit is read, and refused as a response.
		r = c.postRaw(acsPath, url.Values{"SAMLResponse": {strings.Repeat("A", 200<<10)}}.Encode(), nil)
		if r.status == http.StatusRequestEntityTooLarge {
			t.Error("a 200 KiB response was refused as too large")
		}
	})

	t.Run("wrong audience", func(t *testing.T) {
		allow := true
		if _, err := e.idps.Update(adminCtx(org.ID), org.ID, conn.ID, idp.UpdateInput{AllowIdPInitiated: &allow}); err != nil {
			t.Fatal(err)
		}
		c := e.client()
		// The IdP signed a response for another SP: audience_mismatch is a
		// reason the page may name.
		post := dev.idpInitiated(t, e.idps.ACSURL(conn), "https://other-sp.example/saml", "")
		before := e.sessionCount(t)
		code := expectRejected(t, c, c.postACS(post, dev.srv.URL), http.StatusBadRequest, "audience_mismatch")
		if e.sessionCount(t) != before {
			t.Error("a rejected response wrote a session")
		}
		evs, err := e.store.ListAudit(ctx, storage.AuditFilter{OrgID: org.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range evs {
			if ev.Action == "sso.rejected" && ev.Details["code"] == code {
				found = true
			}
		}
		if !found {
			t.Errorf("no sso.rejected audit event with the code %s", code)
		}
	})

	if got := e.signIns("sso", "failure"); got < 5 {
		t.Errorf("sso failures = %v", got)
	}
}

// sessionCount counts live sessions of every account.
func (e *env) sessionCount(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	orgs, err := e.store.ListOrganizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range orgs {
		accts, err := e.store.ListAccounts(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			s, err := e.sessions.List(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			n += len(s)
		}
	}
	return n
}

// A client posting rejected responses again and again is refused before
// validation once it has used its budget, so it cannot fill the audit log;
// the refusal says when to try again.
func TestACSRejectionsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	_, conn := e.corpOrg(dev, nil)
	acsPath := "/saml/" + conn.Slug + "/acs"
	c := e.client()
	garbage := url.Values{"SAMLResponse": {"not a response"}}.Encode()
	for i := 0; i < 50; i++ {
		if r := c.postRaw(acsPath, garbage, nil); r.status != http.StatusBadRequest {
			t.Fatalf("rejection %d: status %d", i+1, r.status)
		}
	}
	before := e.auditCount()
	r := c.postRaw(acsPath, garbage, nil)
	expect(t, r, http.StatusTooManyRequests, "Too many single sign-on attempts")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the 429")
	}
	if e.auditCount() != before {
		t.Error("a rate-limited post was still validated and audited")
	}
	// The budget comes back after the window.
	e.clock.Advance(16 * time.Minute)
	if r := c.postRaw(acsPath, garbage, nil); r.status != http.StatusBadRequest {
		t.Errorf("after the window: status %d, want the post validated again", r.status)
	}
}

// failingThrottles is a store whose rate-limit counter cannot be written.
type failingThrottles struct{ storage.Store }

func (failingThrottles) RecordFailure(context.Context, string, time.Time, time.Duration) (storage.Throttle, error) {
	return storage.Throttle{}, errors.New("throttle table unavailable")
}

// A rejection that cannot be counted is still answered with the rejection
// page, also by a Handler given no logger.
func TestACSRejectionUncountedWithoutLogger(t *testing.T) {
	e := newEnv(t)
	dev := e.startDevIdP()
	_, conn := e.corpOrg(dev, nil)
	e.handler.Log = nil
	e.handler.Limiter = ratelimit.New(failingThrottles{e.store}, e.clock.Now)
	r := e.client().postRaw("/saml/"+conn.Slug+"/acs", url.Values{"SAMLResponse": {"not a response"}}.Encode(), nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want the 400 rejection page", r.status)
	}
}
