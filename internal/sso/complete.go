package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Result is a successful sign-in. The handler starts the session (Method
// "sso", ConnectionID, IdPAuthnAt = AuthnInstant) and redirects to ReturnTo
// after validating it.
type Result struct {
	Account storage.Account
	// ReturnTo is the return URL stored by Begin, or for an IdP-initiated
	// sign-in the RelayState: in both cases a candidate the handler must
	// validate (same origin or a registered app) before redirecting.
	ReturnTo string
	Test     bool
	// FlowID is the sign-in flow that sent the browser to the IdP, "" for
	// an IdP-initiated sign-in or one started outside a flow.
	FlowID       string
	ConnectionID string
	AuthnInstant time.Time
	// JIT is set when the account was created by this sign-in; for a test,
	// when a real sign-in would create it.
	JIT bool
	// For a test sign-in, which changes no account: who the IdP said the
	// person is, and the admin who ran the test.
	Subject string
	Groups  []string
	Tester  storage.Account
	// Warnings are relaxed rules (saml.Warning* codes) and provisioning
	// notes for the admin's SSO health page.
	Warnings []string
}

// WarningGroupsOverage: the IdP sent a link instead of the groups (Entra
// ID's overage, over 150 groups), so the account's groups were kept.
const WarningGroupsOverage = "groups_overage: the IdP sent a link instead of the user's groups (more than 150); existing groups were kept — consider SCIM group sync"

// WarningGroupsUnusable (followed by the reason): the groups sent could not
// be stored as they were, so the account's groups were kept.
const WarningGroupsUnusable = "groups_unusable: existing groups were kept because "

// Complete checks a SAMLResponse posted to the connection's ACS URL and
// signs the person in: it returns the account (found by its SSO link,
// linked by email within the connection's organization, or provisioned
// just in time). browserSecret is the value of the cookie Begin's secret
// was put in ("" if the browser has none).
//
// Every refusal is a *Rejection, logged at warn and audited as
// "sso.rejected" in a transaction of its own; the response's checks, the
// request's consumption, the replay-cache entry and the account changes run
// in one transaction, so a rejected response leaves nothing else behind.
func (s *Service) Complete(ctx context.Context, slug, samlResponse, relayState, browserSecret string) (Result, error) {
	conn, err := s.store.GetIdPConnectionBySlug(ctx, slug)
	if errors.Is(err, storage.ErrNotFound) {
		return Result{}, s.rejected(ctx, nil, reject(ReasonUnknownConnection, "no connection with slug %q", trunc(slug, 60)))
	}
	if err != nil {
		return Result{}, fmt.Errorf("sso: complete: load connection: %w", err)
	}
	// Decoded once: the peek and the validator read the same bytes.
	raw, err := s.validator.Decode(samlResponse)
	if err != nil {
		return Result{}, s.rejected(ctx, &conn, samlRejection(err))
	}
	requestID, rej := peekRoot(raw)
	if rej != nil {
		return Result{}, s.rejected(ctx, &conn, rej)
	}
	ctx = context.WithValue(ctx, answeredKey{}, requestID) // for the outcome recorder
	if requestID == "" && !conn.AllowIdPInitiated {
		return Result{}, s.rejected(ctx, &conn, reject(ReasonUnsolicitedNotAllowed, "the response answers no request and IdP-initiated sign-in is off for this connection"))
	}
	idpCfg, spCfg, err := s.idps.ValidatorConfig(conn)
	if err != nil {
		s.log.ErrorContext(ctx, "SSO connection cannot be used", "connection", conn.Slug, "err", err)
		return Result{}, s.rejected(ctx, &conn, reject(ReasonConnectionMisconfigured, "%v", err))
	}

	// Validation is pure CPU (signature, XML checks) and needs nothing from
	// the database: done once, before the transaction, so the write locks
	// below are not held across it and a retried transaction does not
	// verify the signature again. The signed InResponseTo must equal the
	// request the transaction then consumes.
	a, err := s.validator.ValidateDecoded(idpCfg, spCfg, raw, requestID)
	if err != nil {
		return Result{}, s.rejected(ctx, &conn, samlRejection(err))
	}

	var res Result
	var detail attemptDetail
	attempt := func(tx storage.Store) error {
		res, detail = Result{ConnectionID: conn.ID}, attemptDetail{}
		now := s.clock()
		if requestID != "" {
			req, rej := s.useRequest(ctx, tx, conn, requestID, browserSecret, now)
			if rej != nil {
				return rej
			}
			res.ReturnTo, res.Test, res.FlowID = req.ReturnTo, req.Test, req.FlowID
			res.Tester.ID = req.TesterID
		} else {
			// An IdP-initiated RelayState is anyone's words: bounded like
			// Begin's return URL before it is stored with the sign-in (the
			// edge validates it again before redirecting).
			if len(relayState) <= maxReturnToLen {
				res.ReturnTo = relayState
			}
		}
		res.AuthnInstant = a.AuthnInstant
		res.Warnings = append(res.Warnings, a.Warnings...)
		// Keyed by connection: assertion IDs are only unique per issuer.
		if err := tx.RememberAssertion(ctx, conn.ID, a.ID, a.NotOnOrAfter); errors.Is(err, storage.ErrConflict) {
			return reject(ReasonReplayed, "assertion %q was already used", trunc(a.ID, 80))
		} else if err != nil {
			return fmt.Errorf("sso: replay cache: %w", err)
		}
		id, err := saml.MapIdentity(a, saml.Mapping(conn.AttributeMap))
		if err != nil {
			return reject(ReasonIdentityUnusable, "%v", err)
		}
		detail.subject = id.Subject
		email, err := account.NormalizeEmail(id.Email)
		if err != nil {
			return reject(ReasonIdentityUnusable, "the IdP's email %q is not a usable address", trunc(id.Email, 100))
		}
		detail.email = email
		if rej := s.checkDomain(ctx, tx, conn, email); rej != nil {
			return rej
		}
		if res.Test {
			return s.testResult(ctx, tx, conn, id, email, &res, now)
		}
		acct, jit, warnings, err := s.link(ctx, tx, conn, a, id, email, res.Test, now)
		if err != nil {
			return err
		}
		res.Account, res.JIT = acct, jit
		res.Warnings = append(res.Warnings, warnings...)
		details := map[string]string{
			"connection": conn.Slug, "connection_id": conn.ID, "subject": id.Subject,
			"jit":           strconv.FormatBool(jit),
			"idp_initiated": strconv.FormatBool(requestID == ""),
		}
		if len(res.Warnings) > 0 {
			details["warnings"] = strings.Join(res.Warnings, "; ")
		}
		return record(ctx, tx, now, storage.AuditEvent{
			OrgID: conn.OrgID, ActorType: "account", ActorID: acct.ID, ActorEmail: acct.Email,
			Action: "sso.login", TargetType: "account", TargetID: acct.ID, Details: details,
		})
	}
	err = s.store.InTx(ctx, attempt)
	var r *Rejection
	if err != nil && !errors.As(err, &r) && errors.Is(err, storage.ErrConflict) {
		// Two first sign-ins of one person at once (two tabs, two nodes)
		// both try to create the account or the link; the loser's
		// transaction was rolled back whole, so running it again simply
		// finds what the winner created.
		err = s.store.InTx(ctx, attempt)
	}
	if errors.As(err, &r) {
		return Result{}, s.rejectedAttempt(ctx, &conn, r, detail)
	}
	if err != nil {
		return Result{}, fmt.Errorf("sso: complete: %w", err)
	}
	if s.outcomes != nil {
		s.outcomes.SSOEnded(ctx, conn, requestID, "")
	}
	return res, nil
}

// answeredKey carries the request ID a response claims to answer from
// Complete to rejectedAttempt, for Outcomes.SSOEnded.
type answeredKey struct{}

// samlRejection turns the validator's error into a Rejection with its reason.
func samlRejection(err error) *Rejection {
	var se *saml.Error
	if !errors.As(err, &se) {
		se = &saml.Error{Reason: saml.ReasonMalformed, Detail: err.Error()}
	}
	return &Rejection{Reason: se.Reason, Detail: se.Detail}
}

// attemptDetail is what a rejection's log line and audit event may add
// about who a validated response said the person was.
type attemptDetail struct{ subject, email string }

// useRequest consumes the pending AuthnRequest the response claims to
// answer and checks it was started by this browser, for this connection,
// recently. A response obtained in another browser (login CSRF, a stolen
// response) fails here even though its signature is good.
func (s *Service) useRequest(ctx context.Context, tx storage.Store, conn storage.IdPConnection, id, browserSecret string, now time.Time) (storage.AuthnRequest, *Rejection) {
	req, err := tx.UseAuthnRequest(ctx, id, now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return req, reject(ReasonInResponseToMismatch, "the response answers request %q, which Gatehouse did not send or has purged", id)
	case errors.Is(err, storage.ErrConflict):
		return req, reject(ReasonRequestReused, "request %q was already answered", id)
	case err != nil:
		return req, reject(ReasonInResponseToMismatch, "cannot look up request %q: %v", id, err)
	}
	want := []byte(req.BrowserHash)
	got := []byte(hashSecret(browserSecret))
	if browserSecret == "" || subtle.ConstantTimeCompare(want, got) != 1 {
		return req, reject(ReasonInResponseToMismatch, "request %q was started in another browser", id)
	}
	if req.ConnectionID != conn.ID {
		return req, reject(ReasonInResponseToMismatch, "request %q was sent through another connection", id)
	}
	if !now.Before(req.ExpiresAt) {
		return req, reject(ReasonRequestExpired, "request %q expired at %s", id, req.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return req, nil
}

// checkDomain enforces that a connection signs in only addresses of its
// own organization's verified domains: an IdP of org A asserting
// bob@b.example must never reach org B's account, nor create one.
func (s *Service) checkDomain(ctx context.Context, tx storage.Store, conn storage.IdPConnection, email string) error {
	_, domain, _ := strings.Cut(email, "@")
	d, err := tx.GetVerifiedDomain(ctx, domain)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return reject(ReasonEmailDomainNotVerified, "the domain %q is not verified by the connection's organization", domain)
	case err != nil:
		return fmt.Errorf("sso: look up domain: %w", err)
	case d.OrgID != conn.OrgID:
		return reject(ReasonCrossOrganization, "the domain %q is verified by another organization", domain)
	}
	return nil
}

// rejected logs and audits a rejection (in its own transaction: the
// attempt's own changes were rolled back) and returns it with its Code.
func (s *Service) rejected(ctx context.Context, conn *storage.IdPConnection, r *Rejection) error {
	return s.rejectedAttempt(ctx, conn, r, attemptDetail{})
}

func (s *Service) rejectedAttempt(ctx context.Context, conn *storage.IdPConnection, r *Rejection, who attemptDetail) error {
	info := reqctx.From(ctx)
	r.Code = info.RequestID
	if r.Code == "" {
		r.Code = shortCode()
	}
	orgID, slug := "", ""
	if conn != nil {
		orgID, slug = conn.OrgID, conn.Slug
	}
	r.Detail = trunc(r.Detail, 500)
	if conn != nil && s.outcomes != nil {
		id, _ := ctx.Value(answeredKey{}).(string)
		s.outcomes.SSOEnded(ctx, *conn, id, r.Reason)
	}
	s.log.WarnContext(ctx, "SAML sign-in rejected", "reason", r.Reason, "detail", r.Detail, "code", r.Code,
		"connection", slug, "org_id", orgID, "subject", trunc(who.subject, 100), "email", trunc(who.email, 100))
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		details := map[string]string{"detail": r.Detail, "code": r.Code}
		if conn != nil {
			details["connection"], details["connection_id"] = conn.Slug, conn.ID
		}
		// Only set once the response was validated: these are the IdP's
		// words, not an attacker's.
		if who.subject != "" {
			details["subject"] = trunc(who.subject, 200)
		}
		if who.email != "" {
			details["email"] = who.email
		}
		return record(ctx, tx, s.clock(), storage.AuditEvent{
			OrgID: orgID, ActorType: audit.ActorAnonymous, Action: "sso.rejected", Outcome: audit.OutcomeFailure,
			Reason: r.Reason, TargetType: "idp_connection", TargetID: targetID(conn), Details: details,
		})
	})
	if err != nil {
		// The rejection stands either way; the person gets the same answer.
		s.log.ErrorContext(ctx, "cannot audit a SAML rejection", "reason", r.Reason, "code", r.Code, "err", err)
	}
	return r
}

func targetID(c *storage.IdPConnection) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	e.Time = now
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("sso: %w", err)
	}
	return nil
}

// trunc shortens attacker-controlled text for logs, on a rune boundary.
func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// testResult finishes an admin's test sign-in, whose response was
// validated like any other: it changes no account (no link, no JIT, no
// groups), marks the connection tested and is audited as the admin's own
// action, naming the IdP user in its details.
func (s *Service) testResult(ctx context.Context, tx storage.Store, conn storage.IdPConnection, id saml.Identity, email string, res *Result, now time.Time) error {
	tester, err := tx.GetAccount(ctx, res.Tester.ID)
	if err != nil || tester.OrgID != conn.OrgID || !tester.Role.IsAdmin() || tester.Status != storage.StatusActive {
		// Demoted or removed since the test began: the test proves nothing.
		return reject(ReasonInResponseToMismatch, "the test sign-in's admin %q may no longer run one", res.Tester.ID)
	}
	res.Tester = tester
	res.Subject, res.Groups = id.Subject, id.Groups
	res.Account = storage.Account{OrgID: conn.OrgID, Email: email, DisplayName: id.DisplayName}
	existing, err := tx.GetAccountByEmail(ctx, email)
	switch {
	case err == nil:
		res.Account.ID = existing.ID
	case errors.Is(err, storage.ErrNotFound):
		res.JIT = conn.JIT
	default:
		return fmt.Errorf("sso: test sign-in: look up account: %w", err)
	}
	if _, err := tx.UpdateIdPConnection(ctx, conn.ID, func(c *storage.IdPConnection) error {
		c.TestedAt = now
		return nil
	}); err != nil {
		return fmt.Errorf("sso: record test sign-in: %w", err)
	}
	details := map[string]string{
		"connection": conn.Slug, "idp_subject": id.Subject, "idp_email": email,
		"idp_groups": strings.Join(id.Groups, ", "), "would_create_account": strconv.FormatBool(res.JIT),
	}
	if len(res.Warnings) > 0 {
		details["warnings"] = strings.Join(res.Warnings, "; ")
	}
	return record(ctx, tx, now, storage.AuditEvent{
		OrgID: conn.OrgID, ActorType: "account", ActorID: tester.ID, ActorEmail: tester.Email,
		Action: "sso.test", TargetType: "idp_connection", TargetID: conn.ID, Details: details,
	})
}
