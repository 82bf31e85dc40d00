// Package adminapi is Gatehouse's JSON admin API under /api/v1. Callers
// authenticate with an organization API token (Authorization: Bearer gh_…)
// and act on that organization only. Handlers hold no business rules: they
// decode and check the shape of input, call the account, session, audit,
// domain, IdP connection and policy services the console and the CLI use
// too, and map their errors to stable JSON error codes. docs/API.md and docs/openapi.yaml describe the contract.
package adminapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Prefix is the path every admin API route lives under.
const Prefix = "/api/v1"

// Error codes of the API. They are part of the contract: clients match
// them, so they never change meaning.
const (
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeInvalidRequest   = "invalid_request"
	CodeLastOwner        = "last_owner"
	CodeMethodNotAllowed = "method_not_allowed"
	CodePayloadTooLarge  = "payload_too_large"
	// CodeUnsupportedMediaType (415): a body not sent as application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeInternal             = "internal_error"

	// SSO configuration.
	CodeVerificationFailed  = "verification_failed"  // 422: the domain's TXT record is missing or wrong
	CodeDomainTaken         = "domain_taken"         // 409: another organization verified the domain
	CodeConnectionUntested  = "connection_untested"  // 409: enforcing SSO before a tested sign-in
	CodeConnectionInUse     = "connection_in_use"    // 409: a policy signs people in through it
	CodeDefaultPolicy       = "default_policy"       // 409: the default policy cannot be deleted
	CodeMetadataUnavailable = "metadata_unavailable" // 422: the IdP's metadata URL failed
	CodeLockout             = lockout.Code           // 409: no owner could sign in without the IdP afterwards

	// CodeRateLimited (429): too many attempts, or the server is busy; try again later.
	CodeRateLimited = "rate_limited"

	// A member's mail and deletion (member_actions.go), all 409.
	CodeNotInvited   = "not_invited"   // they signed in already: send a reset link
	CodeSuspended    = "suspended"     // no sign-in mail to a suspended member
	CodeResetRefused = "reset_refused" // during an emergency, only people who may fail back
)

// Handler serves the admin API. Its fields are its dependencies. Domains,
// IdPs and Policies may be nil: their endpoints then do not exist (404).
type Handler struct {
	Accounts *account.Service
	Sessions *session.Service
	Domains  *domain.Service
	IdPs     *idp.Service
	Policies *policy.Service
	// BreakGlass lists the break-glass admins (nil: GET /break-glass is 404).
	BreakGlass *breakglass.Service
	// OrgRecovery generates organization recovery codes (nil: 404).
	OrgRecovery *orgrecovery.Service
	// Health answers the SSO health endpoints (/idps/{id}/health, which
	// also needs IdPs, and /incidents); nil: they do not exist (404).
	Health *health.Service
	// Emergencies serves /emergencies (emergency mode); nil: 404 there.
	Emergencies *emergency.Service
	// Readiness serves /passkeys/readiness and /passkeys/reminders (nil:
	// they do not exist).
	Readiness *readiness.Service
	// Members answers GET /members with a query (search, filters and
	// cursor paging); nil: the query is ignored and every member listed.
	Members *members.Service
	// MFA resets members' second factors (nil:
	// /members/{id}/reset-factors does not exist).
	MFA *mfa.Service
	// Apps registers applications (nil: /apps does not exist).
	Apps *apps.Service
	// Audit is the organization's audit log the API lists, verifies and
	// exports, and where refusals are recorded.
	Audit *audit.Service
	// Limiter bounds the access.denied events recorded per actor and
	// route; nil records every refusal.
	Limiter *ratelimit.Limiter
	Log     *slog.Logger
	Now     func() time.Time

	// routes mirrors the registered routes so the catch-all can tell an
	// unknown path (404) from a known path with the wrong method (405).
	routes *http.ServeMux
}

// authedFunc is a handler that runs after the bearer token checked out.
type authedFunc func(w http.ResponseWriter, r *http.Request, tok storage.APIToken)

// Register mounts every admin API route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	h.routes = http.NewServeMux()
	routes := h.routeTable()
	for _, rt := range routes {
		if !h.serves(rt.pattern) {
			continue
		}
		handler := h.authenticate(readOnlyRefusesChanges(rt.fn))
		mux.Handle(rt.pattern, handler)
		h.routes.Handle(rt.pattern, handler)
	}
	mux.Handle(Prefix+"/", h.authenticate(h.fallback))
}

type route struct {
	pattern string
	fn      authedFunc
}

// routeTable lists every endpoint; docs/openapi.yaml must describe exactly
// these (a test checks).
func (h *Handler) routeTable() []route {
	return []route{
		{"GET /api/v1/organization", h.getOrganization},
		{"GET /api/v1/members", h.listMembers},
		{"POST /api/v1/members", h.addMember},
		{"GET /api/v1/members/{id}", h.getMember},
		{"PATCH /api/v1/members/{id}", h.updateMember},
		{"POST /api/v1/members/{id}/revoke-sessions", h.revokeSessions},
		{"GET /api/v1/members/{id}/sessions", h.listSessions},
		{"POST /api/v1/members/{id}/reset-factors", h.resetFactors},
		// member_actions.go:
		{"DELETE /api/v1/members/{id}", h.deleteMember},
		{"POST /api/v1/members/{id}/resend-invite", h.resendInvite},
		{"POST /api/v1/members/{id}/send-reset", h.sendReset},
		{"GET /api/v1/members/{id}/sso-links", h.listSSOLinks},
		{"DELETE /api/v1/members/{id}/sso-links/{link}", h.unlinkSSO},
		{"GET /api/v1/tokens", h.listTokens},
		{"POST /api/v1/tokens", h.createToken},
		{"DELETE /api/v1/tokens/{id}", h.revokeToken},
		{"GET /api/v1/audit", h.listAudit},
		{"GET /api/v1/audit/export", h.exportAudit},
		{"GET /api/v1/audit/verify", h.verifyAudit},

		{"GET /api/v1/domains", h.listDomains},
		{"POST /api/v1/domains", h.addDomain},
		{"GET /api/v1/domains/{id}", h.getDomain},
		{"DELETE /api/v1/domains/{id}", h.removeDomain},
		{"POST /api/v1/domains/{id}/verify", h.verifyDomain},

		{"GET /api/v1/idps", h.listIdPs},
		{"POST /api/v1/idps", h.createIdP},
		{"GET /api/v1/idps/{id}", h.getIdP},
		{"PATCH /api/v1/idps/{id}", h.updateIdP},
		{"DELETE /api/v1/idps/{id}", h.removeIdP},
		{"POST /api/v1/idps/{id}/certificates", h.addIdPCertificate},
		{"DELETE /api/v1/idps/{id}/certificates/{fingerprint}", h.removeIdPCertificate},
		{"POST /api/v1/idps/{id}/refresh-metadata", h.refreshIdPMetadata},
		{"GET /api/v1/idps/{id}/sp-metadata", h.spMetadata},
		{"GET /api/v1/idps/{id}/health", h.getIdPHealth},
		{"GET /api/v1/incidents", h.listIncidents},

		{"GET /api/v1/policies", h.listPolicies},
		{"POST /api/v1/policies", h.createPolicy},
		{"GET /api/v1/policies/{ref}", h.getPolicy},
		{"PATCH /api/v1/policies/{ref}", h.updatePolicy},
		{"DELETE /api/v1/policies/{ref}", h.deletePolicy},
		{"PUT /api/v1/policies/{ref}/members/{email}", h.setPolicyMember},
		{"DELETE /api/v1/policies/{ref}/members/{email}", h.removePolicyMember},
		{"PUT /api/v1/policies/{ref}/domains/{domain}", h.addPolicyDomain},
		{"DELETE /api/v1/policies/{ref}/domains/{domain}", h.removePolicyDomain},
		{"GET /api/v1/policies/{ref}/coverage", h.getPolicyCoverage},

		{"GET /api/v1/break-glass", h.getBreakGlass},
		{"GET /api/v1/recovery-codes", h.getRecoveryCodes},
		{"POST /api/v1/recovery-codes", h.generateRecoveryCodes},
		{"GET /api/v1/emergencies", h.listEmergencies},
		{"POST /api/v1/emergencies", h.startEmergency},
		{"GET /api/v1/emergencies/active", h.activeEmergency},
		{"GET /api/v1/emergencies/{id}", h.getEmergency},
		{"POST /api/v1/emergencies/{id}/extend", h.extendEmergency},
		{"POST /api/v1/emergencies/{id}/end", h.endEmergency},
		{"POST /api/v1/emergencies/{id}/sign-out", h.signOutEmergency},
		{"GET /api/v1/passkeys/readiness", h.getReadiness},
		{"POST /api/v1/passkeys/reminders", h.sendReminders},

		{"GET /api/v1/apps", h.listApps},
		{"POST /api/v1/apps", h.createApp},
		{"GET /api/v1/apps/{id}", h.getApp},
		{"PATCH /api/v1/apps/{id}", h.updateApp},
		{"DELETE /api/v1/apps/{id}", h.deleteApp},
		{"POST /api/v1/apps/{id}/rotate-secret", h.rotateAppSecret},
	}
}

// serves reports whether the service behind the route is configured: the
// SSO services are optional, so a Handler built without them still serves
// the rest (and their paths answer 404).
func (h *Handler) serves(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	if strings.HasSuffix(path, "/health") && h.Health == nil {
		return false
	}
	if strings.HasSuffix(path, "/reset-factors") && h.MFA == nil {
		return false
	}
	for prefix, ok := range map[string]bool{
		Prefix + "/domains":        h.Domains != nil,
		Prefix + "/idps":           h.IdPs != nil,
		Prefix + "/policies":       h.Policies != nil,
		Prefix + "/incidents":      h.Health != nil,
		Prefix + "/emergencies":    h.Emergencies != nil,
		Prefix + "/passkeys":       h.Readiness != nil,
		Prefix + "/break-glass":    h.BreakGlass != nil,
		Prefix + "/recovery-codes": h.OrgRecovery != nil,
		Prefix + "/apps":           h.Apps != nil,
	} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return ok
		}
	}
	return true
}

// fallback answers every /api/v1 request no route matched, in JSON.
func (h *Handler) fallback(w http.ResponseWriter, r *http.Request, _ storage.APIToken) {
	if _, pattern := h.routes.Handler(r); pattern == "" {
		// The mux answers 405 (with Allow) when the path exists under
		// another method; run its handler on a recorder to learn which.
		rec := &headerRecorder{header: http.Header{}}
		handler, _ := h.routes.Handler(r)
		handler.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "This endpoint does not support "+r.Method+".", "")
			return
		}
	}
	writeError(w, http.StatusNotFound, CodeNotFound, "There is no such API endpoint.", "")
}

// headerRecorder captures the status and headers of the mux's own
// 404/405 handlers without writing anything to the client.
type headerRecorder struct {
	header http.Header
	status int
}

func (r *headerRecorder) Header() http.Header { return r.header }
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *headerRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// authenticate checks the bearer token and runs fn as that token: the
// actor of every audit event the request causes is the token.
func (h *Handler) authenticate(fn authedFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, "Send an API token in the Authorization header: Bearer gh_…", "")
			return
		}
		tok, err := h.Accounts.AuthenticateAPIToken(r.Context(), secret)
		if err != nil {
			if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, account.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, CodeUnauthorized, "The API token is invalid, expired or revoked.", "")
				return
			}
			h.internal(w, r, err)
			return
		}
		if !textPath(r.URL.Path) {
			// A path value that is not text names no record. Refused here,
			// before any handler looks it up: PostgreSQL rejects invalid
			// UTF-8 and NUL bytes with an error, which would read as a 500.
			writeError(w, http.StatusNotFound, CodeNotFound, "Not found.", "")
			return
		}
		ctx := authz.AsToken(r.Context(), tok)
		// Whatever an endpoint refuses the token (403) is audited here,
		// once per token and route a minute.
		h.deniedAudit().Watch(w, r.WithContext(ctx), tok.OrgID, "forbidden", func(w http.ResponseWriter, r *http.Request) {
			fn(w, r, tok)
		})
	})
}

// readOnlyRefusesChanges answers 403 to a read-scoped token calling
// anything but GET or HEAD, before fn runs. The services check the actor
// again (authz); this refusal covers every route at once, including those
// whose services do not yet, so a read token can never change anything.
func readOnlyRefusesChanges(fn authedFunc) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
		if tok.Scope != storage.TokenScopeAdmin && tok.Scope != storage.TokenScopeOwner &&
			r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusForbidden, CodeForbidden, "This API token has the read scope: it can read but not change anything.", "")
			return
		}
		fn(w, r, tok)
	}
}

// deniedAudit records the API's refusals (see httpserver.DeniedAudit).
func (h *Handler) deniedAudit() httpserver.DeniedAudit {
	return httpserver.DeniedAudit{Audit: h.Audit, Limiter: h.Limiter, Log: h.Log, Now: h.Now}
}

// textPath reports whether the decoded path is valid UTF-8 without
// control characters: the only paths whose values may reach storage.
func textPath(p string) bool {
	return utf8.ValidString(p) && !strings.ContainsFunc(p, unicode.IsControl)
}

// bearer extracts the token of an "Authorization: Bearer" header. The
// scheme is case-insensitive (RFC 7235); cookies are never looked at, which
// is what exempts the API from CSRF checks.
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // the request field at fault, for invalid_request
}

func writeError(w http.ResponseWriter, status int, code, message, field string) {
	httpserver.WriteJSON(w, status, errorBody{errorDetail{Code: code, Message: message, Field: field}})
}

func badRequest(w http.ResponseWriter, message, field string) {
	writeError(w, http.StatusBadRequest, CodeInvalidRequest, message, field)
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client went away; nobody reads the answer
	}
	id := reqctx.From(r.Context()).RequestID
	h.Log.ErrorContext(r.Context(), "admin API request failed", "path", r.URL.Path, "err", err)
	msg := "Something went wrong on our side."
	if id != "" {
		msg += " Request ID: " + id + "."
	}
	writeError(w, http.StatusInternalServerError, CodeInternal, msg, "")
}

// decode reads r's JSON body into v strictly (see httpserver.DecodeJSON)
// and answers the client itself when it cannot; it reports whether the
// handler may go on. With optional set, an empty body leaves v unchanged.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	if optional {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpserver.MaxFormBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.fail(w, r, httpserver.ErrBodyTooLarge)
				return false
			}
			badRequest(w, "The request body could not be read.", "")
			return false
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := httpserver.DecodeJSON(w, r, v); err != nil {
		if errors.Is(err, httpserver.ErrBodyTooLarge) || errors.Is(err, httpserver.ErrUnsupportedMediaType) {
			h.fail(w, r, err)
			return false
		}
		badRequest(w, err.Error(), "")
		return false
	}
	return true
}

// forceQuery reads the force reason of a DELETE from its query string
// (DELETE requests carry no body).
func forceQuery(r *http.Request) lockout.Force {
	return lockout.Force{Reason: r.URL.Query().Get("force_reason")}
}
