package session

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCookieAttributes(t *testing.T) {
	c := newClock()
	tok, _ := newToken()
	expires := c.Now().Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		secure bool
		name   string
	}{{true, "__Host-gatehouse_session"}, {false, "gatehouse_session"}} {
		svc := New(nil, Config{Secure: tc.secure}, nil, c.Now)
		if svc.CookieName() != tc.name {
			t.Errorf("Secure=%v: CookieName = %q, want %q", tc.secure, svc.CookieName(), tc.name)
		}

		rec := httptest.NewRecorder()
		svc.SetCookie(rec, tok, expires)
		set := rec.Header().Values("Set-Cookie")
		if len(set) != 1 {
			t.Fatalf("Set-Cookie headers = %q", set)
		}
		h := set[0]
		for _, want := range []string{tc.name + "=" + tok, "Path=/", "HttpOnly", "SameSite=Lax",
			"Max-Age=604800", "Expires=" + expires.Format(http.TimeFormat)} {
			if !strings.Contains(h, want) {
				t.Errorf("Secure=%v: Set-Cookie %q lacks %q", tc.secure, h, want)
			}
		}
		if strings.Contains(h, "Secure") != tc.secure {
			t.Errorf("Set-Cookie %q: Secure flag should be %v", h, tc.secure)
		}
		if strings.Contains(h, "Domain") {
			t.Errorf("Set-Cookie %q must not name a Domain", h)
		}

		// The browser sends it back; the service reads it.
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", tc.name+"="+tok)
		if got := svc.TokenFromRequest(req); got != tok {
			t.Errorf("TokenFromRequest = %q, want %q", got, tok)
		}

		rec = httptest.NewRecorder()
		svc.ClearCookie(rec)
		h = rec.Header().Get("Set-Cookie")
		for _, want := range []string{tc.name + "=;", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"} {
			if !strings.Contains(h, want) {
				t.Errorf("Secure=%v: clearing Set-Cookie %q lacks %q", tc.secure, h, want)
			}
		}
		if strings.Contains(h, "Secure") != tc.secure {
			t.Errorf("clearing Set-Cookie %q: Secure flag should be %v", h, tc.secure)
		}
	}
}

func TestSetCookieWithPastExpiryDeletes(t *testing.T) {
	c := newClock()
	svc := New(nil, Config{Secure: true}, nil, c.Now)
	rec := httptest.NewRecorder()
	tok, _ := newToken()
	svc.SetCookie(rec, tok, c.Now().Add(-time.Second))
	if h := rec.Header().Get("Set-Cookie"); !strings.Contains(h, "Max-Age=0") {
		t.Fatalf("Set-Cookie %q for an expired session should delete the cookie", h)
	}
}

func TestTokenFromRequestRejectsMalformedValues(t *testing.T) {
	svc := New(nil, Config{Secure: true}, nil, newClock().Now)
	tok, _ := newToken()
	for name, v := range map[string]string{
		"absent":          "",
		"short":           tok[:42],
		"long":            tok + "A",
		"standard base64": tok[:41] + "+A",
		"stray bits":      tok[:42] + "B",
		"quoted":          `"` + tok[:41] + `"`,
		"other cookie":    "x",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if name != "absent" {
			req.AddCookie(&http.Cookie{Name: svc.CookieName(), Value: v})
		}
		if got := svc.TokenFromRequest(req); got != "" {
			t.Errorf("%s: TokenFromRequest = %q, want \"\"", name, got)
		}
	}
	// The development cookie name does not count under Secure.
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: tok})
	if got := svc.TokenFromRequest(req); got != "" {
		t.Errorf("TokenFromRequest read the insecure cookie name: %q", got)
	}
}

func FuzzWellFormed(f *testing.F) {
	tok, _ := newToken()
	for _, s := range []string{tok, "", tok[:42] + "B", strings.Repeat("_", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// wellFormed must agree with a strict decode to exactly 32 bytes,
		// except that the decoder skips CR and LF, which no cookie we set has.
		b, err := base64RawURLStrict(s)
		want := err == nil && len(b) == tokenBytes && !strings.ContainsAny(s, "\r\n")
		if got := wellFormed(s); got != want {
			t.Fatalf("wellFormed(%q) = %v, strict decode says %v", s, got, want)
		}
	})
}

func base64RawURLStrict(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}
