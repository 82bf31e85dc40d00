// Package errs is the one vocabulary of error kinds every service speaks
// and every edge (console pages, JSON API, CLI) reads. A service error
// carries a Kind (what sort of refusal it is: the edge picks the HTTP
// status from it), an optional stable Code that says which refusal of
// that kind it is (the JSON API's error code, a page's extra sentence),
// and for Invalid the input field at fault. Each edge's one mapping
// classifies with KindOf, CodeOf and FieldOf instead of matching every
// service's sentinels; a page that reacts to one refusal in its own way
// (a wrong password, an expired link) still matches it with errors.Is.
//
// The package imports only the standard library so that storage and every
// service can depend on it.
package errs

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Kind is the sort of refusal an error stands for. The zero Kind, Internal,
// is every error nobody classified: a failure that is not the caller's to fix.
type Kind uint8

// The kinds. Their order is not part of any contract; String is.
const (
	Internal           Kind = iota // not classified: the edge logs it and answers 500
	NotFound                       // no such record (for this caller)
	Conflict                       // the record exists already, or a concurrent change won
	Invalid                        // bad input; FieldOf names the field
	Forbidden                      // the actor may not do this
	Unauthenticated                // no, or wrong, credentials
	RateLimited                    // too many attempts, or too busy; try again later
	PreconditionFailed             // the change would break a rule of the organization's state; CodeOf says which
)

var kindNames = [...]string{
	Internal:           "internal",
	NotFound:           "not_found",
	Conflict:           "conflict",
	Invalid:            "invalid",
	Forbidden:          "forbidden",
	Unauthenticated:    "unauthenticated",
	RateLimited:        "rate_limited",
	PreconditionFailed: "precondition_failed",
}

// Kinds lists every Kind, Internal first (for tests and edge tables).
func Kinds() []Kind {
	ks := make([]Kind, len(kindNames))
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// String returns the kind's stable snake_case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Kinded is implemented by every classified error. Service error types
// implement it themselves (with a Kind method), sentinels are *Error values.
type Kinded interface {
	error
	Kind() Kind
}

// Coded is implemented by classified errors that say which refusal of
// their kind they are. A code is stable snake_case: clients match it.
type Coded interface {
	Code() string
}

// Fielded is implemented by Invalid errors that name the input field at
// fault ("email", "sso", "force_reason").
type Fielded interface {
	InputField() string
}

// Error is a classified error: the value behind service sentinels.
// Compare sentinels with errors.Is (identity), as before.
type Error struct {
	kind  Kind
	code  string
	field string
	msg   string
}

// New returns an error of kind with code (may be empty) and message msg.
func New(kind Kind, code, msg string) *Error {
	return &Error{kind: kind, code: code, msg: msg}
}

// NewInvalid returns an Invalid error naming field.
func NewInvalid(field, msg string) *Error {
	return &Error{kind: Invalid, field: field, msg: msg}
}

func (e *Error) Error() string { return e.msg }

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Code returns the error's code, "" when the kind says it all.
func (e *Error) Code() string { return e.code }

// InputField returns the input field at fault, if any.
func (e *Error) InputField() string { return e.field }

// classified returns the outermost classified error in err's tree.
func classified(err error) (Kinded, bool) {
	var k Kinded
	if errors.As(err, &k) && k.Kind() != Internal {
		return k, true
	}
	return nil, false
}

// KindOf returns the kind of the outermost classified error in err's tree
// (errors.As order), or Internal when there is none.
func KindOf(err error) Kind {
	if k, ok := classified(err); ok {
		return k.Kind()
	}
	return Internal
}

// CodeOf returns the code of the outermost classified error in err's tree
// when it has one, else its kind's name ("internal" for none).
func CodeOf(err error) string {
	k, ok := classified(err)
	if !ok {
		return Internal.String()
	}
	if c, ok := k.(Coded); ok && c.Code() != "" {
		return c.Code()
	}
	return k.Kind().String()
}

// FieldOf returns the input field the outermost classified error names,
// or "".
func FieldOf(err error) string {
	k, ok := classified(err)
	if !ok {
		return ""
	}
	if f, ok := k.(Fielded); ok {
		return f.InputField()
	}
	return ""
}

// Classified returns the outermost classified error in err's tree, for an
// edge that shows its text; ok is false for an Internal error.
func Classified(err error) (e error, ok bool) {
	k, ok := classified(err)
	return k, ok
}

// Shown returns the text an edge may show a person for a classified err:
// err's own text when it reads as a sentence (starts with a capital
// letter), else that of the outermost classified error inside it. ok is
// false when neither is a sentence, or err is not classified: text in Go
// style ("storage: conflict") is for logs, and the edge shows its own
// sentence for the kind or code instead.
func Shown(err error) (text string, ok bool) {
	c, classified := classified(err)
	if !classified {
		return "", false
	}
	if s := err.Error(); sentence(s) {
		return s, true
	}
	if s := c.Error(); sentence(s) {
		return s, true
	}
	return "", false
}

func sentence(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// Named is an error that stands for sentinel (what callers match) for one
// named record: "Not found." with what `account "x"` reads
// "Not found: account "x".". It unwraps to sentinel and to cause (the
// storage error behind it, kept for logs), and has sentinel's kind.
type Named struct {
	Sentinel error
	What     string
	Cause    error
}

// NewNamed returns a *Named for sentinel, what and cause (may be nil).
func NewNamed(sentinel error, what string, cause error) *Named {
	return &Named{Sentinel: sentinel, What: what, Cause: cause}
}

func (e *Named) Error() string {
	s := e.Sentinel.Error()
	if n := len(s); n > 0 && s[n-1] == '.' {
		return s[:n-1] + ": " + e.What + "."
	}
	return s + ": " + e.What
}

// Unwrap lets errors.Is match the sentinel and the cause.
func (e *Named) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Sentinel}
	}
	return []error{e.Sentinel, e.Cause}
}

// Kind returns the sentinel's kind.
func (e *Named) Kind() Kind { return KindOf(e.Sentinel) }

// Code returns the sentinel's code.
func (e *Named) Code() string {
	if c, ok := e.Sentinel.(Coded); ok {
		return c.Code()
	}
	return ""
}
