package page

import (
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
func LoginPath(returnTo string) string {
	if rt := SafeReturnTo(returnTo); rt != DefaultReturnTo {
		return "/login?return_to=" + url.QueryEscape(rt)
	}
	return "/login"
}

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
