package policy

import (
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrUntestedConnection is matched (errors.Is) by the refusal to enforce SSO
// through a connection no admin has completed a test sign-in through. The
// error is also an *account.InvalidInputError carrying the sentence to show.
var ErrUntestedConnection error = errs.New(errs.PreconditionFailed, CodeUntestedConnection, "policy: connection not tested")

// CodeUntestedConnection is the errs code (and the JSON API's error code)
// of the refusal to enforce SSO through an untested connection.
const CodeUntestedConnection = "connection_untested"

// ErrDefaultPolicy: the default policy cannot be deleted or renamed away;
// every managed account must fall under some policy.
var ErrDefaultPolicy error = errs.New(errs.PreconditionFailed, "default_policy", "The default policy cannot be deleted.")

// lockoutError refuses an enforcement that could lock everyone out. It
// unwraps to ErrUntestedConnection (for code) and to an InvalidInputError
// (the sentence and field), and classifies as ErrUntestedConnection does.
type lockoutError struct{ input *account.InvalidInputError }

func (e *lockoutError) Error() string   { return e.input.Message }
func (e *lockoutError) Unwrap() []error { return []error{ErrUntestedConnection, e.input} }

// Kind reports PreconditionFailed: the connection must be tested first.
func (e *lockoutError) Kind() errs.Kind { return errs.PreconditionFailed }

// Code returns CodeUntestedConnection.
func (e *lockoutError) Code() string { return CodeUntestedConnection }

// InputField names the setting at fault ("sso").
func (e *lockoutError) InputField() string { return e.input.Field }

func untested(conn storage.IdPConnection) error {
	return &lockoutError{&account.InvalidInputError{
		Field:   "sso",
		Message: fmt.Sprintf("Run a test sign-in through %s before enforcing SSO.", conn.Name),
	}}
}

// staleTest: the connection was tested, but has failed since.
func staleTest(conn storage.IdPConnection, reason string) error {
	return &lockoutError{&account.InvalidInputError{
		Field:   "sso",
		Message: fmt.Sprintf("Run a new test sign-in through %s before enforcing SSO: %s.", conn.Name, reason),
	}}
}

func invalid(field, msg string) error {
	return &account.InvalidInputError{Field: field, Message: msg}
}

// mapErr is account.MapStoreErr for this package.
func mapErr(err error, what string) error { return account.MapStoreErr(err, "policy", what) }

func quote(s string) string { return strconv.Quote(s) }

// checkForce validates a force reason and returns the lockout.Force it stands for.
func checkForce(reason string) (lockout.Force, error) {
	r, err := lockout.CheckReason(reason)
	if err != nil {
		return lockout.Force{}, invalid("force_reason", err.Error())
	}
	return lockout.Force{Reason: r}, nil
}

// oneForce accepts at most one lockout.Force (the optional trailing
// argument of the service's methods) and validates its reason.
func oneForce(force []lockout.Force) (lockout.Force, error) {
	switch len(force) {
	case 0:
		return lockout.Force{}, nil
	case 1:
		return checkForce(force[0].Reason)
	}
	return lockout.Force{}, invalid("force_reason", "Give one force reason.")
}
