// Package errcases lists, for tests, one instance of every error the
// services answer with: each exported sentinel and each error type, with
// the errs kind and code it must carry. The edges' tests run every case
// through their classification, so a new service error without a kind, or
// without a decision at an edge, fails a test.
package errcases

import (
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Case is one service error and what it must classify as.
type Case struct {
	Name string // "account.ErrNotFound"; sentinels are named as declared
	Err  error
	Kind errs.Kind
	Code string // errs.CodeOf: the specific code, else the kind's name
}

// Sentinels are the exported sentinel errors of the services, by the name
// they are declared under (package.Name). A test compares the names with
// the sources, so a new sentinel must be added here, with its kind.
func Sentinels() []Case {
	return []Case{
		{"storage.ErrNotFound", storage.ErrNotFound, errs.NotFound, "not_found"},
		{"storage.ErrConflict", storage.ErrConflict, errs.Conflict, "conflict"},
		{"storage.ErrBadQuery", storage.ErrBadQuery, errs.Invalid, "invalid"},
		{"account.ErrBadCredentials", account.ErrBadCredentials, errs.Unauthenticated, "bad_credentials"},
		{"account.ErrInvalidLink", account.ErrInvalidLink, errs.NotFound, "invalid_link"},
		{"account.ErrSetupDone", account.ErrSetupDone, errs.Conflict, "setup_done"},
		{"account.ErrLastOwner", account.ErrLastOwner, errs.PreconditionFailed, "last_owner"},
		{"account.ErrNotInvited", account.ErrNotInvited, errs.Conflict, "not_invited"},
		{"account.ErrSuspendedAccount", account.ErrSuspendedAccount, errs.PreconditionFailed, "suspended"},
		{"account.ErrDeleteSelf", account.ErrDeleteSelf, errs.PreconditionFailed, "delete_self"},
		{"account.ErrSuspendSelf", account.ErrSuspendSelf, errs.PreconditionFailed, "suspend_self"},
		{"account.ErrResetRefused", account.ErrResetRefused, errs.PreconditionFailed, "reset_refused"},
		{"account.ErrOwnerOnly", account.ErrOwnerOnly, errs.Forbidden, "owner_only"},
		{"account.ErrForbidden", account.ErrForbidden, errs.Forbidden, "forbidden"},
		{"authz.ErrOwnerOnly", authz.ErrOwnerOnly, errs.Forbidden, "owner_only"},
		{"authz.ErrForbidden", authz.ErrForbidden, errs.Forbidden, "forbidden"},
		{"account.ErrNotFound", account.ErrNotFound, errs.NotFound, "not_found"},
		{"account.ErrExists", account.ErrExists, errs.Conflict, "conflict"},
		{"policy.ErrUntestedConnection", policy.ErrUntestedConnection, errs.PreconditionFailed, "connection_untested"},
		{"policy.ErrDefaultPolicy", policy.ErrDefaultPolicy, errs.PreconditionFailed, "default_policy"},
		{"idp.ErrInUse", idp.ErrInUse, errs.PreconditionFailed, "connection_in_use"},
		{"lockout.ErrLockout", lockout.ErrLockout, errs.PreconditionFailed, "lockout"},
		{"lockout.ErrLastBreakGlassFactor", lockout.ErrLastBreakGlassFactor, errs.PreconditionFailed, "last_break_glass_factor"},
		{"domain.ErrNotFound", domain.ErrNotFound, errs.NotFound, "not_found"},
		{"domain.ErrInvalidDomain", domain.ErrInvalidDomain, errs.Invalid, "invalid"},
		{"domain.ErrAlreadyAdded", domain.ErrAlreadyAdded, errs.Conflict, "conflict"},
		{"domain.ErrTakenByOtherOrg", domain.ErrTakenByOtherOrg, errs.Conflict, "domain_taken"},
		{"domain.ErrNotVerified", domain.ErrNotVerified, errs.PreconditionFailed, "verification_failed"},
		{"session.ErrInvalid", session.ErrInvalid, errs.NotFound, "session_invalid"},
		{"sso.ErrUnknownConnection", sso.ErrUnknownConnection, errs.NotFound, "unknown_connection"},
		{"sso.ErrTestNotAllowed", sso.ErrTestNotAllowed, errs.Forbidden, "test_not_allowed"},
		{"signin.ErrNoSSO", signin.ErrNoSSO, errs.PreconditionFailed, "no_sso"},
		{"signin.ErrNoPasskeys", signin.ErrNoPasskeys, errs.PreconditionFailed, "no_passkeys"},
		{"orgrecovery.ErrInvalid", orgrecovery.ErrInvalid, errs.Unauthenticated, "recovery_code_invalid"},
		{"orgrecovery.ErrOwnerOnly", orgrecovery.ErrOwnerOnly, errs.Forbidden, "owner_only"},
		{"emailaddr.ErrInvalid", emailaddr.ErrInvalid, errs.Invalid, "invalid"},
		{"mfa.ErrPasskeyRefused", mfa.ErrPasskeyRefused, errs.Unauthenticated, "passkey_refused"},
		{"mfa.ErrPasskeysUnavailable", mfa.ErrPasskeysUnavailable, errs.PreconditionFailed, "passkeys_unavailable"},
		{"mfa.ErrPasskeyNotFound", mfa.ErrPasskeyNotFound, errs.NotFound, "passkey_not_found"},
		{"mfa.ErrPasskeyName", mfa.ErrPasskeyName, errs.Invalid, "invalid"},
		{"mfa.ErrInvalidCode", mfa.ErrInvalidCode, errs.Unauthenticated, "invalid_code"},
		{"mfa.ErrNoTOTPEnrolment", mfa.ErrNoTOTPEnrolment, errs.PreconditionFailed, "no_totp_enrolment"},
		{"emergency.ErrNotFound", emergency.ErrNotFound, errs.NotFound, "emergency_not_found"},
		{"emergency.ErrActive", emergency.ErrActive, errs.Conflict, "emergency_active"},
		{"emergency.ErrNotActive", emergency.ErrNotActive, errs.PreconditionFailed, "emergency_not_active"},
		{"emergency.ErrReasonRequired", emergency.ErrReasonRequired, errs.Invalid, "invalid"},
		{"emergency.ErrDuration", emergency.ErrDuration, errs.Invalid, "invalid"},
		{"emergency.ErrUnknownPolicy", emergency.ErrUnknownPolicy, errs.Invalid, "invalid"},
	}
}

// Types are instances of the services' error types, and of sentinels as
// the services return them (named, wrapped), with what they classify as.
func Types() []Case {
	person := lockout.Person{ID: "a1", Email: "owner@example.com", Role: storage.RoleOwner}
	return []Case{
		{"*account.InvalidInputError", &account.InvalidInputError{Field: "email", Message: "Enter an email address."}, errs.Invalid, "invalid"},
		{"*account.ThrottledError", &account.ThrottledError{RetryAfter: 30 * time.Second}, errs.RateLimited, "throttled"},
		{"*account.BusyError", &account.BusyError{RetryAfter: time.Second}, errs.RateLimited, "busy"},
		{"*domain.InvalidInputError", &domain.InvalidInputError{Field: "name", Message: "Enter a domain."}, errs.Invalid, "invalid"},
		{"*domain.Error/ErrNotFound", &domain.Error{Sentinel: domain.ErrNotFound, Message: "Domain not found."}, errs.NotFound, "not_found"},
		{"*domain.Error/ErrAlreadyAdded", &domain.Error{Sentinel: domain.ErrAlreadyAdded, Message: "This organization has already added example.com."}, errs.Conflict, "conflict"},
		{"*domain.Error/ErrTakenByOtherOrg", &domain.Error{Sentinel: domain.ErrTakenByOtherOrg, Message: "example.com is already verified by another organization."}, errs.Conflict, "domain_taken"},
		{"*domain.Error/ErrNotVerified", &domain.Error{Sentinel: domain.ErrNotVerified, Message: "No TXT record was found."}, errs.PreconditionFailed, "verification_failed"},
		{"*lockout.Error", &lockout.Error{LockedOut: []lockout.Person{person}}, errs.PreconditionFailed, "lockout"},
		{"*signin.FlowError", &signin.FlowError{Reason: signin.FlowExpired}, errs.PreconditionFailed, signin.FlowExpired},
		{"*sso.Rejection", &sso.Rejection{Reason: "bad_signature"}, errs.Unauthenticated, "unauthenticated"},
		{"*emailaddr.Error", &emailaddr.Error{Code: emailaddr.CodeShape}, errs.Invalid, "invalid"},
		{"account.ErrNotFound named", account.MapStoreErr(fmt.Errorf("sqlstore: %w", storage.ErrNotFound), "account", `account "a1"`), errs.NotFound, "not_found"},
		{"account.ErrExists named", account.MapStoreErr(storage.ErrConflict, "policy", `policy "Sales"`), errs.Conflict, "conflict"},
		{"storage.ErrConflict wrapped", fmt.Errorf("account: update account %q: %w", "a1", storage.ErrConflict), errs.Conflict, "conflict"},
		{"unclassified", fmt.Errorf("account: read: %w", fmt.Errorf("disk on fire")), errs.Internal, "internal"},
	}
}

// All is Sentinels and Types.
func All() []Case { return append(Sentinels(), Types()...) }
