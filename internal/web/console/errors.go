package console

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// kindPages is the status and fallback sentence of each error kind on a
// console page; the fallback is shown when the service's own text is not
// a sentence for people (errs.Shown).
var kindPages = map[errs.Kind]failure{
	errs.NotFound:           {Status: http.StatusNotFound, Message: "There is no such record in your organization. It may have been removed."},
	errs.Conflict:           {Status: http.StatusConflict, Message: "Someone else changed this at the same time. Reload the page and try again."},
	errs.Invalid:            {Status: http.StatusBadRequest, Message: "Check the form and try again."},
	errs.Forbidden:          {Status: http.StatusForbidden, Message: "You may not do that."},
	errs.Unauthenticated:    {Status: http.StatusUnauthorized, Message: "Sign in again to continue."},
	errs.RateLimited:        {Status: http.StatusTooManyRequests, Message: "Too many attempts. Wait a moment, then try again."},
	errs.PreconditionFailed: {Status: http.StatusConflict, Message: "Your organization's current state does not allow this change."},
}

// codePages overrides kindPages for some errs codes (Status 0: the
// kind's); Message is appended to the service's sentence.
var codePages = map[string]failure{
	"last_owner":          {Message: " Make someone else an owner first."},
	"verification_failed": {Status: http.StatusUnprocessableEntity},
	"connection_untested": {Untested: true},
	"busy":                {Status: http.StatusServiceUnavailable},
}

// classify turns a service error into what a console page shows; ok is
// false for errors that are not the admin's to fix (the caller answers
// 500). It is the console's one mapping from errs kinds and codes.
func classify(err error) (f failure, ok bool) {
	kind := errs.KindOf(err)
	f, ok = kindPages[kind]
	if !ok {
		return failure{}, false
	}
	if text, ok := errs.Shown(err); ok {
		f.Message = text
	}
	code := errs.CodeOf(err)
	// Only input errors, and the untested connection's "sso" setting, mark
	// a form field; a lockout's force_reason has a page of its own.
	if kind == errs.Invalid || code == "connection_untested" {
		f.Field = errs.FieldOf(err)
	}
	if c, ok := codePages[code]; ok {
		if c.Status != 0 {
			f.Status = c.Status
		}
		f.Message += c.Message
		f.Untested = f.Untested || c.Untested
	}
	return f, true
}
