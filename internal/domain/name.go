package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits from RFC 1035 (a name's text form without the root dot).
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// Normalize turns what an admin typed into the stored form of a domain name:
// trimmed, lowercase, without a trailing dot. It returns an *InvalidInputError
// (matching ErrInvalidDomain) that says what to fix when the result is not a
// plausible email domain: ASCII only (internationalized names must be given in
// their xn-- form), at least two labels, at most 253 characters, labels of 1–63
// characters from a–z, 0–9 and '-', not starting or ending with '-', and a
// last label that is not all digits (that would be an IP address).
func Normalize(input string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &InvalidInputError{Field: "name", Message: fmt.Sprintf(format, args...)}
	}
	// Both checks come before ToLower, which would quietly turn bad bytes
	// into U+FFFD and some non-ASCII letters into ASCII ones (the Kelvin sign
	// K becomes k), so a name would be stored that the admin never typed.
	if !utf8.ValidString(input) {
		return bad("The domain name contains bytes that are not text.")
	}
	trimmed := strings.TrimSpace(input)
	for _, r := range trimmed {
		if r >= utf8.RuneSelf {
			return bad("%q contains characters outside ASCII. Enter an internationalized domain in its ASCII (punycode) form, e.g. xn--bcher-kva.example.", trimmed)
		}
	}
	name := strings.ToLower(trimmed)
	name = strings.TrimSuffix(name, ".")
	switch {
	case name == "":
		return bad("Enter a domain name, e.g. corp.example.")
	case strings.Contains(name, "://"):
		return bad("Enter only the domain name, without https:// or a path (e.g. corp.example).")
	case strings.Contains(name, "@"):
		return bad("Enter only the domain, the part after the @ (e.g. corp.example).")
	}
	if len(name) > maxNameLen {
		return bad("A domain name can be at most %d characters long; this one has %d.", maxNameLen, len(name))
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return bad("%q is not a full domain name: enter it with its suffix, e.g. %s.example.", name, name)
	}
	for _, l := range labels {
		switch {
		case l == "":
			return bad("%q has an empty part (two dots in a row, or a leading dot).", name)
		case len(l) > maxLabelLen:
			return bad("Each part of a domain name can be at most %d characters long; %q has %d.", maxLabelLen, l, len(l))
		case l[0] == '-' || l[len(l)-1] == '-':
			return bad("A part of a domain name cannot start or end with a hyphen: %q.", l)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad("%q contains %q; a domain name may use only letters a–z, digits and hyphens.", name, string(c))
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad("%q looks like an IP address; enter a domain name such as corp.example.", name)
	}
	return name, nil
}
