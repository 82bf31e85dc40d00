package console

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/errs/errcases"
)

// pageStatuses is the status a console page answers each service error
// with (500: not the admin's to fix). Every case in errcases must be here.
var pageStatuses = map[string]int{
	"storage.ErrNotFound":              404,
	"storage.ErrConflict":              409,
	"account.ErrBadCredentials":        401,
	"account.ErrInvalidLink":           404,
	"account.ErrSetupDone":             409,
	"account.ErrLastOwner":             409,
	"account.ErrNotInvited":            409,
	"account.ErrSuspendedAccount":      409,
	"account.ErrDeleteSelf":            409,
	"account.ErrSuspendSelf":           409,
	"account.ErrResetRefused":          409,
	"storage.ErrBadQuery":              400,
	"account.ErrOwnerOnly":             403,
	"account.ErrForbidden":             403,
	"authz.ErrOwnerOnly":               403,
	"authz.ErrForbidden":               403,
	"account.ErrNotFound":              404,
	"account.ErrExists":                409,
	"policy.ErrUntestedConnection":     409,
	"policy.ErrDefaultPolicy":          409,
	"idp.ErrInUse":                     409,
	"lockout.ErrLockout":               409,
	"lockout.ErrLastBreakGlassFactor":  409,
	"domain.ErrNotFound":               404,
	"domain.ErrInvalidDomain":          400,
	"domain.ErrAlreadyAdded":           409,
	"domain.ErrTakenByOtherOrg":        409,
	"domain.ErrNotVerified":            422,
	"session.ErrInvalid":               404,
	"sso.ErrUnknownConnection":         404,
	"sso.ErrTestNotAllowed":            403,
	"signin.ErrNoSSO":                  409,
	"signin.ErrNoPasskeys":             409,
	"orgrecovery.ErrInvalid":           401,
	"orgrecovery.ErrOwnerOnly":         403,
	"emailaddr.ErrInvalid":             400,
	"mfa.ErrPasskeyRefused":            401,
	"mfa.ErrPasskeysUnavailable":       409,
	"mfa.ErrPasskeyNotFound":           404,
	"mfa.ErrPasskeyName":               400,
	"mfa.ErrInvalidCode":               401,
	"mfa.ErrNoTOTPEnrolment":           409,
	"emergency.ErrNotFound":            404,
	"emergency.ErrActive":              409,
	"emergency.ErrNotActive":           409,
	"emergency.ErrReasonRequired":      400,
	"emergency.ErrDuration":            400,
	"emergency.ErrUnknownPolicy":       400,
	"*account.InvalidInputError":       400,
	"*account.ThrottledError":          429,
	"*account.BusyError":               503,
	"*domain.InvalidInputError":        400,
	"*domain.Error/ErrNotFound":        404,
	"*domain.Error/ErrAlreadyAdded":    409,
	"*domain.Error/ErrTakenByOtherOrg": 409,
	"*domain.Error/ErrNotVerified":     422,
	"*lockout.Error":                   409,
	"*signin.FlowError":                409,
	"*sso.Rejection":                   401,
	"*emailaddr.Error":                 400,
	"account.ErrNotFound named":        404,
	"account.ErrExists named":          409,
	"storage.ErrConflict wrapped":      409,
	"unclassified":                     500,
}

// Every service error gets its status on a console page, with a sentence
// for people; only input errors mark a form field.
func TestClassifyEveryServiceError(t *testing.T) {
	for _, c := range errcases.All() {
		want, ok := pageStatuses[c.Name]
		if !ok {
			t.Errorf("%s: no expected status; add one to pageStatuses", c.Name)
			continue
		}
		f, ok := classify(c.Err)
		if want == 500 {
			if ok {
				t.Errorf("%s: classified as %d, want an internal failure", c.Name, f.Status)
			}
			continue
		}
		if !ok || f.Status != want {
			t.Errorf("%s (%s/%s): got %d (classified %v), want %d", c.Name, c.Kind, c.Code, f.Status, ok, want)
		}
		if f.Message == "" || strings.Contains(f.Message, "storage:") || strings.ToUpper(f.Message[:1]) != f.Message[:1] {
			t.Errorf("%s: message %q is not a sentence for people", c.Name, f.Message)
		}
		if f.Field != "" && c.Code != "invalid" && c.Code != "connection_untested" {
			t.Errorf("%s: marks field %q, but only input errors name a form field", c.Name, f.Field)
		}
	}
}

// The console's own sentences: the last owner is told what to do, and a
// refused enforcement through an untested connection offers the override.
func TestClassifyAddsConsoleSentences(t *testing.T) {
	for _, c := range errcases.All() {
		f, _ := classify(c.Err)
		switch c.Code {
		case "last_owner":
			if !strings.HasSuffix(f.Message, " Make someone else an owner first.") {
				t.Errorf("%s: %q does not say what to do", c.Name, f.Message)
			}
		case "connection_untested":
			if !f.Untested {
				t.Errorf("%s: the form does not offer the override", c.Name)
			}
		}
	}
}
