package policy

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrUntestedConnection is matched (errors.Is) by the refusal to enforce SSO
// through a connection no admin has completed a test sign-in through. The
// error is also an *account.InvalidInputError carrying the sentence to show.
var ErrUntestedConnection = errors.New("policy: connection not tested")

// ErrDefaultPolicy: the default policy cannot be deleted or renamed away;
// every managed account must fall under some policy.
var ErrDefaultPolicy = errors.New("The default policy cannot be deleted.")

// lockoutError refuses an enforcement that could lock everyone out. It
// unwraps to ErrUntestedConnection (for code) and to an InvalidInputError
// (so handlers that already map those answer 400 with the sentence).
type lockoutError struct{ input *account.InvalidInputError }

func (e *lockoutError) Error() string   { return e.input.Message }
func (e *lockoutError) Unwrap() []error { return []error{ErrUntestedConnection, e.input} }

func untested(conn storage.IdPConnection) error {
	return &lockoutError{&account.InvalidInputError{
		Field:   "sso",
		Message: fmt.Sprintf("Run a test sign-in through %s before enforcing SSO.", conn.Name),
	}}
}

func invalid(field, msg string) error {
	return &account.InvalidInputError{Field: field, Message: msg}
}

// mappedError carries an account sentinel (account.ErrNotFound or
// account.ErrExists: what handlers match and show), naming what was looked
// for or is taken, together with the storage error behind it.
type mappedError struct {
	sentinel error
	what     string
	cause    error
}

func (e *mappedError) Error() string {
	return e.sentinel.Error()[:len(e.sentinel.Error())-1] + ": " + e.what + "."
}

func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// mapErr turns storage.ErrNotFound into account.ErrNotFound naming what,
// storage.ErrConflict into account.ErrExists, leaves this package's own
// errors alone and wraps anything else.
func mapErr(err error, what string) error {
	var own *account.InvalidInputError
	var me *mappedError
	switch {
	case err == nil, errors.As(err, &own), errors.As(err, &me), errors.Is(err, ErrDefaultPolicy), errors.Is(err, lockout.ErrLockout):
		return err
	case errors.Is(err, storage.ErrNotFound):
		return &mappedError{account.ErrNotFound, what, err}
	case errors.Is(err, storage.ErrConflict):
		return &mappedError{account.ErrExists, what, err}
	}
	return fmt.Errorf("policy: %s: %w", what, err)
}

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
