package page

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// DefaultReturnTo is where people land after signing in when no usable
// return_to was given.
const DefaultReturnTo = "/account"

// maxReturnTo bounds return_to; real paths are far shorter.
const maxReturnTo = 2048

// SafeReturnTo returns s if it is a same-origin relative path that is safe
// to redirect to, and "/account" otherwise. Accepted: one leading "/" not
// followed by "/" or "\" (which browsers read as another host), printable
// ASCII only (no spaces, backslashes or control characters, which some
// browsers strip or turn into "/"), no scheme or host, at most 2 KiB, and
// the same rules still hold after percent-decoding, so nothing downstream
// that decodes once can be steered off-site either.
func SafeReturnTo(s string) string {
	if !safePath(s) {
		return DefaultReturnTo
	}
	// Decoded once, it must still not name another host or carry line
	// breaks; encoded spaces and non-ASCII text are fine.
	dec, err := url.PathUnescape(s)
	if err != nil || strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") || strings.ContainsFunc(dec, isControl) {
		return DefaultReturnTo
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return DefaultReturnTo
	}
	return s
}

// ReturnChecker decides which absolute URLs may be return URLs:
// Gatehouse's own origin and the hosts of registered apps
// (apps.Service.ReturnAllowed). Pages take it as a field, never a global.
type ReturnChecker interface {
	ReturnAllowed(ctx context.Context, rawURL string) bool
}

// ReturnTo is SafeReturnTo widened to absolute URLs: s itself when it is
// a safe relative path, or an absolute http(s) URL that is well formed by
// SafeAbsolute's rules and that check accepts (Gatehouse itself or a
// registered app); DefaultReturnTo otherwise, and for every absolute URL
// when check is nil. Use it wherever a return URL arrives (login, logout,
// forward-auth, SAML RelayState) and again wherever a stored one is
// followed.
func ReturnTo(ctx context.Context, check ReturnChecker, s string) string {
	if rt := SafeReturnTo(s); rt == s {
		return rt
	}
	if check != nil && SafeAbsolute(s) && check.ReturnAllowed(ctx, s) {
		return s
	}
	return DefaultReturnTo
}

// IsAbsolute reports whether a return URL that ReturnTo accepted leads to
// an origin (an app's) rather than a path of Gatehouse's own. After a form
// post the browser must get there by a page that moves on by itself: a
// redirect would be held to the form's CSP form-action 'self'.
func IsAbsolute(rt string) bool { return !strings.HasPrefix(rt, "/") }

// SafeAbsolute reports whether s is an absolute URL fit to be handed to
// the registered-app check at all: "https://" or "http://" (lowercase)
// followed by a plain host[:port] (letters, digits, dots, hyphens; no
// user info, no percent-encoding, no IP-literal tricks), printable ASCII
// only (no spaces, backslashes or control characters, which browsers
// strip or rewrite), at most 2 KiB, and no control characters after
// percent-decoding. Whether the host is acceptable is the checker's.
func SafeAbsolute(s string) bool {
	if len(s) > maxReturnTo || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	if dec, err := url.PathUnescape(s); err != nil || strings.ContainsFunc(dec, isControl) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Opaque != "" || u.Host == "" {
		return false
	}
	// The authority must be exactly what follows the scheme up to the
	// first "/", "?" or "#": nothing the parser reinterpreted.
	rest := s[len(u.Scheme)+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if rest != u.Host || !plainHost(u.Host) {
		return false
	}
	return true
}

// plainHost accepts host or host:port of a DNS name or IPv4 address.
func plainHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || len(name) > 253 || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	if hasPort {
		if port == "" || len(port) > 5 {
			return false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	return true
}

// LoginPathTo is /login coming back to rt, a return URL ReturnTo already
// accepted (relative or absolute).
func LoginPathTo(rt string) string {
	if rt != "" && rt != DefaultReturnTo {
		return "/login?return_to=" + url.QueryEscape(rt)
	}
	return "/login"
}

func safePath(s string) bool {
	if s == "" || len(s) > maxReturnTo || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// LoginPath is /login, coming back to returnTo (made safe here) after
// sign-in when it is not the default.
func LoginPath(returnTo string) string { return LoginPathTo(SafeReturnTo(returnTo)) }

// FormPage is the page a posted form was on: the Referer's path and query
// when the Referer is this server (browsers send it for same-origin posts
// under the pages' referrer policy), else "". It is where a person goes
// back to when the post itself cannot be carried out (the session ended,
// the form's token went stale).
func FormPage(r *http.Request) string {
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || ref.Host == "" || !strings.EqualFold(ref.Host, r.Host) {
		return ""
	}
	p := ref.EscapedPath()
	if ref.RawQuery != "" {
		p += "?" + ref.RawQuery
	}
	if !safePath(p) || SafeReturnTo(p) != p {
		return ""
	}
	return p
}
