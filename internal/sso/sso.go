// Package sso is Gatehouse's SAML service-provider login: Begin sends the
// browser to the IdP with an AuthnRequest bound to that browser, Complete
// checks what comes back and finds, links or provisions the account. It
// knows nothing of HTTP: the handler owns cookies, the form post and the
// session.
//
// Complete is written for hostile input. A Response is only ever trusted
// after saml.Validator accepted it against the connection's settings, and
// every rejection changes nothing but the audit log.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Options tune the service.
type Options struct {
	// MaxSkew is the clock skew tolerated on SAML time checks; default
	// (and maximum) 3 minutes.
	MaxSkew time.Duration
	// RequestTTL is how long a browser has to come back from the IdP;
	// default 10 minutes.
	RequestTTL time.Duration
	// MaxResponseBytes limits the SAMLResponse form value; default
	// saml.DefaultMaxBodyBytes.
	MaxResponseBytes int
}

// Service is the SAML login service.
type Service struct {
	store     storage.Store
	idps      *idp.Service
	log       *slog.Logger
	now       func() time.Time
	opts      Options
	validator *saml.Validator
	// tick, when a test sets it, replaces Run's ten-minute ticker, so the
	// loop can be driven together with the injected clock.
	tick <-chan time.Time
	// outcomes, when set (SetOutcomes), hears how sign-ins start and end.
	outcomes Outcomes
}

// Outcomes hears how SSO sign-ins start and end, for SSO health
// (internal/health). Its methods must not fail the sign-in: they log.
type Outcomes interface {
	// SSOStarted: a browser was sent to conn's IdP.
	SSOStarted(ctx context.Context, conn storage.IdPConnection)
	// SSOEnded: a response through conn was accepted (reason "") or
	// refused with the Rejection's reason. requestID is the AuthnRequest
	// the response claims to answer ("" if none or unknown): a refused
	// answer leaves it unused, and it must not be counted abandoned too.
	// It is the response's claim, unverified when the response was refused.
	SSOEnded(ctx context.Context, conn storage.IdPConnection, requestID, reason string)
	// CountAbandoned counts requests that expired unanswered; PurgeExpired
	// calls it before deleting them.
	CountAbandoned(ctx context.Context, now time.Time) error
}

// SetOutcomes installs the outcome recorder (optional; at wiring).
func (s *Service) SetOutcomes(o Outcomes) { s.outcomes = o }

// New returns a Service. log and now may be nil (discard, time.Now).
func New(store storage.Store, idps *idp.Service, log *slog.Logger, now func() time.Time, opts Options) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = saml.DefaultMaxSkew
	}
	if opts.RequestTTL <= 0 {
		opts.RequestTTL = 10 * time.Minute
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = saml.DefaultMaxBodyBytes
	}
	v := &saml.Validator{Now: now, MaxSkew: opts.MaxSkew, MaxBodyBytes: opts.MaxResponseBytes}
	return &Service{store: store, idps: idps, log: log, now: now, opts: opts, validator: v}
}

// clock is now at storage precision, so returned records equal later reads.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// maxReturnToLen bounds the stored return URL; the handler validates it.
const maxReturnToLen = 2048

// ErrUnknownConnection: Begin was asked for a slug no connection has.
var ErrUnknownConnection error = errs.New(errs.NotFound, "unknown_connection", "There is no SSO connection at this address.")

// Begin starts an SP-initiated sign-in through the connection named by
// slug. It returns the IdP URL to redirect the browser to, and a secret the
// handler must put in a short-lived, HttpOnly, Secure, SameSite=None cookie
// (the IdP's POST back is cross-site) and pass to Complete: the response is
// accepted only in the browser that started the sign-in.
//
// returnTo is stored as given; the handler must validate it (same origin or
// a registered app) both here and when Complete returns it. test marks an
// admin's test sign-in, whose success lets a policy enforce SSO through
// this connection; only an admin of the connection's organization, named
// as ctx's actor (reqctx), may start one (ErrTestNotAllowed otherwise).
func (s *Service) Begin(ctx context.Context, slug, returnTo string, test bool) (redirectURL, browserSecret string, err error) {
	return s.BeginInBrowser(ctx, slug, returnTo, test, "")
}

// BeginInBrowser is Begin for a browser that already holds a secret from
// an earlier Begin (the cookie is still there): reusing it keeps sign-ins
// started in two tabs both completable, where a new secret would overwrite
// the cookie and strand the first tab. A value that is not one of our
// secrets is ignored and a new one issued.
func (s *Service) BeginInBrowser(ctx context.Context, slug, returnTo string, test bool, existingSecret string) (redirectURL, browserSecret string, err error) {
	return s.begin(ctx, slug, returnTo, test, existingSecret, "")
}

// BeginForFlow is BeginInBrowser on behalf of the sign-in flow flowID
// (internal/signin): the stored request names the flow, and Complete
// returns it, so the IdP's answer continues that flow.
func (s *Service) BeginForFlow(ctx context.Context, slug, flowID, returnTo, existingSecret string) (redirectURL, browserSecret string, err error) {
	return s.begin(ctx, slug, returnTo, false, existingSecret, flowID)
}

func (s *Service) begin(ctx context.Context, slug, returnTo string, test bool, existingSecret, flowID string) (redirectURL, browserSecret string, err error) {
	conn, err := s.store.GetIdPConnectionBySlug(ctx, slug)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", ErrUnknownConnection
	}
	if err != nil {
		return "", "", fmt.Errorf("sso: begin: load connection: %w", err)
	}
	var testerID string
	if test {
		tester, err := s.checkTester(ctx, conn)
		if err != nil {
			return "", "", err
		}
		testerID = tester.ID
	}
	if len(returnTo) > maxReturnToLen {
		returnTo = "" // never fail a sign-in over where to land afterwards
	}
	now := s.clock()
	id, reqXML := saml.NewAuthnRequest(saml.AuthnRequestParams{
		SPEntityID: s.idps.SPEntityID(conn), ACSURL: s.idps.ACSURL(conn), IdPSSOURL: conn.SSOURL,
		NameIDFormat: idp.NameIDFormatURI(conn), Now: now,
	})
	browserSecret = existingSecret
	if !wellFormedSecret(browserSecret) {
		if browserSecret, err = newSecret(); err != nil {
			return "", "", err
		}
	}
	var signer *rsa.PrivateKey
	if conn.SignRequests {
		key, _, err := s.idps.SPKey(conn)
		if err != nil {
			return "", "", fmt.Errorf("sso: begin: %w", err)
		}
		signer = key
	}
	// RelayState is the request ID: opaque, short, and already public in
	// the SAMLRequest. The return URL stays on our side, in the stored
	// request, so it is never exposed to or altered at the IdP.
	redirectURL, err = saml.RedirectURL(conn.SSOURL, reqXML, id, signer)
	if err != nil {
		return "", "", fmt.Errorf("sso: begin: connection %q: %w", conn.Slug, err)
	}
	err = s.store.CreateAuthnRequest(ctx, storage.AuthnRequest{
		ID: id, ConnectionID: conn.ID, BrowserHash: hashSecret(browserSecret), ReturnTo: returnTo, Test: test,
		FlowID: flowID, TesterID: testerID, CreatedAt: now, ExpiresAt: now.Add(s.opts.RequestTTL),
	})
	if err != nil {
		return "", "", fmt.Errorf("sso: begin: store AuthnRequest: %w", err)
	}
	if s.outcomes != nil {
		s.outcomes.SSOStarted(ctx, conn)
	}
	return redirectURL, browserSecret, nil
}

// ErrTestNotAllowed: only an admin of the connection's organization may
// start a test sign-in, because its success unlocks SSO enforcement.
var ErrTestNotAllowed error = errs.New(errs.Forbidden, "test_not_allowed", "Only an admin of this organization can run a test sign-in.")

// checkTester requires ctx's actor (reqctx) to be an active admin account
// of the connection's organization. The handler checks this too; the
// service does not rely on it.
func (s *Service) checkTester(ctx context.Context, conn storage.IdPConnection) (storage.Account, error) {
	info := reqctx.From(ctx)
	if info.ActorType != "account" || info.ActorID == "" {
		return storage.Account{}, ErrTestNotAllowed
	}
	a, err := s.store.GetAccount(ctx, info.ActorID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Account{}, ErrTestNotAllowed
	}
	if err != nil {
		return storage.Account{}, fmt.Errorf("sso: begin: look up tester: %w", err)
	}
	if a.OrgID != conn.OrgID || !a.Role.IsAdmin() || a.Status != storage.StatusActive {
		return storage.Account{}, ErrTestNotAllowed
	}
	return a, nil
}

// newSecret returns 32 random bytes as unpadded base64url.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sso: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedSecret reports whether s looks like newSecret's output.
func wellFormedSecret(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// PurgeExpired deletes AuthnRequests and replay-cache entries that expired
// before now. A purged assertion ID no longer counts as seen, which is safe:
// its assertion is past its own validity and the validator refuses it.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	now := s.clock()
	if s.outcomes != nil {
		// Unanswered requests are counted as abandoned before they go.
		if err := s.outcomes.CountAbandoned(ctx, now); err != nil {
			return 0, fmt.Errorf("sso: count abandoned sign-ins: %w", err)
		}
	}
	n, err := s.store.DeleteExpiredSAMLState(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("sso: purge expired SAML state: %w", err)
	}
	return n, nil
}

// purgeEvery is how often Run purges; the tables only grow by one row per
// sign-in attempt, so this is about tidiness, not correctness.
const purgeEvery = 10 * time.Minute

// Run purges expired SAML state every ten minutes until ctx ends. Every
// node may run it.
func (s *Service) Run(ctx context.Context) error {
	tick := s.tick
	if tick == nil {
		t := time.NewTicker(purgeEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
		if n, err := s.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "purging expired SAML state failed", "err", err)
		} else if n > 0 {
			s.log.DebugContext(ctx, "purged expired SAML state", "rows", n)
		}
	}
}

// hashSecret is how the browser secret is stored: hex SHA-256.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// shortCode is a code a person can read out to their admin when no
// request ID is at hand; it is in the log line and the audit event.
func shortCode() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)
}

// Rejection is the error Complete returns for a response it refuses.
// Reason is a stable snake_case code (the saml.Reason* codes plus this
// package's own); Detail may quote attacker-controlled values and is for
// logs and the admin's test page only, never for the end user's page; Code
// identifies the attempt in logs and the audit log, for the person to send
// to their admin.
type Rejection struct {
	Reason string
	Detail string
	Code   string
}

// Kind reports Unauthenticated: the IdP's response does not sign anyone in.
func (r *Rejection) Kind() errs.Kind { return errs.Unauthenticated }

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "sso: sign-in rejected: " + r.Reason
	}
	return "sso: sign-in rejected: " + r.Reason + ": " + r.Detail
}

// Reasons Complete adds to saml's.
const (
	ReasonUnknownConnection       = "unknown_connection"
	ReasonInResponseToMismatch    = saml.ReasonInResponseToMismatch
	ReasonRequestReused           = "request_reused"
	ReasonRequestExpired          = "request_expired"
	ReasonUnsolicitedNotAllowed   = saml.ReasonUnsolicitedNotAllowed
	ReasonReplayed                = "replayed"
	ReasonIdentityUnusable        = "identity_unusable"
	ReasonEmailDomainNotVerified  = "email_domain_not_verified"
	ReasonCrossOrganization       = "cross_organization"
	ReasonEmailConflict           = "email_conflict"
	ReasonAccountNotProvisioned   = "account_not_provisioned"
	ReasonAccountSuspended        = "account_suspended"
	ReasonConnectionMisconfigured = "connection_misconfigured"
)

// ReasonEmailConfusable: the asserted email would create an account (JIT)
// or move one (an email change at the IdP) onto an address that looks like
// another account's in the organization. See checkNotConfusable.
const ReasonEmailConfusable = "email_confusable"

// ReasonSSONotAllowed: an admin or owner account whose policy does not sign
// it in through this connection (SSO off — the break-glass account — or
// another connection). See Service.allowSSO.
const ReasonSSONotAllowed = "sso_not_allowed_for_account"

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
