package web_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

var (
	qrRe     = regexp.MustCompile(`<img class="totp-qr" src="data:image/png;base64,([A-Za-z0-9+/=&#;]+)"`)
	secretRe = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7 ]+)</code>`)
	codesRe  = regexp.MustCompile(`<code>([a-z2-9]{5}-[a-z2-9]{5})</code>`)
)

func appCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), at,
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func recoveryCodesOn(t *testing.T, body string) []string {
	t.Helper()
	var codes []string
	for _, m := range codesRe.FindAllStringSubmatch(body, -1) {
		codes = append(codes, m[1])
	}
	return codes
}

// A person sets up an authenticator app on /account: scans the QR code (or
// types the key), confirms with a code, sees their recovery codes once,
// makes new ones and removes the app again with a current code.
func TestAccountAuthenticatorApp(t *testing.T) {
	e := newEnv(t)
	_, owner := e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)

	expect(t, c.get("/account"), http.StatusOK, "Authenticator app", "Set up an authenticator app")

	// A form posted without the CSRF token changes nothing.
	r := c.postRaw("/account/totp/begin", "", nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("begin without CSRF token: status %d, want 403", r.status)
	}

	r = c.post("/account/totp/begin", nil)
	expect(t, r, http.StatusOK, "scanning this QR code", "Can't scan it?", "enter the 6-digit code")
	qr := qrRe.FindStringSubmatch(r.body)
	if qr == nil {
		t.Fatalf("no QR image on the set-up page:\n%s", r.body)
	}
	if png, err := base64.StdEncoding.DecodeString(html.UnescapeString(qr[1])); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("QR image is not a PNG (%v)", err)
	}
	m := secretRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no key for manual entry on the page:\n%s", text(r.body))
	}
	secret := m[1]
	for _, g := range strings.Fields(secret) {
		if len(g) > 4 {
			t.Fatalf("key %q is not shown in groups of four", secret)
		}
	}

	// A mistyped code: the page says so and still shows the same set-up.
	wrong := "000000"
	if appCode(t, secret, e.clock.Now()) == wrong {
		wrong = "111111"
	}
	r = c.post("/account/totp/confirm", url.Values{"code": {wrong}})
	expect(t, r, http.StatusBadRequest, "That code isn't right", "scanning this QR code", secret)
	if ok, _ := e.mfa.TOTPEnrolled(t.Context(), owner.ID); ok {
		t.Fatal("a wrong code turned the app on")
	}

	r = c.post("/account/totp/confirm", url.Values{"code": {appCode(t, secret, e.clock.Now())}})
	expect(t, r, http.StatusOK, "Your authenticator app is set up", "Your recovery codes",
		"This is the only time they are shown", "On since")
	codes := recoveryCodesOn(t, r.body)
	if len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d", len(codes), mfa.RecoveryCodeCount)
	}

	// Shown once: the next visit says how many are left, not what they are.
	r = c.get("/account")
	expect(t, r, http.StatusOK, "On since", "You have 10 unused recovery codes.", "Remove", "New recovery codes")
	if got := recoveryCodesOn(t, r.body); len(got) != 0 || strings.Contains(r.body, codes[0]) || strings.Contains(r.body, secret) {
		t.Fatal("the account page shows recovery codes or the key again")
	}

	// New codes replace the old set, shown once.
	r = c.post("/account/recovery-codes", nil)
	expect(t, r, http.StatusOK, "You have new recovery codes. Your old ones no longer work.", "This is the only time they are shown")
	fresh := recoveryCodesOn(t, r.body)
	if len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("new codes %q", fresh)
	}
	if err := e.mfa.UseRecoveryCode(t.Context(), owner.ID, codes[0]); err == nil {
		t.Fatal("an old recovery code still works after making new ones")
	}

	// Removing asks for a current code.
	r = c.post("/account/totp/remove", url.Values{"code": {wrong}})
	expect(t, r, http.StatusBadRequest, "That code isn't right")
	e.clock.Advance(30 * time.Second)
	r = c.post("/account/totp/remove", url.Values{"code": {appCode(t, secret, e.clock.Now())}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove: status %d; page:\n%s", r.status, text(r.body))
	}
	r = c.get(r.location())
	expect(t, r, http.StatusOK, "The authenticator app was removed", "Set up an authenticator app")
	if ok, _ := e.mfa.TOTPEnrolled(t.Context(), owner.ID); ok {
		t.Fatal("the app is still enrolled after removal")
	}
	if evs := e.auditEvents(owner.OrgID, mfa.ActionTOTPRemoved); len(evs) != 1 || evs[0].ActorID != owner.ID {
		t.Fatalf("removal audit events: %+v", evs)
	}
}
