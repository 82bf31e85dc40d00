package web

import "testing"

// People read how each session was signed in, not RFC 8176 codes.
func TestMethodWords(t *testing.T) {
	for _, tc := range []struct {
		amr          []string
		method, conn string
		want         string
	}{
		{[]string{"pwd"}, "password", "", "Password"},
		{[]string{"sso"}, "sso", "Corp Entra SSO", "Single sign-on (Corp Entra SSO)"},
		{[]string{"sso"}, "sso", "", "Single sign-on"}, // connection since deleted
		{[]string{"pwd", "otp", "mfa"}, "", "", "Password + authenticator code"},
		{[]string{"hwk", "user"}, "", "", "Passkey"},
		{[]string{"hwk", "pin", "user"}, "", "", "Passkey"},
		{[]string{"pwd", "hwk", "mfa"}, "", "", "Password + passkey"},
		{[]string{"sso", "mfa"}, "sso", "Okta", "Single sign-on (Okta) with multi-factor authentication"},
		{[]string{"recovery"}, "recovery", "", "Recovery link"},
		{[]string{"emergency", "pwd"}, "", "", "Emergency access + password"},
		{[]string{"pwd"}, "setup", "", "Password, chosen at set-up"},
		{[]string{"pwd"}, "reset", "", "Password, chosen in a password reset"},
		{nil, "", "", "Unknown method"},
		{[]string{"telepathy"}, "", "", "Another method"},
	} {
		if got := methodWords(tc.amr, tc.method, tc.conn); got != tc.want {
			t.Errorf("methodWords(%q, %q, %q) = %q, want %q", tc.amr, tc.method, tc.conn, got, tc.want)
		}
	}
}
