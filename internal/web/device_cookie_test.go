package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

// TestDeviceCookieSignsInWhileThrottled: a password sign-in gives the
// browser a device cookie (HttpOnly, SameSite=Lax, a year); while someone
// else keeps the account throttled, that browser still signs in and a
// browser without it gets 429 as before.
func TestDeviceCookieSignsInWhileThrottled(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	r := e.client().signIn(ownerEmail, ownerPassword)
	var device *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == account.DeviceCookieName {
			device = c
		}
	}
	if device == nil || device.Value == "" {
		t.Fatalf("no %s cookie set at sign-in: %q", account.DeviceCookieName, r.header.Values("Set-Cookie"))
	}
	if !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.Path != "/" || device.MaxAge < int((364*24*time.Hour).Seconds()) {
		t.Errorf("device cookie attributes: %+v", device)
	}

	// The attacker rotates source addresses (every test client comes from
	// 127.0.0.1, so their guesses go to the service directly).
	for i := range 5 {
		_, err := e.accounts.Authenticate(t.Context(), account.PasswordAttempt{
			Email: ownerEmail, Password: "wrong-password", IP: "203.0.113." + strconv.Itoa(i+1)})
		if err != account.ErrBadCredentials {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	attacker := e.client()
	r = attacker.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	expect(t, r, http.StatusTooManyRequests, "Too many sign-in attempts")

	owner := e.client()
	u, _ := url.Parse(e.srv.URL)
	owner.jar.SetCookies(u, []*http.Cookie{{Name: device.Name, Value: device.Value, Path: "/"}})
	owner.signIn(ownerEmail, ownerPassword)
	if owner.sessionCookie() == "" {
		t.Fatal("the owner's browser with its device cookie did not get a session")
	}
	r = attacker.post("/login/password", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	expect(t, r, http.StatusTooManyRequests, "Too many sign-in attempts")
}
