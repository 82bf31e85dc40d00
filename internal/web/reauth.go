package web

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
)

// reauthAfter is how recent the sign-in behind a session must be to add a
// way to sign in: a passkey (which alone signs the account in, and during
// an emergency), an authenticator app, or new recovery codes. A session
// left open on an unlocked laptop or a stolen cookie must not be turned
// into a lasting way in.
const reauthAfter = 15 * time.Minute

// reauthURL signs the person in again and brings them back to /account.
const reauthURL = "/login?reauth=1&return_to=/account"

// reauthMessage says why, on the JSON answer the passkey script shows.
const reauthMessage = "To add a way to sign in, first confirm it's you: sign in again, then come back to this page."

// appReauthMessage is shown when an app signing in through Gatehouse
// needs a fresh sign-in, or one with another account.
const appReauthMessage = "To continue to the app, sign in again."

// recentSignIn reports whether the session of r was signed in within
// reauthAfter.
func (h *Handler) recentSignIn(r *http.Request) bool {
	v, ok := CurrentSession(r)
	return ok && !v.Session.AuthTime.IsZero() && h.now().Sub(v.Session.AuthTime) <= reauthAfter
}

// requireRecentSignIn answers a form post from a session signed in too
// long ago with the way to sign in again, and reports whether it did.
func (h *Handler) requireRecentSignIn(w http.ResponseWriter, r *http.Request) bool {
	if h.recentSignIn(r) {
		return false
	}
	http.Redirect(w, r, reauthURL, http.StatusSeeOther)
	return true
}

// requireRecentSignInJSON is requireRecentSignIn for the passkey script.
func (h *Handler) requireRecentSignInJSON(w http.ResponseWriter, r *http.Request) bool {
	if h.recentSignIn(r) {
		return false
	}
	httpserver.WriteJSONError(w, http.StatusUnauthorized, "reauthentication_required", reauthMessage)
	return true
}
