// Package emailaddr turns what a person, an admin or an IdP wrote into the
// one stored form of an email address, and computes the address's
// confusable skeleton. It is a leaf: it imports only the standard library
// and golang.org/x, so every service (account, sso, policy, …) can use it
// without importing another service.
//
// The stored form is local@domain where
//   - the whole input is NFKC-normalized first, so full-width forms
//     (ａｌｉｃｅ＠ｃｏｒｐ．ｔｅｓｔ) and ligatures (ﬁ) become the letters they stand
//     for: the person meant those letters, a word processor or an input
//     method wrote the variant, and IDNA maps the same variants in domains;
//   - the local part is enforced with PRECIS UsernameCaseMapped (RFC 8265):
//     lower case, NFC, only letters, digits and printable ASCII;
//   - the domain is processed with the IDNA lookup profile
//     (non-transitional, STD3 rules, bidi rule, DNS length limits) and
//     stored as its A-label (xn--… punycode), the form internal/domain
//     stores and verifies domains in, so müller@bücher.example and
//     müller@xn--bcher-kva.example are one address and the verified domain
//     xn--bcher-kva.example manages it;
//   - neither the local part nor any domain label mixes scripts (Latin
//     with Cyrillic, say), decided by the Unicode script property, with the
//     combinations UTS #39 "highly restrictive" allows for Han with
//     Hiragana/Katakana, Bopomofo or Hangul (each also with Latin);
//   - no invisible character (format characters, default-ignorables) and
//     nothing that would make one string name several recipients.
//
// Normalize(Normalize(x)) == Normalize(x) for every accepted x.
package emailaddr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// MaxLen is the longest address SMTP can carry (RFC 5321 path limit), in
// bytes of the stored form.
const MaxLen = 254

// specials cannot appear unquoted in an address; accepting them would let
// one "address" name several recipients in a mail header.
const specials = `,;:<>()[]\"`

// Code names why an address was refused. Codes are stable: callers map
// them to their own wording.
type Code string

// The codes Normalize returns.
const (
	CodeNotText      Code = "not_text"      // not valid UTF-8
	CodeEmpty        Code = "empty"         // nothing but spaces
	CodeTooLong      Code = "too_long"      // longer than MaxLen once normalized
	CodeBadCharacter Code = "bad_character" // space, control, invisible or special character
	CodeShape        Code = "shape"         // not exactly one local part, '@' and domain
	CodeBadDomain    Code = "bad_domain"    // the domain is not a usable domain name
	CodeMixedScript  Code = "mixed_script"  // letters of several scripts in one part or label
)

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid error = errs.New(errs.Invalid, "", "emailaddr: invalid address")

// Error is a refused address: Code says why, Detail adds words for logs
// (never the sentence a person reads; the edges write that from Code).
type Error struct {
	Code   Code
	Detail string
	Err    error // the underlying PRECIS or IDNA error, if any
}

func (e *Error) Error() string {
	msg := "emailaddr: " + string(e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Kind reports Invalid.
func (e *Error) Kind() errs.Kind { return errs.Invalid }

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func (e *Error) Unwrap() error { return e.Err }

// The domain's lookup profile, plus what an email domain also needs: labels
// within DNS length limits. Non-transitional, so ß and ς stay themselves
// (IDNA2008), as registries and browsers now resolve them.
var lookup = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
)

// display renders an A-label domain as its U-label for script and skeleton
// checks, which must see the letters a person sees.
var display = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// Normalize returns the stored form of the address s, or an *Error.
func Normalize(s string) (string, error) {
	bad := func(c Code, format string, args ...any) (string, error) {
		return "", &Error{Code: c, Detail: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(s) {
		return bad(CodeNotText, "invalid UTF-8")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad(CodeEmpty, "")
	}
	// Checked before NFKC as well as after: normalization must not be what
	// lets a control or invisible character through (NFKC keeps them, but
	// the rule should not depend on that).
	if i := strings.IndexFunc(s, badRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return bad(CodeBadCharacter, "%+q", r)
	}
	// Bound the work before normalizing: NFKC expands a rune to at most 18.
	if len(s) > 4*MaxLen {
		return bad(CodeTooLong, "%d bytes", len(s))
	}
	s = norm.NFKC.String(s)
	if i := strings.IndexFunc(s, badRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return bad(CodeBadCharacter, "%+q after NFKC", r)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") || local == "" || domain == "" {
		return bad(CodeShape, "want local@domain")
	}
	local, err := normalizeLocal(local)
	if err != nil {
		return "", err
	}
	domain, err = normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	out := local + "@" + domain
	if len(out) > MaxLen {
		return bad(CodeTooLong, "%d bytes", len(out))
	}
	return out, nil
}

// badRune: spaces, controls, invisible characters, and the specials.
func badRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError ||
		strings.ContainsRune(specials, r) || Invisible(r)
}

// Invisible reports format characters (zero-width space and joiners, bidi
// overrides, soft hyphen, byte order mark) and other default-ignorable code
// points (Hangul fillers): an address containing one renders exactly like
// another account's, so the console, the audit log and the email claim
// apps receive would show a lookalike of someone else. The price is the
// rare local part in a script that uses ZWJ/ZWNJ.
func Invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

func normalizeLocal(local string) (string, error) {
	out, err := precis.UsernameCaseMapped.String(local)
	if err != nil {
		return "", &Error{Code: CodeBadCharacter, Detail: "local part", Err: err}
	}
	if out != local && strings.IndexFunc(out, badRune) >= 0 {
		return "", &Error{Code: CodeBadCharacter, Detail: "local part after case mapping"}
	}
	if !singleScript(out) {
		return "", &Error{Code: CodeMixedScript, Detail: "local part"}
	}
	return out, nil
}

func normalizeDomain(domain string) (string, error) {
	if domain == "localhost" {
		return domain, nil // development set-ups; IDNA would refuse nothing here anyway
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", &Error{Code: CodeBadDomain, Detail: "want a name like example.com"}
	}
	ascii, err := lookup.ToASCII(domain)
	if err != nil {
		return "", &Error{Code: CodeBadDomain, Err: err}
	}
	// Lookup maps what it can (case, width); anything still outside
	// letters, digits and hyphens would not resolve.
	for i := 0; i < len(ascii); i++ {
		if c := ascii[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", &Error{Code: CodeBadDomain, Detail: fmt.Sprintf("%q", c)}
		}
	}
	uni, err := display.ToUnicode(ascii)
	if err != nil {
		return "", &Error{Code: CodeBadDomain, Err: err}
	}
	// Per label, as browsers judge IDN homographs: παράδειγμα.example is
	// one Greek label and one Latin one, while pаypal.example (Cyrillic а)
	// mixes scripts inside a label.
	for _, label := range strings.Split(uni, ".") {
		if !singleScript(label) {
			return "", &Error{Code: CodeMixedScript, Detail: "domain label"}
		}
	}
	return ascii, nil
}
