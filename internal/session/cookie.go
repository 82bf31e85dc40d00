package session

import (
	"net/http"
	"time"
)

// Cookie names. The __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so a sibling subdomain cannot plant or shadow the cookie.
//
// With a cookie domain (Config.CookieDomain) the cookie must carry Domain,
// which __Host- forbids; __Secure- still makes browsers insist on Secure,
// so a plain-http page cannot set it. What it gives up is the guarantee
// that no sibling subdomain can set or shadow it (see docs/OPERATIONS.md).
const (
	cookieSecure = "__Host-gatehouse_session"
	cookieShared = "__Secure-gatehouse_session"
	cookieDev    = "gatehouse_session"
)

// CookieName is the session cookie's name under the current config.
func (s *Service) CookieName() string {
	if s.cfg.CookieDomain != "" {
		return cookieShared
	}
	if s.cfg.Secure {
		return cookieSecure
	}
	return cookieDev
}

// SetCookie writes the session cookie (HttpOnly, SameSite=Lax, Path=/,
// Secure and __Host- unless in localhost development). It expires with the
// session: both Expires and Max-Age are set, for old and new browsers.
func (s *Service) SetCookie(w http.ResponseWriter, token string, expires time.Time) {
	c := s.cookie(token)
	c.Expires = expires.UTC()
	c.MaxAge = int(expires.Sub(s.now()) / time.Second)
	if c.MaxAge <= 0 {
		// Max-Age=0 would mean "no Max-Age"; an already past expiry deletes.
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// ClearCookie deletes the session cookie. The attributes must match the
// ones it was set with, or browsers keep the original.
func (s *Service) ClearCookie(w http.ResponseWriter) {
	c := s.cookie("")
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0).UTC()
	http.SetCookie(w, c)
}

func (s *Service) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     s.CookieName(),
		Value:    value,
		Path:     "/",
		Domain:   s.cfg.CookieDomain,
		HttpOnly: true,
		// A shared cookie is Secure even if Secure was not set: the
		// __Secure- prefix requires it, and config refuses the combination.
		Secure:   s.cfg.Secure || s.cfg.CookieDomain != "",
		SameSite: http.SameSiteLaxMode,
	}
}

// TokenFromRequest returns the session token of r's cookie, or "" when
// there is none or it is not shaped like a token we issue (43 base64url
// characters).
func (s *Service) TokenFromRequest(r *http.Request) string {
	c, err := r.Cookie(s.CookieName())
	if err != nil || !wellFormed(c.Value) {
		return ""
	}
	return c.Value
}
