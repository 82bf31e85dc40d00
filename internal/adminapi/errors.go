package adminapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
)

// problem is a service error as the API answers it.
type problem struct {
	Status  int
	Code    string // one of the Code* constants
	Message string
	Field   string
}

// kindAnswers is the status, code and fallback sentence of each error kind;
// the fallback is shown when the service's own text is not a sentence for
// people (an errs message in Go style, such as "storage: conflict").
var kindAnswers = map[errs.Kind]problem{
	errs.NotFound:           {http.StatusNotFound, CodeNotFound, "Not found.", ""},
	errs.Conflict:           {http.StatusConflict, CodeConflict, "The change conflicts with another one; try again.", ""},
	errs.Invalid:            {http.StatusBadRequest, CodeInvalidRequest, "The request is not valid.", ""},
	errs.Forbidden:          {http.StatusForbidden, CodeForbidden, "This API token may not do that.", ""},
	errs.Unauthenticated:    {http.StatusUnauthorized, CodeUnauthorized, "The API token is invalid, expired or revoked.", ""},
	errs.RateLimited:        {http.StatusTooManyRequests, CodeRateLimited, "Too many requests. Wait a moment, then try again.", ""},
	errs.PreconditionFailed: {http.StatusConflict, CodeConflict, "The organization's current state does not allow this change.", ""},
}

// codeAnswers overrides kindAnswers for the errs codes the API names
// itself (Status 0: the kind's); Message is appended to the service's
// sentence: how to override the refusal through the API.
var codeAnswers = map[string]problem{
	"last_owner":          {Code: CodeLastOwner},
	"domain_taken":        {Code: CodeDomainTaken},
	"verification_failed": {Status: http.StatusUnprocessableEntity, Code: CodeVerificationFailed},
	"connection_untested": {Code: CodeConnectionUntested, Message: ` To enforce it anyway, send "force": true; the override is recorded in the audit log.`},
	"connection_in_use":   {Code: CodeConnectionInUse},
	"default_policy":      {Code: CodeDefaultPolicy},
	"lockout":             {Code: CodeLockout, Message: ` Send "force_reason" to make the change anyway.`},
	"busy":                {Status: http.StatusServiceUnavailable},
	"not_invited":         {Code: CodeNotInvited},
	"suspended":           {Code: CodeSuspended},
	"reset_refused":       {Code: CodeResetRefused},
}

// classify turns an error into the API's answer; ok is false for an
// internal failure (logged, answered 500 with the request ID). It is the
// API's one mapping from errs kinds and codes to statuses and codes.
func classify(err error) (p problem, ok bool) {
	switch {
	case errors.Is(err, httpserver.ErrBodyTooLarge):
		return problem{http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The request body is larger than 64 KiB.", ""}, true
	case errors.Is(err, httpserver.ErrUnsupportedMediaType):
		return problem{http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, err.Error(), ""}, true
	}
	kind := errs.KindOf(err)
	p, ok = kindAnswers[kind]
	if !ok {
		return problem{}, false
	}
	if text, ok := errs.Shown(err); ok {
		p.Message = text
	}
	p.Field = errs.FieldOf(err)
	if c, ok := codeAnswers[errs.CodeOf(err)]; ok {
		if c.Status != 0 {
			p.Status = c.Status
		}
		if c.Code != "" {
			p.Code = c.Code
		}
		p.Message += c.Message
	}
	return p, true
}

// fail answers a service error. Service sentences are shown as they are;
// anything unexpected is logged and answered with a generic message and
// the request ID, never its details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := classify(err)
	if !ok {
		h.internal(w, r, err)
		return
	}
	writeError(w, p.Status, p.Code, p.Message, p.Field)
}
