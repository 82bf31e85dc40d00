package page

import (
	"context"
	"strings"
	"testing"
)

// hostChecker accepts absolute URLs whose host is one of hosts, as the apps
// registry does; the host-level attacks against the real registry are in
// internal/web and internal/forwardauth.
type hostChecker []string

func (h hostChecker) ReturnAllowed(_ context.Context, raw string) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(raw, "https://"), "http://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	for _, x := range h {
		if strings.EqualFold(rest, x) {
			return true
		}
	}
	return false
}

// yes accepts every URL it is asked about: what page's own filter refuses
// must never even reach the registry.
type yes struct{}

func (yes) ReturnAllowed(context.Context, string) bool { return true }

// Open-redirect attempts on a return URL: each must come back as the
// default, whatever the registry would say about the host.
var openRedirects = []string{
	"//evil.com", "//evil.com/path", "/\\evil.com", "/\\/evil.com", "\\\\evil.com",
	"https://evil.com", "http://evil.com/", "https://app.example.com.evil.com/",
	"https://app.example.com@evil.com/", "https://user@evil.com", "https://user:pw@app.example.com/",
	"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)", "https:evil.com", "https:/evil.com", "https:///evil.com",
	"HTTPS://evil.com", "ftp://app.example.com/",
	"%2F%2Fevil.com", "/%2F%2Fevil.com", "/%5Cevil.com", "/%2fevil.com",
	"https://evil.com%2F@app.example.com/", "https://app.example.com%2F.evil.com/",
	"https://app.example.com%00.evil.com/", "https://app%2eexample%2ecom/",
	"https://app.example.com/%0d%0aSet-Cookie:x=1", "/%0d%0aLocation:https://evil.com",
	"https://app.example.com/\r\nLocation: https://evil.com", "/ok\r\nLocation: https://evil.com",
	"https://app.example.com/\tx", " https://app.example.com/", "https://app.example.com /",
	"https://[::1]/", "https://app.example.com:99999999/", "https://app.example.com:/",
	"https://аpp.example.com/", // Cyrillic а
	"https://app.example.com/" + strings.Repeat("a", 2100),
	"/" + strings.Repeat("a", 2100),
}

func TestReturnToRefusesOpenRedirects(t *testing.T) {
	ctx := context.Background()
	for _, check := range []ReturnChecker{nil, hostChecker{"app.example.com", "login.example.com"}} {
		for _, s := range openRedirects {
			if got := ReturnTo(ctx, check, s); got != DefaultReturnTo {
				t.Errorf("ReturnTo(%q) = %q, want %q", s, got, DefaultReturnTo)
			}
		}
	}
	// Everything else is malformed and never reaches the registry, even
	// one that would say yes to anything; only a well-formed URL on the
	// wrong host is the registry's to refuse.
	wrongHostOnly := map[string]bool{"https://evil.com": true, "http://evil.com/": true, "https://app.example.com.evil.com/": true}
	for _, s := range openRedirects {
		if got := ReturnTo(ctx, yes{}, s); got != DefaultReturnTo && !wrongHostOnly[s] {
			t.Errorf("ReturnTo(%q) reached the registry: %q", s, got)
		}
	}
}

func TestReturnToAcceptsPathsAndRegisteredApps(t *testing.T) {
	ctx := context.Background()
	check := hostChecker{"app.example.com", "wiki.example.com:8443"}
	for _, s := range []string{
		"/account", "/admin/members?x=1", "https://app.example.com/", "https://app.example.com",
		"https://APP.example.com/a/b?c=d&e=%20f#frag", "https://wiki.example.com:8443/page",
	} {
		if got := ReturnTo(ctx, check, s); got != s {
			t.Errorf("ReturnTo(%q) = %q, want it kept", s, got)
		}
	}
	// Without a checker only paths are accepted.
	if got := ReturnTo(ctx, nil, "https://app.example.com/"); got != DefaultReturnTo {
		t.Errorf("no checker: %q", got)
	}
	if !IsAbsolute("https://app.example.com/") || IsAbsolute("/account") {
		t.Error("IsAbsolute")
	}
}
