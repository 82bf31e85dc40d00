package idp

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInUse: the connection cannot be removed while a policy signs people
// in through it.
var ErrInUse = errors.New("A policy uses this IdP connection; point the policy at another connection or turn its SSO off first.")

// invalid returns the account package's input error, which the admin API
// and console already answer with 400 and the sentence.
func invalid(field, format string, args ...any) error {
	return &account.InvalidInputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// mappedError carries account.ErrNotFound or account.ErrExists (what
// handlers match and show), naming what was looked for or is taken,
// together with the storage error behind it.
type mappedError struct {
	sentinel error
	what     string
	cause    error
}

func (e *mappedError) Error() string {
	s := e.sentinel.Error()
	return s[:len(s)-1] + ": " + e.what + "."
}

func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// mapErr maps storage sentinels to the account sentinels handlers know,
// leaves this package's own errors alone and wraps anything else.
func mapErr(err error, what string) error {
	var inv *account.InvalidInputError
	var me *mappedError
	switch {
	case err == nil, errors.As(err, &inv), errors.As(err, &me), errors.Is(err, ErrInUse):
		return err
	case errors.Is(err, storage.ErrNotFound):
		return &mappedError{account.ErrNotFound, what, err}
	case errors.Is(err, storage.ErrConflict):
		return &mappedError{account.ErrExists, what, err}
	}
	return fmt.Errorf("idp: %s: %w", what, err)
}

func notFound(what string) error { return mapErr(storage.ErrNotFound, what) }

func quote(s string) string { return strconv.Quote(s) }
