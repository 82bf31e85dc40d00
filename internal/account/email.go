package account

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailLen = 254

// emailSpecials cannot appear unquoted in an address; accepting them would
// let one "address" name several recipients in a mail header.
const emailSpecials = `,;:<>()[]\"`

// NormalizeEmail trims and lowercases an email and checks its shape,
// returning an *InvalidInputError for anything that is not one address.
//
// The check is deliberately loose beyond that (no quoted local parts, no
// IP-literal domains, any Unicode letters): the mail that proves an address
// works is the real test. The result normalizes to itself.
func NormalizeEmail(s string) (string, error) {
	bad := func(msg string) (string, error) { return "", &InvalidInputError{Field: "email", Message: msg} }
	if !utf8.ValidString(s) {
		return bad("The email address contains characters that are not valid text.")
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return bad("Enter your email address.")
	}
	// After lowercasing: a few characters grow by a byte when lowered.
	if len(s) > maxEmailLen {
		return bad("This email address is too long.")
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || strings.ContainsRune(emailSpecials, r) ||
			invisible(r)
	}) {
		return bad("Enter one email address, like name@example.com, without spaces.")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") || local == "" || domain == "" {
		return bad("Enter an email address like name@example.com.")
	}
	if domain != "localhost" && (!strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..")) {
		return bad("The part after @ must be a domain, like example.com.")
	}
	// Lowercasing is not idempotent for a handful of characters; an address
	// that still changes would not match itself when typed again.
	if strings.ToLower(s) != s {
		return bad("Enter an email address like name@example.com.")
	}
	return s, nil
}

// invisible reports format characters (zero-width space and joiners, bidi
// overrides, soft hyphen, byte order mark) and other default-ignorable code
// points (Hangul fillers): an address containing one renders exactly like
// another account's, so the console, the audit log and the email claim
// apps receive would show a lookalike of someone else. The price is the
// rare local part in a script that uses ZWJ/ZWNJ (IDNA2008 allows them in
// domains only in context, and domains must be given in xn-- form anyway).
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}
