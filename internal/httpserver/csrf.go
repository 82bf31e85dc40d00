package httpserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf_token"

// CSRFHeader carries the token for scripted requests.
const CSRFHeader = "X-CSRF-Token"

type csrfKey struct{}

func (s *Server) csrfCookieName() string {
	if s.opts.Secure {
		// __Host- cookies cannot be set by a sibling subdomain, which is what
		// makes a double-submit token trustworthy.
		return "__Host-gatehouse_csrf"
	}
	return "gatehouse_csrf"
}

// CSRFToken returns the token to embed in r's forms as CSRFField.
func CSRFToken(r *http.Request) string {
	t, _ := r.Context().Value(csrfKey{}).(string)
	return t
}

func validCSRFValue(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// csrf implements the double-submit pattern with a __Host- cookie, plus an
// Origin / Sec-Fetch-Site check: an unsafe request must come from our own
// origin and carry the cookie's value in its form or header. The JSON API
// under /api/ is exempt: it authenticates with bearer tokens only and
// ignores cookies, so a forged cross-site request carries no authority.
// ForwardAuthPath is the reverse proxies' verify endpoint (mounted by
// internal/forwardauth), which the middleware treats as an API a proxy
// calls on every request, not as a page.
const ForwardAuthPath = "/auth/verify"

func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || raisedLimit(r) || slices.Contains(s.opts.CSRFExempt, r.URL.Path) || r.URL.Path == ForwardAuthPath {
			// The SAML ACS is a cross-site POST by design; it is protected
			// by the signed response and InResponseTo instead. The OpenID
			// Provider's endpoints named in CSRFExempt are called by apps
			// (client-authenticated) or carry the protocol's own state.
			// Forward-auth
			// is GET-only and changes nothing; its answers may reach the
			// browser on an app's host (a proxy hands a 302 or 403 on), which
			// must not be given Gatehouse's CSRF cookie.
			next.ServeHTTP(w, r)
			return
		}
		token := ""
		if c, err := r.Cookie(s.csrfCookieName()); err == nil && validCSRFValue(c.Value) {
			token = c.Value
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if token == "" {
				var b [32]byte
				_, _ = rand.Read(b[:])
				token = base64.RawURLEncoding.EncodeToString(b[:])
				http.SetCookie(w, &http.Cookie{
					Name: s.csrfCookieName(), Value: token, Path: "/",
					HttpOnly: true, Secure: s.opts.Secure, SameSite: http.SameSiteLaxMode,
				})
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfKey{}, token)))
			return
		}
		if !s.sameOrigin(r) {
			s.renderError(w, r, http.StatusForbidden, "csrf", "This form was sent from another site, so it was refused. Go back, reload the page and try again.")
			return
		}
		sent := r.Header.Get(CSRFHeader)
		if sent == "" && isUpload(r) {
			// The file stays in memory: it is at most MaxUploadBody.
			if err := r.ParseMultipartForm(MaxUploadBody); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					s.renderError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", "That file is larger than we accept (2 MB). Split it and try again.")
				} else {
					s.renderError(w, r, http.StatusBadRequest, "invalid_request", "The form could not be read.")
				}
				return
			}
			sent = r.PostForm.Get(CSRFField)
		}
		if sent == "" {
			// Parse the (already size-limited) body once; handlers read
			// r.PostForm afterwards. A body over the limit is a 413, not a
			// CSRF failure.
			if err := ParseForm(r); err != nil {
				if errors.Is(err, ErrBodyTooLarge) {
					s.renderError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", "That was more than we accept. Shorten what you entered and try again.")
				} else {
					s.renderError(w, r, http.StatusBadRequest, "invalid_request", err.Error())
				}
				return
			}
			sent = r.PostForm.Get(CSRFField)
		}
		if token == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
			s.renderError(w, r, http.StatusForbidden, "csrf", "This page was open so long that its form expired, so nothing was changed. Reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfKey{}, token)))
	})
}

// sameOrigin refuses requests a browser marks as cross-site, and requests
// whose Origin is not ours. Browsers that send neither header fall back to
// the token check alone.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if origin == "null" {
		// Browsers send "null" under strict referrer policies and after
		// cross-origin redirects; trust it only when the browser itself
		// vouches that the request is same-origin.
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	if s.origin != "" {
		return origin == s.origin
	}
	// No configured public URL: compare with the Host the request came to.
	return origin == "http://"+r.Host || origin == "https://"+r.Host
}
