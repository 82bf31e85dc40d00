package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Adding a way to sign in needs a recent sign-in: a session opened more
// than 15 minutes ago (an unlocked laptop, a stolen cookie) cannot add a
// passkey, set up an authenticator app or make new recovery codes. The
// person is sent to sign in again, with their address filled in, and can
// then go ahead.
func TestAddingASignInMethodNeedsARecentSignIn(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.localhost = true })
	_, _, c := e.signedInOwner()
	e.clock.Advance(16 * time.Minute)

	r := c.post("/account/totp/begin", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login?reauth=1") {
		t.Fatalf("authenticator set-up from an old sign-in: %d → %q", r.status, r.location())
	}
	login := c.get(r.location())
	expect(t, login, http.StatusOK, "first confirm it's you")
	if !strings.Contains(login.body, `value="`+ownerEmail+`"`) {
		t.Error("the sign-in page does not fill in the signed-in person's address")
	}
	if r := c.post("/account/recovery-codes", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login?reauth=1") {
		t.Errorf("new recovery codes from an old sign-in: %d → %q", r.status, r.location())
	}
	expect(t, c.postJSON("/account/passkeys/register/options", map[string]any{}, true), http.StatusUnauthorized, "reauthentication_required")

	// Signed in again: the same requests go through.
	c.signIn(ownerEmail, ownerPassword)
	expect(t, c.post("/account/totp/begin", nil), http.StatusOK, "scanning this QR code")
	expect(t, c.postJSON("/account/passkeys/register/options", map[string]any{}, true), http.StatusOK, "challenge_id")
}
