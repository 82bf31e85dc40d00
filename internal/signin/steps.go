package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Results counted in gatehouse_signins_total{method,result}.
const (
	resultSuccess   = "success"
	resultFailure   = "failure"
	resultThrottled = "throttled"
	resultBusy      = "busy"
	resultTest      = "test"
)

// Password is the password step of flow id. It answers
// account.ErrBadCredentials for every refusal — wrong password, unknown
// email, no password, suspended, or a policy that enforces SSO for the
// account — after the same work and with the same counting, so the answer
// says nothing about which; *account.ThrottledError when throttled and
// *account.BusyError when every password-hashing slot stayed taken.
func (e *Engine) Password(ctx context.Context, c Client, id, password, device string) (Outcome, error) {
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return Outcome{}, err
	}
	switch f.Step {
	case StepPassword, StepSSO:
	case stepChecking, StepAuthenticated:
		// Another submit of this step is being checked or finished.
		return Outcome{}, &FlowError{Reason: FlowInProgress}
	default:
		return Outcome{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	// Decided again now, not when the email was typed: the policy may
	// have changed in between, and the stricter answer must win.
	r, err := e.policies.Route(ctx, f.Email)
	if err != nil {
		return Outcome{}, fmt.Errorf("signin: route: %w", err)
	}
	// One submit of a flow at a time: of a double click or a replayed post
	// only one gets its password checked (and counted).
	f, giveBack, err := e.claim(ctx, f, "password")
	if err != nil {
		return Outcome{}, err
	}
	attempt := account.PasswordAttempt{Email: f.Email, Password: password, IP: c.IP, Device: device}
	if !r.Account.AllowPassword {
		attempt.Refuse = "password_not_allowed"
		if r.Account.AllowSSO {
			attempt.Refuse = "sso_enforced"
		}
		if r.Account.Ineligible != "" {
			if acct, err := e.store.GetAccountByEmail(ctx, f.Email); err == nil {
				e.failbackRefused(ctx, c, acct, r, "password")
			}
		}
	}
	auth, err := e.accounts.Authenticate(ctx, attempt)
	var throttled *account.ThrottledError
	var busy *account.BusyError
	switch {
	case err == nil:
	case errors.As(err, &throttled):
		giveBack()
		e.metrics.SignIn("password", resultThrottled)
		return Outcome{}, err
	case errors.As(err, &busy):
		// Nothing was checked or counted: the person may simply retry.
		giveBack()
		e.metrics.SignIn("password", resultBusy)
		return Outcome{}, err
	case errors.Is(err, account.ErrBadCredentials), isInvalid(err):
		giveBack()
		e.metrics.SignIn("password", resultFailure)
		return Outcome{}, account.ErrBadCredentials
	default:
		giveBack()
		return Outcome{}, err
	}
	out, err := e.afterFirstFactor(ctx, c, f.ID, r, auth.Account, stepChecking, []string{AMRPassword}, "password", false)
	if err != nil {
		return Outcome{}, err
	}
	out.Device = auth.Device
	return out, nil
}

func isInvalid(err error) bool {
	var inv *account.InvalidInputError
	return errors.As(err, &inv)
}

// BeginSSO sends flow id's browser to its IdP. The connection is the one
// the account's own policy names when it allows SSO, otherwise the one the
// page offered (for an unknown email: the domain's). samlBinding is the
// browser's SAML binding secret (see sso.BeginInBrowser).
func (e *Engine) BeginSSO(ctx context.Context, c Client, id, samlBinding string) (redirectURL, binding string, err error) {
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return "", "", err
	}
	if f.Step != StepPassword && f.Step != StepSSO {
		return "", "", e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	r, err := e.policies.Route(ctx, f.Email)
	if err != nil {
		return "", "", fmt.Errorf("signin: route: %w", err)
	}
	slug := r.Page.ConnectionSlug
	if r.Account.AllowSSO && r.Account.ConnectionSlug != "" {
		slug = r.Account.ConnectionSlug
	}
	if slug == "" {
		return "", "", ErrNoSSO
	}
	// The session this browser holds now is ended when the flow issues its
	// own: the IdP's answer is a cross-site post, which does not carry the
	// SameSite=Lax session cookie, so it is remembered here.
	var prev string
	if c.Session != "" {
		if v, err := e.sessions.Validate(ctx, c.Session); err == nil {
			prev = v.Account.ID + "/" + v.Session.ID
		}
	}
	if _, err := e.advance(ctx, f.ID, func(x *storage.LoginFlow) error {
		// Checked again on the row: a password submitted since the read
		// above holds the flow ("checking"), and overwriting its claim
		// would let a second password be checked beside it.
		if (x.Step != StepPassword && x.Step != StepSSO) || !x.UsedAt.IsZero() {
			return &FlowError{Reason: FlowInProgress}
		}
		x.Step, x.PrevSession = StepSSO, prev
		// The IdP round trip gets a whole FlowTTL from here, as the
		// AuthnRequest does: a flow that expired while its AuthnRequest
		// was still good would have the response taken (the account
		// linked or created, sso.login audited) and then be refused.
		if until := e.clock().Add(FlowTTL); until.After(x.ExpiresAt) {
			x.ExpiresAt = until
		}
		return nil
	}); err != nil {
		return "", "", err
	}
	return e.sso.BeginForFlow(ctx, slug, f.ID, f.ReturnTo, samlBinding)
}

// SSOResponse is what the IdP posted to a connection's ACS, with the
// browser's SAML binding secret.
type SSOResponse struct {
	Slug, SAMLResponse, RelayState, Binding string
}

// CompleteSSO checks an IdP's response (sso.Complete: every refusal is an
// *sso.Rejection, audited there) and finishes the sign-in: the flow that
// sent the browser to the IdP, or for an IdP-initiated sign-in a new
// one. The browser is bound by the SAML binding secret, not by the flow's
// cookie: the IdP's post is cross-site, where a SameSite=Lax cookie does
// not come along.
func (e *Engine) CompleteSSO(ctx context.Context, c Client, r SSOResponse) (Outcome, error) {
	res, err := e.sso.Complete(ctx, r.Slug, r.SAMLResponse, r.RelayState, r.Binding)
	if err != nil {
		e.metrics.SignIn("sso", resultFailure)
		return Outcome{}, err
	}
	if res.Test {
		e.metrics.SignIn("sso", resultTest)
		return Outcome{Account: res.Account, Test: &res}, nil
	}
	authTime := e.clock()
	if !res.AuthnInstant.IsZero() && res.AuthnInstant.Before(authTime) {
		authTime = storage.Truncate(res.AuthnInstant) // when the person really authenticated
	}
	p := session.StartParams{Method: "sso", ConnectionID: res.ConnectionID, IdPAuthnAt: res.AuthnInstant}
	// The account's policy sets the session's lifetimes. The IdP did the
	// authenticating (and any MFA it requires), so no further step here.
	if pol, err := e.store.PolicyFor(ctx, res.Account.OrgID, res.Account.ID); err == nil {
		p.IdleTimeout, p.MaxLifetime = pol.IdleTimeout, pol.MaxLifetime
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Outcome{}, fmt.Errorf("signin: policy: %w", err)
	}
	var out Outcome
	if res.FlowID != "" {
		out, err = e.finish(ctx, c, res.FlowID, res.Account, p, func(x *storage.LoginFlow) error {
			if !e.clock().Before(x.ExpiresAt) {
				return &FlowError{Reason: FlowExpired}
			}
			x.Step, x.AccountID, x.ConnectionID = StepAuthenticated, res.Account.ID, res.ConnectionID
			x.Methods, x.AuthTime = []string{AMRSSO}, authTime
			return nil
		})
	} else {
		// IdP-initiated: a flow of its own, stored already spent.
		out, err = e.issueNew(ctx, c, storage.LoginFlow{
			Email: res.Account.Email, AccountID: res.Account.ID, Methods: []string{AMRSSO},
			ConnectionID: res.ConnectionID, AuthTime: authTime, ReturnTo: res.ReturnTo,
		}, res.Account, p)
	}
	if err != nil {
		e.metrics.SignIn("sso", resultFailure)
		return Outcome{}, err
	}
	e.metrics.SignIn("sso", resultSuccess)
	return out, nil
}

// finish authenticates flow id (authenticate records the first factor on
// it) and spends it in one write, then issues the session: spending is the
// single-use check, so of two concurrent finishes exactly one issues a
// session.
func (e *Engine) finish(ctx context.Context, c Client, id string, acct storage.Account, p session.StartParams, authenticate func(*storage.LoginFlow) error) (Outcome, error) {
	f, err := e.advance(ctx, id, func(x *storage.LoginFlow) error {
		if !x.UsedAt.IsZero() {
			return &FlowError{Reason: FlowUsed}
		}
		if err := authenticate(x); err != nil {
			return err
		}
		x.Step, x.UsedAt = StepDone, e.clock()
		return nil
	})
	var fe *FlowError
	if errors.As(err, &fe) && fe.Reason == FlowOutOfOrder {
		return Outcome{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	if err != nil {
		return Outcome{}, err
	}
	return e.issue(ctx, c, f, acct, p)
}

// issueNew stores f, a sign-in that needed no steps in the browser (an
// IdP-initiated response, a one-time link), already spent, and issues its
// session.
func (e *Engine) issueNew(ctx context.Context, c Client, f storage.LoginFlow, acct storage.Account, p session.StartParams) (Outcome, error) {
	now := e.clock()
	f.ID, f.Step, f.CreatedAt, f.ExpiresAt, f.UsedAt = newSecret(), StepDone, now, now.Add(FlowTTL), now
	if err := e.store.CreateLoginFlow(ctx, f); err != nil {
		return Outcome{}, fmt.Errorf("signin: store flow: %w", err)
	}
	return e.issue(ctx, c, f, acct, p)
}

// issue ends the sessions the browser held and starts the new one,
// recording how it was made.
func (e *Engine) issue(ctx context.Context, c Client, f storage.LoginFlow, acct storage.Account, p session.StartParams) (Outcome, error) {
	if c.Session != "" {
		if err := e.sessions.Logout(ctx, c.Session); err != nil && !errors.Is(err, session.ErrInvalid) {
			e.log.WarnContext(ctx, "ending the previous session before sign-in failed", "err", err)
		}
	}
	ctx = reqctx.WithActor(ctx, "account", acct.ID, acct.Email)
	if accountID, sessionID, ok := strings.Cut(f.PrevSession, "/"); ok {
		if err := e.sessions.Revoke(ctx, accountID, sessionID, "signed_in_again"); err != nil && !errors.Is(err, session.ErrInvalid) {
			e.log.WarnContext(ctx, "ending the browser's previous session after SSO failed", "err", err)
		}
	}
	// The session records how it was made, from the flow: the methods in
	// the order they were completed, and when the person authenticated.
	p.Account, p.IP, p.UserAgent = acct, c.IP, c.UserAgent
	p.Methods, p.AuthTime = f.Methods, f.AuthTime
	if p.EmergencyID != "" {
		// Made under an emergency: the session says so to whoever relies on it.
		p.Methods = appendOnce(p.Methods, AMREmerg)
	}
	token, sess, err := e.sessions.Start(ctx, p)
	if err != nil {
		return Outcome{}, fmt.Errorf("signin: issue session: %w", err)
	}
	return Outcome{Account: acct, Token: token, ExpiresAt: sess.ExpiresAt, ReturnTo: f.ReturnTo, Methods: sess.AMR, EmergencyID: sess.EmergencyID}, nil
}

// claim marks flow f as being checked before a first factor is, so of a
// double click or a replayed post only one submit gets checked (and
// counted); the others are refused while it runs. giveBack hands the step
// back after a refusal, for another try.
func (e *Engine) claim(ctx context.Context, f storage.LoginFlow, what string) (storage.LoginFlow, func(), error) {
	prev := f.Step
	f, err := e.advance(ctx, f.ID, func(x *storage.LoginFlow) error {
		if x.Step != prev || !x.UsedAt.IsZero() {
			return &FlowError{Reason: FlowInProgress}
		}
		x.Step = stepChecking
		return nil
	})
	if err != nil {
		return f, nil, err
	}
	giveBack := func() {
		if _, err := e.advance(context.WithoutCancel(ctx), f.ID, func(x *storage.LoginFlow) error {
			if x.Step == stepChecking {
				x.Step = prev
			}
			return nil
		}); err != nil {
			e.log.WarnContext(ctx, "cannot hand a sign-in step back after a refused "+what, "err", err)
		}
	}
	return f, giveBack, nil
}

// advance applies fn to flow id; a concurrent change of the same flow (two
// submits racing) is refused as a used flow.
func (e *Engine) advance(ctx context.Context, id string, fn func(*storage.LoginFlow) error) (storage.LoginFlow, error) {
	f, err := e.store.UpdateLoginFlow(ctx, id, fn)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return f, &FlowError{Reason: FlowUsed}
	case errors.Is(err, storage.ErrNotFound):
		return f, &FlowError{Reason: FlowUnknown}
	}
	return f, err
}

// flowRefused audits a refused step of an existing flow (an unknown ID is
// not audited: anyone can make one up) and returns the error.
func (e *Engine) flowRefused(ctx context.Context, c Client, f storage.LoginFlow, reason string) error {
	e.metrics.SignIn("flow", resultFailure)
	// Past the address's budget the step is still refused, but no longer
	// audited one by one: a flood must not grow the audit log without end.
	if over, _, err := e.limiter.Exceeded(ctx, flowRefusedLimit, c.IP); err != nil || over {
		return &FlowError{Reason: reason}
	}
	if err := e.limiter.Count(ctx, flowRefusedLimit, c.IP); err != nil {
		e.log.WarnContext(ctx, "count a refused sign-in step", "err", err)
	}
	ev := storage.AuditEvent{
		ID: uuid.NewString(), Time: e.clock(), ActorType: audit.ActorAnonymous, Action: "login.flow_refused",
		Outcome: audit.OutcomeFailure, Reason: reason, IP: c.IP,
		Details: map[string]string{"step": f.Step, "age_s": fmt.Sprint(int64(e.clock().Sub(f.CreatedAt) / time.Second))},
	}
	if f.Email != "" {
		ev.Details["email"] = f.Email
	}
	if err := e.store.InTx(ctx, func(tx storage.Store) error { return audit.Record(ctx, tx, ev) }); err != nil {
		e.log.ErrorContext(ctx, "cannot audit a refused sign-in step", "reason", reason, "err", err)
	}
	return &FlowError{Reason: reason}
}

// Purge deletes flows that expired before now.
func (e *Engine) Purge(ctx context.Context) (int, error) {
	n, err := e.store.DeleteExpiredLoginFlows(ctx, e.clock())
	if err != nil {
		return 0, fmt.Errorf("signin: purge: %w", err)
	}
	return n, nil
}

// One-time links that sign the person in once the account service
// redeemed them.
const (
	LinkSetup    = "setup"    // the first-admin link: the owner just chose a password
	LinkRecovery = "recovery" // `gatehouse recover`'s admin link
	// LinkOrgRecovery: an owner entered an organization recovery code at
	// /recover (internal/orgrecovery redeemed it). The session records
	// "recovery" like the admin link; the metrics count it apart.
	LinkOrgRecovery = "org_recovery"
)

// Link signs acct in by a one-time link the account service has already
// redeemed (kind LinkSetup or LinkRecovery): a flow is stored as
// authenticated and finished like any other, so the session records how it
// was made and the outcome is counted here.
func (e *Engine) Link(ctx context.Context, c Client, acct storage.Account, kind, returnTo string) (Outcome, error) {
	var methods []string
	method := kind
	switch kind {
	case LinkSetup:
		methods = []string{AMRPassword}
	case LinkRecovery:
		methods = []string{session.MethodRecovery}
	case LinkOrgRecovery:
		methods, method = []string{session.MethodRecovery}, session.MethodRecovery
	default:
		return Outcome{}, fmt.Errorf("signin: unknown link kind %q", kind)
	}
	out, err := e.issueNew(ctx, c, storage.LoginFlow{
		Email: acct.Email, AccountID: acct.ID, Methods: methods, AuthTime: e.clock(), ReturnTo: returnTo,
	}, acct, session.StartParams{Method: method})
	if err != nil {
		e.metrics.SignIn(kind, resultFailure)
		return Outcome{}, err
	}
	e.metrics.SignIn(kind, resultSuccess)
	return out, nil
}

// LinkRefused counts a one-time link that did not work (the account
// service already audited why).
func (e *Engine) LinkRefused(kind string) { e.metrics.SignIn(kind, resultFailure) }

// purgeEvery is how often Run deletes expired flows.
const purgeEvery = 5 * time.Minute

// Run purges expired flows every few minutes until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := e.Purge(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "purging expired sign-in flows failed", "err", err)
		} else if n > 0 {
			e.log.DebugContext(ctx, "purged expired sign-in flows", "rows", n)
		}
	}
}
