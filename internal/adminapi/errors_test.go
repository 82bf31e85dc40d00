package adminapi

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/errs/errcases"
)

// apiAnswers is what the API answers for each service error: status and
// code. Every case in errcases must be here, so a new service error gets a
// deliberate answer (and a code the API documents).
var apiAnswers = map[string]struct {
	status int
	code   string
}{
	"storage.ErrNotFound":              {404, CodeNotFound},
	"storage.ErrConflict":              {409, CodeConflict},
	"account.ErrBadCredentials":        {401, CodeUnauthorized},
	"account.ErrInvalidLink":           {404, CodeNotFound},
	"account.ErrSetupDone":             {409, CodeConflict},
	"account.ErrLastOwner":             {409, CodeLastOwner},
	"account.ErrNotInvited":            {409, CodeNotInvited},
	"account.ErrSuspendedAccount":      {409, CodeSuspended},
	"account.ErrDeleteSelf":            {409, CodeConflict},
	"account.ErrSuspendSelf":           {409, CodeConflict},
	"account.ErrResetRefused":          {409, CodeResetRefused},
	"storage.ErrBadQuery":              {400, CodeInvalidRequest},
	"account.ErrOwnerOnly":             {403, CodeForbidden},
	"account.ErrForbidden":             {403, CodeForbidden},
	"authz.ErrOwnerOnly":               {403, CodeForbidden},
	"authz.ErrForbidden":               {403, CodeForbidden},
	"account.ErrNotFound":              {404, CodeNotFound},
	"account.ErrExists":                {409, CodeConflict},
	"policy.ErrUntestedConnection":     {409, CodeConnectionUntested},
	"policy.ErrDefaultPolicy":          {409, CodeDefaultPolicy},
	"idp.ErrInUse":                     {409, CodeConnectionInUse},
	"lockout.ErrLockout":               {409, CodeLockout},
	"lockout.ErrLastBreakGlassFactor":  {409, CodeConflict},
	"domain.ErrNotFound":               {404, CodeNotFound},
	"domain.ErrInvalidDomain":          {400, CodeInvalidRequest},
	"domain.ErrAlreadyAdded":           {409, CodeConflict},
	"domain.ErrTakenByOtherOrg":        {409, CodeDomainTaken},
	"domain.ErrNotVerified":            {422, CodeVerificationFailed},
	"session.ErrInvalid":               {404, CodeNotFound},
	"sso.ErrUnknownConnection":         {404, CodeNotFound},
	"sso.ErrTestNotAllowed":            {403, CodeForbidden},
	"signin.ErrNoSSO":                  {409, CodeConflict},
	"signin.ErrNoPasskeys":             {409, CodeConflict},
	"orgrecovery.ErrInvalid":           {401, CodeUnauthorized},
	"orgrecovery.ErrOwnerOnly":         {403, CodeForbidden},
	"emailaddr.ErrInvalid":             {400, CodeInvalidRequest},
	"mfa.ErrPasskeyRefused":            {401, CodeUnauthorized},
	"mfa.ErrPasskeysUnavailable":       {409, CodeConflict},
	"mfa.ErrPasskeyNotFound":           {404, CodeNotFound},
	"mfa.ErrPasskeyName":               {400, CodeInvalidRequest},
	"mfa.ErrInvalidCode":               {401, CodeUnauthorized},
	"mfa.ErrNoTOTPEnrolment":           {409, CodeConflict},
	"emergency.ErrNotFound":            {404, CodeNotFound},
	"emergency.ErrActive":              {409, CodeConflict},
	"emergency.ErrNotActive":           {409, CodeConflict},
	"emergency.ErrReasonRequired":      {400, CodeInvalidRequest},
	"emergency.ErrDuration":            {400, CodeInvalidRequest},
	"emergency.ErrUnknownPolicy":       {400, CodeInvalidRequest},
	"*account.InvalidInputError":       {400, CodeInvalidRequest},
	"*account.ThrottledError":          {429, CodeRateLimited},
	"*account.BusyError":               {503, CodeRateLimited},
	"*domain.InvalidInputError":        {400, CodeInvalidRequest},
	"*domain.Error/ErrNotFound":        {404, CodeNotFound},
	"*domain.Error/ErrAlreadyAdded":    {409, CodeConflict},
	"*domain.Error/ErrTakenByOtherOrg": {409, CodeDomainTaken},
	"*domain.Error/ErrNotVerified":     {422, CodeVerificationFailed},
	"*lockout.Error":                   {409, CodeLockout},
	"*signin.FlowError":                {409, CodeConflict},
	"*sso.Rejection":                   {401, CodeUnauthorized},
	"*emailaddr.Error":                 {400, CodeInvalidRequest},
	"account.ErrNotFound named":        {404, CodeNotFound},
	"account.ErrExists named":          {409, CodeConflict},
	"storage.ErrConflict wrapped":      {409, CodeConflict},
	"unclassified":                     {500, CodeInternal},
}

// documentedCodes are the codes docs/openapi.yaml lists for error bodies.
func documentedCodes(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, "enum: [unauthorized,")
	if i < 0 {
		t.Fatal("openapi.yaml lists no error codes")
	}
	return doc[i : i+strings.Index(doc[i:], "]")]
}

// Every service error gets its status and a documented code; no answer
// shows Go-style text, and an internal failure is not classified at all.
func TestClassifyEveryServiceError(t *testing.T) {
	codes := documentedCodes(t)
	for _, c := range errcases.All() {
		want, ok := apiAnswers[c.Name]
		if !ok {
			t.Errorf("%s: no expected API answer; add one to apiAnswers", c.Name)
			continue
		}
		p, ok := classify(c.Err)
		if want.status == http.StatusInternalServerError {
			if ok {
				t.Errorf("%s: classified as %d %s, want an internal failure", c.Name, p.Status, p.Code)
			}
			continue
		}
		if !ok || p.Status != want.status || p.Code != want.code {
			t.Errorf("%s (%s/%s): got %d %s (classified %v), want %d %s", c.Name, c.Kind, c.Code, p.Status, p.Code, ok, want.status, want.code)
		}
		if !strings.Contains(codes, " "+p.Code) && !strings.Contains(codes, "["+p.Code) {
			t.Errorf("%s: code %q is not in openapi.yaml's list", c.Name, p.Code)
		}
		if p.Message == "" || strings.Contains(p.Message, "storage:") || strings.ToUpper(p.Message[:1]) != p.Message[:1] {
			t.Errorf("%s: message %q is not a sentence for people", c.Name, p.Message)
		}
	}
}
