package idp

import (
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInUse: the connection cannot be removed while a policy signs people
// in through it.
var ErrInUse error = errs.New(errs.PreconditionFailed, "connection_in_use", "A policy uses this IdP connection; point the policy at another connection or turn its SSO off first.")

// invalid returns the account package's input error, which the admin API
// and console already answer with 400 and the sentence.
func invalid(field, format string, args ...any) error {
	return &account.InvalidInputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// mapErr is account.MapStoreErr for this package.
func mapErr(err error, what string) error { return account.MapStoreErr(err, "idp", what) }

func notFound(what string) error { return mapErr(storage.ErrNotFound, what) }

func quote(s string) string { return strconv.Quote(s) }
