package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

func TestErrorMatching(t *testing.T) {
	f := loadFixtures(t)
	_, err := ruleCase{now: issueTime.Add(2 * time.Hour)}.run(t, f)
	wrapped := fmt.Errorf("acs: %w", err)
	var e *Error
	if !errors.As(wrapped, &e) || e.Reason != ReasonExpired || e.Detail == "" {
		t.Fatalf("errors.As: %#v", e)
	}
	if !errors.Is(wrapped, &Error{Reason: ReasonExpired}) || errors.Is(wrapped, &Error{Reason: ReasonUnsigned}) {
		t.Fatal("errors.Is should match on the reason alone")
	}
	if ReasonOf(wrapped) != ReasonExpired || ReasonOf(errors.New("x")) != "" {
		t.Fatal("ReasonOf")
	}
}

// TestMisconfiguredConnection: empty identifiers or nil certificates never
// turn into a match or a panic.
func TestMisconfiguredConnection(t *testing.T) {
	runRules(t, []ruleCase{
		{name: "empty IdP entity ID", idp: func(_ *fixtures, i IdP) IdP { i.EntityID = ""; return i }, want: ReasonIssuerMismatch},
		{name: "empty SP entity ID", sp: func(s SP) SP { s.EntityID = ""; return s }, want: ReasonAudienceMismatch},
		{name: "empty ACS URL", sp: func(s SP) SP { s.ACSURL = ""; return s }, want: ReasonRecipientMismatch},
		{name: "nil certificate in the trusted list", idp: func(f *fixtures, i IdP) IdP {
			i.Certificates = append([]*x509.Certificate{nil}, i.Certificates...)
			return i
		}},
		{name: "only nil certificates", idp: func(_ *fixtures, i IdP) IdP { i.Certificates = []*x509.Certificate{nil}; return i },
			want: ReasonUntrustedCertificate},
		{name: "Okta both-signed with no KeyInfo", flavor: samltest.Okta,
			sign: func(*fixtures) samltest.Signing {
				return samltest.Signing{SignOptions: samltest.SignOptions{OmitKeyInfo: true}}
			}},
	})
}

// TestTruncateKeepsUTF8: error details quote the IdP's text and end up in
// the audit log; cutting inside a character would make them invalid UTF-8.
func TestTruncateKeepsUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: never cut in half
		{"日本", 4, "日…"}, // three-byte runes
		{"日本", 1, "…"},
	} {
		got := truncate(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
