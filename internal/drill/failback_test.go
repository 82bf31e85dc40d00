package drill

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The people of the failback half of the drill, besides alice and bob.
const (
	carolEmail    = "carol@corp.example" // suspended by an admin before the outage
	carolPassword = "carol at the idp 1"
	erinEmail     = "erin@corp.example" // last signed in through SSO 40 days ago
	erinPassword  = "erin at the idp 1"
	bobNewPass    = "bob's outage password 7"
)

// erinSignedInLongAgo: erin signed in through SSO, then did not for 40
// days, longer than the default policy's 30-day failback window. An IdP
// that is down can't say whether she has left the company, so she must
// not fail back. The owner, idle all that time, signs in again.
func erinSignedInLongAgo(t *testing.T, d *drill) {
	b := d.Browser()
	b.SignInSSO(erinEmail, erinPassword)
	b.SignedIn(erinEmail)
	d.Advance(40 * 24 * time.Hour)
	d.ownerBrowser = d.Browser()
	d.ownerSignsIn(t, d.ownerBrowser)
}

// ownerSignsIn signs the break-glass owner in on b: her password, then the
// code of her authenticator app.
func (d *drill) ownerSignsIn(t *testing.T, b *Browser) {
	t.Helper()
	p := b.PasswordStep(ownerEmail, ownerPassword)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/login/mfa?") || b.SessionCookie() != "" {
		t.Fatalf("the owner's password did not lead to the second step: %d → %q\n%s", p.Status, p.Location(), p.Text())
	}
	mfaPage := b.Get(p.Location())
	expect(t, mfaPage, http.StatusOK, "Code from your authenticator app")
	f, ok := mfaPage.Form("/login/mfa")
	if !ok || !f.Fields.Has("code") {
		t.Fatalf("the second step has no code form:\n%s", mfaPage.Text())
	}
	f.Fields.Set("kind", "totp")
	f.Fields.Set("code", d.ownerCode(t))
	if p = b.Post(f.Action, f.Fields); p.Status != http.StatusSeeOther || b.SessionCookie() == "" {
		t.Fatalf("the owner's code: %d → %q\n%s", p.Status, p.Location(), p.Text())
	}
	b.SignedIn(ownerEmail)
	// A code is good once per 30-second step.
	d.Advance(30 * time.Second)
}

// carolIsSuspended: carol signed in through SSO this morning; an admin
// then suspends her (she is leaving). Her sessions end.
func carolIsSuspended(t *testing.T, d *drill) {
	b := d.Browser()
	b.SignInSSO(carolEmail, carolPassword)
	b.SignedIn(carolEmail)
	carol, err := d.App.Store.GetAccountByEmail(context.Background(), carolEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.App.Accounts.SetStatus(d.Admin, d.org.ID, carol.ID, storage.StatusSuspended); err != nil {
		t.Fatalf("suspend carol: %v", err)
	}
	// Her sessions end in the database at once; a node's session cache
	// drops them when it reads the invalidation feed (every 500 ms).
	deadline := time.Now().Add(5 * time.Second)
	for b.Get("/account").Status != http.StatusSeeOther {
		if time.Now().After(deadline) {
			t.Fatal("a suspended person's session still opens /account")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// emergencyIsDeclared: with the incident open, the owner declares
// emergency mode for the organization in the console, with a reason and
// four hours. Every admin is mailed; the sign-in page of the domain turns
// into the emergency page for every address alike.
func emergencyIsDeclared(t *testing.T, d *drill) {
	p := d.ownerBrowser.Get("/admin/emergency")
	expect(t, p, http.StatusOK, "Emergency")
	d.emergencyDeclared = time.Now()
	p = d.ownerBrowser.Post("/admin/emergency", url.Values{"reason": {"Dev IdP unreachable"}, "for": {"4h"}, "scope": {"org"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("declare the emergency: %d\n%s", p.Status, p.Text())
	}
	em, ok, err := d.App.Emergencies.Active(authz.AsCLI(context.Background(), "drill"), d.org.ID)
	if err != nil || !ok {
		t.Fatalf("no emergency in force after declaring one: %v", err)
	}
	d.emergency = em
	if got := em.EndsAt.Sub(em.StartedAt); got != 4*time.Hour {
		t.Errorf("the emergency lasts %v, want 4h", got)
	}
	if m := d.MailsTo(ownerEmail, "mergency"); len(m) == 0 {
		t.Error("the owner was not mailed that the emergency started")
	}
	// The same page for everyone in the domain: no enumeration.
	pages := map[string]string{}
	for _, email := range []string{aliceEmail, erinEmail, carolEmail, "nobody@" + corpDomain} {
		p := d.Browser().EmailStep(email)
		expect(t, p, http.StatusOK, "Emergency sign-in", "Single sign-on is unavailable", "Use your passkey",
			"Sign in with password", "Set or reset your password", "Try Dev IdP")
		pages[email] = scrub(p.Body, email)
	}
	for email, body := range pages {
		if body != pages["nobody@"+corpDomain] {
			t.Errorf("the emergency page for %s differs from an unknown address's:\n%s", email, firstDiff(body, pages["nobody@"+corpDomain]))
		}
	}
}

var hiddenValueRE = regexp.MustCompile(`(name="(?:csrf_token|flow)" value="|flow=)[A-Za-z0-9_-]*`)

// firstDiff shows where a and b first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return "…" + a[lo:min(len(a), i+80)] + "…\nvs\n…" + b[lo:min(len(b), i+80)] + "…"
}

// scrub removes what legitimately differs between two people's pages:
// the typed address and the per-flow secrets.
func scrub(body, email string) string {
	local, _, _ := strings.Cut(email, "@")
	for _, form := range []string{email, url.QueryEscape(email), local + "@<wbr>"} {
		body = strings.ReplaceAll(body, form, "EMAIL")
	}
	return hiddenValueRE.ReplaceAllString(body, `${1}X`)
}

// aliceSignsInWithPasskey: alice, on a new laptop browser with no
// session, signs in with the emergency passkey she registered while SSO
// worked. No mail is involved; the session says it was made with a
// passkey during the emergency.
func aliceSignsInWithPasskey(t *testing.T, d *drill) {
	before := len(d.MailsTo(aliceEmail, ""))
	b := d.Browser()
	p := b.EmailStep(aliceEmail)
	f, ok := p.Form("/login/passkey")
	if !ok {
		t.Fatalf("the emergency page has no passkey form:\n%s", p.Text())
	}
	opts := b.Post("/login/passkey/options", url.Values{"flow": {f.Fields.Get("flow")}})
	var begun struct {
		Options   json.RawMessage `json:"options"`
		Challenge string          `json:"challenge"`
	}
	if opts.Status != http.StatusOK || json.Unmarshal([]byte(opts.Body), &begun) != nil || begun.Challenge == "" {
		t.Fatalf("passkey options: %d %s", opts.Status, opts.Body)
	}
	assertion, err := d.alicePasskey.Get(begun.Options)
	if err != nil {
		t.Fatal(err)
	}
	f.Fields.Set("challenge", begun.Challenge)
	f.Fields.Set("assertion", string(assertion))
	p = b.Post(f.Action, f.Fields)
	if p.Status != http.StatusSeeOther || b.SessionCookie() == "" {
		t.Fatalf("alice's passkey sign-in: %d → %q\n%s", p.Status, p.Location(), p.Text())
	}
	d.firstPasskeySignIn = time.Since(d.emergencyDeclared)
	t.Logf("emergency declared → alice signed in with her passkey: %v (wall clock, no mail)", d.firstPasskeySignIn)
	b.SignedIn(aliceEmail)
	v, err := d.App.Sessions.Validate(context.Background(), b.SessionCookie())
	if err != nil {
		t.Fatal(err)
	}
	methods := strings.Join(v.Methods(), " ")
	if !strings.Contains(methods, "hwk") || !strings.Contains(methods, "emergency") || v.Session.EmergencyID != d.emergency.ID {
		t.Errorf("alice's emergency session: methods %q, emergency %q; want hwk and emergency under %s", methods, v.Session.EmergencyID, d.emergency.ID)
	}
	if n := len(d.MailsTo(aliceEmail, "")); n != before {
		t.Errorf("alice's passkey sign-in sent her %d mails", n-before)
	}
	d.aliceEmergency = b
}

// bobSetsPasswordByMail: bob, who never had a Gatehouse password, uses
// "Set or reset your password" on the emergency page; the mail arrives
// (the organization's mail works in this drill), he sets one and signs
// in with it.
func bobSetsPasswordByMail(t *testing.T, d *drill) {
	b := d.Browser()
	b.Get("/forgot?email=" + url.QueryEscape(bobEmail))
	if p := b.Post("/forgot", url.Values{"email": {bobEmail}}); p.Status != http.StatusOK && p.Status != http.StatusSeeOther {
		t.Fatalf("reset request: %d\n%s", p.Status, p.Text())
	}
	m := d.MailsTo(bobEmail, "Reset your")
	if len(m) != 1 {
		t.Fatalf("bob got %d reset mails, want 1", len(m))
	}
	link := resetLinkRE.FindString(m[0].Text)
	if link == "" {
		t.Fatalf("no reset link in the mail:\n%s", m[0].Text)
	}
	form := b.Get(link)
	f, ok := form.Form("/reset")
	if !ok {
		t.Fatalf("the reset link shows no form: %d\n%s", form.Status, form.Text())
	}
	f.Fields.Set("password", bobNewPass)
	f.Fields.Set("confirm", bobNewPass)
	if p := b.Post(f.Action, f.Fields); p.Status != http.StatusSeeOther && p.Status != http.StatusOK {
		t.Fatalf("set the password: %d\n%s", p.Status, p.Text())
	}
	d.bob = d.Browser()
	p := d.bob.EmailStep(bobEmail)
	f, ok = p.Form("/login/password")
	if !ok {
		t.Fatalf("no password form on the emergency page:\n%s", p.Text())
	}
	f.Fields.Set("password", bobNewPass)
	if p = d.bob.Post(f.Action, f.Fields); p.Status != http.StatusSeeOther || d.bob.SessionCookie() == "" {
		t.Fatalf("bob's emergency password sign-in: %d → %q\n%s", p.Status, p.Location(), p.Text())
	}
	d.bob.SignedIn(bobEmail)
	v, err := d.App.Sessions.Validate(context.Background(), d.bob.SessionCookie())
	if err != nil || v.Session.EmergencyID != d.emergency.ID {
		t.Errorf("bob's session is not marked as made during the emergency: %+v, %v", v.Session, err)
	}
}

var resetLinkRE = regexp.MustCompile(`https?://\S+/reset\?token=[A-Za-z0-9_-]+`)

// ineligiblePeopleCannot: carol (suspended) and erin (no SSO sign-in for
// 40 days) get the same pages as everyone else, but no reset mail arrives
// and no password or passkey signs them in; each refusal is in the
// organization's audit log with its reason.
func ineligiblePeopleCannot(t *testing.T, d *drill) {
	for _, who := range []struct{ email, reason string }{{carolEmail, policy.IneligibleSuspended}, {erinEmail, policy.IneligibleNoRecentSSO}} {
		b := d.Browser()
		b.Get("/forgot")
		p := b.Post("/forgot", url.Values{"email": {who.email}})
		if p.Status != http.StatusOK && p.Status != http.StatusSeeOther {
			t.Fatalf("reset request for %s: %d", who.email, p.Status)
		}
		if m := d.MailsTo(who.email, "Reset your"); len(m) != 0 {
			t.Errorf("%s got a reset mail during the emergency", who.email)
		}
		found := false
		for _, ev := range d.audit(t, "password.reset_refused") {
			if ev.Reason == who.reason && ev.Details["email"] == who.email {
				found = true
			}
		}
		if !found {
			t.Errorf("no password.reset_refused event with reason %s for %s", who.reason, who.email)
		}
		// A guessed password (they have none) is refused like any other.
		p = b.EmailStep(who.email)
		f, ok := p.Form("/login/password")
		if !ok {
			t.Fatalf("no password form for %s", who.email)
		}
		f.Fields.Set("password", "anything at all 123")
		if p = b.Post(f.Action, f.Fields); p.Status == http.StatusSeeOther || b.SessionCookie() != "" {
			t.Errorf("%s signed in during the emergency", who.email)
		}
	}
}

// emergencyEnds: the owner ends the emergency and chooses to sign out
// everyone who signed in during it. Bob's emergency password stops
// working and his address routes to SSO again; alice's passkey session
// ends at once; her ordinary SSO session from before goes on.
func emergencyEnds(t *testing.T, d *drill) {
	p := d.ownerBrowser.Post("/admin/emergency/"+d.emergency.ID+"/end", url.Values{"sign_out": {"on"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("end the emergency: %d\n%s", p.Status, p.Text())
	}
	if m := d.MailsTo(ownerEmail, "ended"); len(m) == 0 {
		t.Error("the owner was not mailed that the emergency ended")
	}
	if p := d.aliceEmergency.Get("/account"); p.Status != http.StatusSeeOther {
		t.Errorf("alice's emergency session survived the end with sign-out: %d", p.Status)
	}
	if p := d.bob.Get("/account"); p.Status != http.StatusSeeOther {
		t.Errorf("bob's emergency session survived the end with sign-out: %d", p.Status)
	}
	d.alice.SignedIn(aliceEmail)
	// The email step sends bob to SSO again; a password is refused.
	b := d.Browser()
	if p := b.EmailStep(bobEmail); strings.Contains(p.Body, "Emergency sign-in") || p.Refresh() == "" {
		t.Errorf("after the emergency bob's email step is not the SSO hand-off:\n%s", p.Text())
	}
	p = b.PasswordStep(bobEmail, bobNewPass)
	if p.Status == http.StatusSeeOther || b.SessionCookie() != "" {
		t.Errorf("bob's emergency password still signs in after the emergency: %d → %q", p.Status, p.Location())
	}
	bob, err := d.App.Store.GetAccountByEmail(context.Background(), bobEmail)
	if err != nil || bob.PasswordHash != "" {
		t.Errorf("bob's emergency password was not cleared: %v", err)
	}
}

// automaticFailbackStarts: the default policy opts in to automatic
// failback after 20 minutes of an incident. The incident has been open
// longer, so the next health pass starts emergency mode on its own, with
// a reason that says so, and mails the admins.
func automaticFailbackStarts(t *testing.T, d *drill) {
	after := 20 * time.Minute
	if _, err := d.App.Policies.Update(d.Admin, d.org.ID, d.def.ID, policy.UpdateInput{Settings: policy.Settings{AutoFailbackAfter: &after}}); err != nil {
		t.Fatalf("opt in to automatic failback: %v", err)
	}
	d.Advance(time.Minute)
	d.HealthPass()
	em, ok, err := d.App.Emergencies.Active(d.Admin, d.org.ID)
	if err != nil || !ok || !em.Automatic || !strings.HasPrefix(em.Reason, "automatic:") {
		t.Fatalf("no automatic emergency after the threshold: %+v %v %v", em, ok, err)
	}
	d.autoEmergency = em
	expect(t, d.Browser().EmailStep(aliceEmail), http.StatusOK, "Emergency sign-in")
}

// automaticFailbackEnds: the IdP came back and the incident closed; a
// grace period later the automatic emergency ends on its own (the
// emergency loop's sweep) and the email step hands off to SSO again.
func automaticFailbackEnds(t *testing.T, d *drill) {
	d.Advance(16 * time.Minute)
	if _, err := d.App.Emergencies.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.App.Emergencies.Active(d.Admin, d.org.ID); err != nil || ok {
		t.Fatalf("the automatic emergency outlived the incident's grace period: %v %v", ok, err)
	}
	if evs := d.audit(t, "emergency.expired"); len(evs) == 0 {
		t.Error("the automatic emergency's end is not in the audit log")
	}
	if p := d.Browser().EmailStep(aliceEmail); strings.Contains(p.Body, "Emergency sign-in") || p.Refresh() == "" {
		t.Errorf("after automatic failback ended, the email step is not the SSO hand-off:\n%s", p.Text())
	}
}
