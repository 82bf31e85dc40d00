package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The sign-in flow cookie holds this browser's flow secret: a sign-in flow
// (internal/signin) continues only in the browser whose secret hashes to
// the one stored with it. One secret serves every flow of the browser, so
// sign-ins started in two tabs both complete. SameSite=Lax: every step is a
// same-site form post (the IdP's cross-site answer is bound by the SAML
// cookie instead).
const (
	flowCookieSecure = "__Host-gatehouse_login"
	flowCookieDev    = "gatehouse_login"
)

func (h *Handler) flowCookieName() string {
	if h.Secure {
		return flowCookieSecure
	}
	return flowCookieDev
}

func (h *Handler) setFlowCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: h.flowCookieName(), Value: secret, Path: "/",
		MaxAge: int(signin.FlowTTL / time.Second), HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// The device cookie marks a browser that signed in with a password before,
// which keeps its own small allowance of attempts when someone else's
// guesses throttle the account (account.PasswordAttempt.Device).

// deviceCookie is the device cookie this browser sent, or "".
func (h *Handler) deviceCookie(r *http.Request) string {
	c, err := r.Cookie(account.DeviceCookieNameFor(h.Secure))
	if err != nil || len(c.Value) > 512 {
		return ""
	}
	return c.Value
}

func (h *Handler) setDeviceCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: account.DeviceCookieNameFor(h.Secure), Value: value, Path: "/",
		MaxAge: int(account.DeviceCookieLifetime / time.Second), HttpOnly: true, Secure: h.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// orgByID returns the organization with id ("" or unknown: none).
func (h *Handler) orgByID(ctx context.Context, id string) (storage.Organization, bool) {
	if id == "" {
		return storage.Organization{}, false
	}
	o, err := h.Accounts.GetOrganization(ctx, id)
	if err != nil {
		return storage.Organization{}, false
	}
	return o, true
}
