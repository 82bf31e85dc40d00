package page

import (
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/session"
)

// amrWords names each authentication method for people. Methods that only
// qualify another (the authenticator checked presence or a PIN of a
// passkey) and "mfa" (said by the combination) have no words of their own.
var amrWords = map[string]string{
	session.MethodPassword:  "password",
	session.MethodOTP:       "authenticator code",
	session.MethodHardware:  "passkey",
	session.MethodSoftware:  "passkey",
	session.MethodSSO:       "single sign-on",
	session.MethodEmergency: "emergency access",
	session.MethodRecovery:  "recovery link",
	session.MethodPIN:       "PIN", // none when it unlocked a passkey
	session.MethodUser:      "",
	session.MethodMFA:       "",
}

// MethodWords turns a session's methods into a phrase such as "Password +
// authenticator code" or "Single sign-on (Corp Entra)"; conn names the
// IdP connection. method, the older label, adds when a password was
// chosen rather than typed.
func MethodWords(amr []string, method, conn string) string {
	var parts []string
	for _, m := range amr {
		w, known := amrWords[m]
		if !known {
			w = "another method"
		}
		if m == session.MethodPIN && (slices.Contains(amr, session.MethodHardware) || slices.Contains(amr, session.MethodSoftware)) {
			w = ""
		}
		if m == session.MethodSSO && conn != "" {
			w += " (" + conn + ")"
		}
		if w != "" && !slices.Contains(parts, w) {
			parts = append(parts, w)
		}
	}
	if len(parts) == 0 {
		return "Unknown method"
	}
	text := strings.Join(parts, " + ")
	if slices.Contains(amr, session.MethodMFA) && len(parts) == 1 {
		// The IdP or authenticator vouched for a second factor we did not see.
		text += " with multi-factor authentication"
	}
	switch method {
	case "setup":
		text += ", chosen at set-up"
	case "reset":
		text += ", chosen in a password reset"
	}
	return strings.ToUpper(text[:1]) + text[1:]
}
