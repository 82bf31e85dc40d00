package saml

import (
	"errors"
	"fmt"
)

// Reason codes of *Error. They are stable: the ACS handler maps them to
// user-facing messages and metrics labels, and the SSO health monitor counts
// them, so never rename one; add new codes instead.
const (
	ReasonMalformed                = "malformed"
	ReasonTooLarge                 = "too_large"
	ReasonDoctypeForbidden         = "doctype_forbidden"
	ReasonXMLRoundtripFailed       = "xml_roundtrip_failed"
	ReasonStatusNotSuccess         = "status_not_success"
	ReasonUnsigned                 = "unsigned"
	ReasonSignatureInvalid         = "signature_invalid"
	ReasonUntrustedCertificate     = "untrusted_certificate"
	ReasonCertificateExpired       = "certificate_expired"
	ReasonWeakSignatureAlgorithm   = "weak_signature_algorithm"
	ReasonMultipleAssertions       = "multiple_assertions"
	ReasonSignatureWrapping        = "signature_wrapping"
	ReasonIssuerMismatch           = "issuer_mismatch"
	ReasonAudienceMismatch         = "audience_mismatch"
	ReasonDestinationMismatch      = "destination_mismatch"
	ReasonRecipientMismatch        = "recipient_mismatch"
	ReasonNotYetValid              = "not_yet_valid"
	ReasonExpired                  = "expired"
	ReasonInResponseToMismatch     = "in_response_to_mismatch"
	ReasonUnsolicitedNotAllowed    = "unsolicited_not_allowed"
	ReasonMissingSubject           = "missing_subject"
	ReasonEncryptedAssertionFailed = "encrypted_assertion_undecryptable"
)

// Warning codes that Validate may put in Assertion.Warnings. The response was
// accepted, but only because the IdP connection relaxes a rule; the health
// page should nag the admin about them.
const (
	WarningSHA1Signature             = "sha1_signature"
	WarningExpiredCertificateAllowed = "expired_certificate_allowed"
)

// Error is the only error type Validate returns. Reason is one of the
// Reason* constants; Detail is for logs and the admin's SSO test page, and
// may quote attacker-controlled values, so it must never be rendered into a
// page for the end user unescaped (and should not be shown to them at all:
// see the package documentation on oracles).
type Error struct {
	Reason string
	Detail string
	// err is the underlying cause (from goxmldsig, xmlenc, encoding/xml, …),
	// reachable through errors.Unwrap for logging; never part of the contract.
	err error
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "saml: " + e.Reason
	}
	return "saml: " + e.Reason + ": " + e.Detail
}

// Unwrap returns the underlying library error, if any.
func (e *Error) Unwrap() error { return e.err }

// Is makes errors.Is(err, &saml.Error{Reason: saml.ReasonExpired}) match on
// the reason alone, so callers need not care about the detail text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Detail == "" && t.err == nil
}

// ReasonOf returns the reason code of err if it is (or wraps) an *Error, and
// "" otherwise.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// failWrap is fail with an underlying cause, which is appended to the detail
// and kept for errors.Unwrap.
func failWrap(reason string, cause error, format string, args ...any) *Error {
	detail := fmt.Sprintf(format, args...)
	if cause != nil {
		detail += ": " + cause.Error()
	}
	return &Error{Reason: reason, Detail: detail, err: cause}
}
