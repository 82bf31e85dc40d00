package web_test

import (
	"github.com/gatehouse-id/gatehouse/internal/web/page"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSafeReturnTo checks the property that matters: whatever comes in,
// what goes out resolves to a page of our own origin.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range openRedirects {
		f.Add(s)
	}
	for _, s := range []string{"/account", "/a?b=c#d", "/%2e%2e/x", "/.//evil.example", "/..//evil.example", "/%252F%252Fevil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://gatehouse.example/login")
	f.Fuzz(func(t *testing.T, in string) {
		out := page.SafeReturnTo(in)
		if out != "/account" && out != in {
			t.Fatalf("SafeReturnTo(%q) = %q: neither the input nor the default", in, out)
		}
		if out == "/account" {
			return
		}
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\r\n\t\x00 ") {
			t.Fatalf("SafeReturnTo(%q) kept an unsafe path", in)
		}
		ref, err := url.Parse(out)
		if err != nil {
			t.Fatalf("kept %q, which does not parse: %v", out, err)
		}
		if got := base.ResolveReference(ref); got.Host != base.Host || got.Scheme != base.Scheme {
			t.Fatalf("SafeReturnTo(%q) resolves to %s", in, got)
		}
		if dec, err := url.PathUnescape(out); err == nil && (strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\")) {
			t.Fatalf("SafeReturnTo(%q) decodes to a host-relative %q", in, dec)
		}
	})
}

func FuzzDeviceSummary(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1",
		"", "curl/8", "\xff\xfe", strings.Repeat("Chrome/", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := page.DeviceSummary(ua)
		if got == "" || len(got) > 40 || !utf8.ValidString(got) {
			t.Fatalf("DeviceSummary(%q) = %q", ua, got)
		}
	})
}
