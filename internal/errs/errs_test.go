package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

var (
	errGone  = errs.New(errs.NotFound, "", "Not found.")
	errStore = errs.New(errs.Conflict, "", "store: conflict")
)

type lockedErr struct{}

func (lockedErr) Error() string      { return "The change would lock everyone out." }
func (lockedErr) Kind() errs.Kind    { return errs.PreconditionFailed }
func (lockedErr) Code() string       { return "lockout" }
func (lockedErr) InputField() string { return "force_reason" }

func TestClassifyThroughWrapping(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		kind  errs.Kind
		code  string
		field string
		shown string // "" when nothing may be shown
	}{
		{"nil", nil, errs.Internal, "internal", "", ""},
		{"plain", errors.New("boom"), errs.Internal, "internal", "", ""},
		{"sentinel", errGone, errs.NotFound, "not_found", "", "Not found."},
		{"wrapped in go style", fmt.Errorf("svc: read: %w", errGone), errs.NotFound, "not_found", "", "Not found."},
		{"go-style text is not shown", fmt.Errorf("svc: %w", errStore), errs.Conflict, "conflict", "", ""},
		{"invalid names its field", errs.NewInvalid("email", "Enter an email."), errs.Invalid, "invalid", "email", "Enter an email."},
		{"own type with code", fmt.Errorf("policy: %w", lockedErr{}), errs.PreconditionFailed, "lockout", "force_reason", "The change would lock everyone out."},
		{"named", errs.NewNamed(errGone, `account "x"`, errStore), errs.NotFound, "not_found", "", `Not found: account "x".`},
		{"outermost wins", errs.NewNamed(errGone, "y", lockedErr{}), errs.NotFound, "not_found", "", "Not found: y."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errs.KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %s, want %s", got, tc.kind)
			}
			if got := errs.CodeOf(tc.err); got != tc.code {
				t.Errorf("CodeOf = %q, want %q", got, tc.code)
			}
			if got := errs.FieldOf(tc.err); got != tc.field {
				t.Errorf("FieldOf = %q, want %q", got, tc.field)
			}
			got, ok := errs.Shown(tc.err)
			if ok != (tc.shown != "") || got != tc.shown {
				t.Errorf("Shown = %q, %v, want %q", got, ok, tc.shown)
			}
		})
	}
}

// A named error still matches both the sentinel and the cause.
func TestNamedMatchesSentinelAndCause(t *testing.T) {
	err := errs.NewNamed(errGone, "z", errStore)
	if !errors.Is(err, errGone) || !errors.Is(err, errStore) {
		t.Fatalf("errors.Is lost the sentinel or the cause of %v", err)
	}
}

func TestKindNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range errs.Kinds() {
		if seen[k.String()] {
			t.Errorf("kind name %q used twice", k)
		}
		seen[k.String()] = true
	}
	if errs.Kind(200).String() != "internal" {
		t.Errorf("an unknown kind must read as internal")
	}
}
