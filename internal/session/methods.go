package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Authentication method names a session may record (Session.AMR, OIDC
// "amr"). Where RFC 8176 defines a value, it is used; Gatehouse adds its
// own for what the RFC has no word for.
const (
	MethodPassword  = "pwd"       // RFC 8176: a password
	MethodOTP       = "otp"       // RFC 8176: a one-time code (TOTP)
	MethodHardware  = "hwk"       // RFC 8176: proof of a hardware-bound key (a passkey on a security key or device)
	MethodSoftware  = "swk"       // RFC 8176: proof of a software-held key (a synced passkey)
	MethodUser      = "user"      // RFC 8176: user presence/verification by the authenticator
	MethodPIN       = "pin"       // RFC 8176: a PIN or pattern
	MethodMFA       = "mfa"       // RFC 8176: more than one factor was used
	MethodSSO       = "sso"       // Gatehouse: single sign-on through the organization's IdP
	MethodEmergency = "emergency" // Gatehouse: emergency access while the IdP is down
	MethodRecovery  = "recovery"  // Gatehouse: a recovery link or code, bypassing the usual methods
)

// knownMethods is the allow-list Start checks. A name outside it is a
// programming error, and a session must never claim a method nobody
// implemented: relying parties act on these values.
var knownMethods = map[string]bool{
	MethodPassword: true, MethodOTP: true, MethodHardware: true, MethodSoftware: true,
	MethodUser: true, MethodPIN: true, MethodMFA: true,
	MethodSSO: true, MethodEmergency: true, MethodRecovery: true,
}

// maxMethods bounds a session's method list; real sign-ins use two or three.
const maxMethods = 8

// legacyMethods maps StartParams.Method to the methods it stands for, for
// callers that do not yet pass Methods. Set-up and password-reset sessions
// are made by the person choosing the account's password in that request:
// "pwd" is the honest nearest value and the weakest standard one, so it
// never over-claims. The same mapping backfilled sessions in migration 0005.
var legacyMethods = map[string][]string{
	"password": {MethodPassword},
	"setup":    {MethodPassword},
	"reset":    {MethodPassword},
	"sso":      {MethodSSO},
	"recovery": {MethodRecovery},
}

// resolveMethods returns the validated method list and the Method label for
// p: Methods if given, else the methods Method stands for.
func resolveMethods(p StartParams) (methods []string, method string, err error) {
	methods = p.Methods
	if len(methods) == 0 {
		methods = legacyMethods[p.Method]
		if methods == nil {
			return nil, "", fmt.Errorf("session: start: no authentication methods (Method %q names none)", p.Method)
		}
	}
	if len(methods) > maxMethods {
		return nil, "", fmt.Errorf("session: start: %d authentication methods, at most %d", len(methods), maxMethods)
	}
	for i, m := range methods {
		if !knownMethods[m] {
			return nil, "", fmt.Errorf("session: start: unknown authentication method %q", m)
		}
		if slices.Contains(methods[:i], m) {
			return nil, "", fmt.Errorf("session: start: authentication method %q listed twice", m)
		}
	}
	method = p.Method
	if method == "" {
		method = legacyMethod(methods)
	}
	// A copy: the caller's slice must not alias what storage and the cache hold.
	return slices.Clone(methods), method, nil
}

// legacyMethod is the Method label for a method list, for readers of the
// older field (the admin API, the CLI).
func legacyMethod(methods []string) string {
	for _, m := range []string{MethodSSO, MethodRecovery, MethodEmergency} {
		if slices.Contains(methods, m) {
			return m
		}
	}
	if slices.Contains(methods, MethodPassword) {
		return "password"
	}
	return methods[0]
}

// authTimeSkew is how far ahead of this node's clock an authentication
// time may be: an IdP's clock (SSO passes its AuthnInstant) may run ahead
// by as much as the SAML validator tolerates.
const authTimeSkew = 3 * time.Minute

// resolveAuthTime returns when the person authenticated: at, or now when
// zero. A time slightly ahead (another clock) is now; further ahead it is a
// programming error, which must not make a session look fresher than it can
// be.
func resolveAuthTime(at, now time.Time) (time.Time, error) {
	if at.IsZero() {
		return now, nil
	}
	at = storage.Truncate(at)
	if at.After(now.Add(authTimeSkew)) {
		return time.Time{}, fmt.Errorf("session: start: auth time %s is after now (%s)", at.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	if at.After(now) {
		return now, nil
	}
	return at, nil
}

// Methods returns how the session was signed in (OIDC "amr"), as a copy
// the caller may keep or change.
func (v Validated) Methods() []string { return slices.Clone(v.Session.AMR) }

// AuthTime returns when the person authenticated (OIDC "auth_time").
func (v Validated) AuthTime() time.Time { return v.Session.AuthTime }

// amrText joins methods the way the audit log shows them.
func amrText(methods []string) string { return strings.Join(methods, " ") }
