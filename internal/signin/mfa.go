package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Second factors SecondFactor takes.
const (
	FactorTOTP     = "totp"     // a code from the authenticator app
	FactorRecovery = "recovery" // one of the account's single-use recovery codes
)

// AMR for a recovery code: RFC 8176 has no word for it, and it is a
// one-time code, so it is recorded as "otp" like a TOTP code (the
// login.mfa_success event says factor=recovery). "recovery" is not used: on
// a session it means a recovery link that bypassed the usual methods.

// mfaFailLimit bounds wrong second factors per account, whatever flow or
// address they come from: six digits must not be guessable by trying.
// The verifiers throttle too; this one is the engine's own floor.
var mfaFailLimit = ratelimit.Rule{Name: "signin_mfa", Max: 10, Window: 15 * time.Minute}

// hasSecondFactor reports whether acct can answer a second-factor step:
// TOTP enrolled or a passkey registered.
func (e *Engine) hasSecondFactor(ctx context.Context, accountID string) (bool, error) {
	ok, err := e.totp.TOTPEnrolled(ctx, accountID)
	if err != nil || ok {
		return ok, err
	}
	n, err := e.passkeyCount(ctx, accountID)
	return n > 0, err
}

// passkeyCount is how many passkeys the account has (0 without passkeys).
func (e *Engine) passkeyCount(ctx context.Context, accountID string) (int, error) {
	if e.passkeys == nil || accountID == "" {
		return 0, nil
	}
	n, _, err := e.passkeys.Count(ctx, accountID)
	return n, err
}

// params is the session the decision r gives acct: the policy's lifetimes,
// the emergency it is made under, and a break-glass sign-in's audit event.
func params(r policy.Routing, acct storage.Account) (session.StartParams, bool) {
	var p session.StartParams
	breakGlass := false
	if r.Policy != nil {
		p.IdleTimeout, p.MaxLifetime = r.Policy.IdleTimeout, r.Policy.MaxLifetime
		if policy.IsBreakGlass(acct, *r.Policy) {
			breakGlass = true
			p.Also = append(p.Also, storage.AuditEvent{Action: "login.break_glass",
				Details: map[string]string{"policy": r.Policy.Name}})
		}
	}
	if em := r.Account.Emergency; em != nil {
		p.EmergencyID = em.ID
	}
	return p, breakGlass
}

// complete issues the session for flow id once every factor is done
// (methods), from the step from, and mails the other admins after a
// break-glass sign-in.
func (e *Engine) complete(ctx context.Context, c Client, id string, r policy.Routing, acct storage.Account, from string, methods []string, kind string) (Outcome, error) {
	p, breakGlass := params(r, acct)
	out, err := e.finish(ctx, c, id, acct, p, func(x *storage.LoginFlow) error {
		if x.Step != from {
			return &FlowError{Reason: FlowOutOfOrder}
		}
		if x.AccountID != "" && x.AccountID != acct.ID {
			return &FlowError{Reason: FlowOutOfOrder}
		}
		if x.AuthTime.IsZero() {
			x.AuthTime = e.clock()
		}
		x.Step, x.AccountID, x.Methods = StepAuthenticated, acct.ID, methods
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	e.metrics.SignIn(kind, resultSuccess)
	if breakGlass {
		// After commit: the sign-in stands whether or not mail goes out.
		e.notify.Send(context.WithoutCancel(ctx), acct.OrgID, "Break-glass sign-in to Gatehouse",
			fmt.Sprintf("%s signed in to Gatehouse with a break-glass account (password and second factor, without the IdP) from %s.\n\nIf this was not expected, check the audit log and end the session from the console.\n",
				acct.Email, c.IP), acct.ID)
	}
	return out, nil
}

// afterFirstFactor moves flow id on once its first factor (methods)
// succeeded from step from: to the second-factor step when the decision
// asks for one (to enrolment when none is enrolled), otherwise it issues
// the session. bothFactors is set for a passkey, which counts as two.
func (e *Engine) afterFirstFactor(ctx context.Context, c Client, id string, r policy.Routing, acct storage.Account, from string, methods []string, kind string, bothFactors bool) (Outcome, error) {
	if !r.Account.MFA || bothFactors {
		return e.complete(ctx, c, id, r, acct, from, methods, kind)
	}
	// The decision already looked the account's factors up.
	next := StepMFA
	if !r.HasFactor {
		next = StepMFAEnrol
	}
	f, err := e.advance(ctx, id, func(x *storage.LoginFlow) error {
		if x.Step != from || !x.UsedAt.IsZero() {
			return &FlowError{Reason: FlowOutOfOrder}
		}
		x.Step, x.AccountID, x.Methods, x.AuthTime = next, acct.ID, methods, e.clock()
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Account: acct, Pending: next, FlowID: f.ID, ReturnTo: f.ReturnTo, Methods: f.Methods}, nil
}

// MFAStep is what the second-factor page shows.
type MFAStep struct {
	FlowID  string
	Step    string // StepMFA or StepMFAEnrol
	Email   string
	OrgID   string
	Passkey bool // the account has a passkey: offer "Use your passkey"
	// ReturnTo is where the sign-in goes afterwards, as the flow stored
	// it (the edge validates it again); the pages name the app it is for.
	ReturnTo string
}

// ShowMFA returns the second-factor step flow id stands at.
func (e *Engine) ShowMFA(ctx context.Context, c Client, id string) (MFAStep, error) {
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return MFAStep{}, err
	}
	if f.Step != StepMFA && f.Step != StepMFAEnrol {
		return MFAStep{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	acct, err := e.store.GetAccount(ctx, f.AccountID)
	if err != nil {
		return MFAStep{}, fmt.Errorf("signin: mfa: account: %w", err)
	}
	n, err := e.passkeyCount(ctx, acct.ID)
	if err != nil {
		return MFAStep{}, fmt.Errorf("signin: mfa: passkeys: %w", err)
	}
	return MFAStep{FlowID: f.ID, Step: f.Step, Email: f.Email, OrgID: acct.OrgID, Passkey: n > 0, ReturnTo: f.ReturnTo}, nil
}

// mfaFlow loads flow id at step want, its account and the decision made
// again now (a policy or an emergency may have changed since the first
// factor; the first factor must still be allowed).
func (e *Engine) mfaFlow(ctx context.Context, c Client, id, want string) (storage.LoginFlow, storage.Account, policy.Routing, error) {
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return f, storage.Account{}, policy.Routing{}, err
	}
	if f.Step != want {
		return f, storage.Account{}, policy.Routing{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	r, err := e.policies.Route(ctx, f.Email)
	if err != nil {
		return f, storage.Account{}, policy.Routing{}, fmt.Errorf("signin: route: %w", err)
	}
	acct, err := e.store.GetAccount(ctx, f.AccountID)
	if err != nil {
		return f, acct, r, fmt.Errorf("signin: mfa: account: %w", err)
	}
	stillAllowed := acct.Status == storage.StatusActive && (r.Account.AllowPassword || !slices.Contains(f.Methods, AMRPassword))
	if !stillAllowed {
		return f, acct, r, account.ErrBadCredentials
	}
	if want == StepMFAEnrol {
		// The enrolment step was decided when the account had no factor.
		// One enrolled since (on /account, a passkey) must be asked for,
		// not replaced: otherwise whoever holds the password and an old
		// flow swaps the person's authenticator for their own. Starting
		// again leads to the MFA step.
		has, err := e.hasSecondFactor(ctx, acct.ID)
		if err != nil {
			return f, acct, r, fmt.Errorf("signin: second factor: %w", err)
		}
		if has {
			return f, acct, r, e.flowRefused(ctx, c, f, FlowOutOfOrder)
		}
	}
	return f, acct, r, nil
}

// SecondFactor checks a TOTP code (kind FactorTOTP) or a recovery code
// (FactorRecovery) at flow id's second-factor step and issues the session.
// Every refusal answers account.ErrBadCredentials, is audited
// login.mfa_failure and counted against the account; past the limit it
// answers *account.ThrottledError without checking.
func (e *Engine) SecondFactor(ctx context.Context, c Client, id, kind, code string) (Outcome, error) {
	if kind != FactorTOTP && kind != FactorRecovery {
		return Outcome{}, &account.InvalidInputError{Field: "kind", Message: "Choose a code from your app or a recovery code."}
	}
	f, acct, r, err := e.mfaFlow(ctx, c, id, StepMFA)
	if err != nil {
		return Outcome{}, err
	}
	if over, wait, err := e.limiter.Exceeded(ctx, mfaFailLimit, acct.ID); err != nil {
		return Outcome{}, fmt.Errorf("signin: mfa: %w", err)
	} else if over {
		e.metrics.SignIn("mfa", resultThrottled)
		return Outcome{}, &account.ThrottledError{RetryAfter: wait}
	}
	if kind == FactorTOTP {
		err = e.totp.VerifyTOTP(ctx, acct.ID, code)
	} else {
		err = e.totp.UseRecoveryCode(ctx, acct.ID, code)
	}
	if err != nil {
		return Outcome{}, e.mfaFailed(ctx, c, acct, kind, err)
	}
	e.auditMFA(ctx, c, acct, "login.mfa_success", kind, "")
	return e.complete(ctx, c, f.ID, r, acct, StepMFA, appendOnce(f.Methods, AMROTP), "mfa")
}

// mfaFailed counts and audits a refused second factor; the answer is
// always account.ErrBadCredentials (or the verifier's throttling).
func (e *Engine) mfaFailed(ctx context.Context, c Client, acct storage.Account, kind string, cause error) error {
	if err := e.limiter.Count(ctx, mfaFailLimit, acct.ID); err != nil {
		e.log.WarnContext(ctx, "count a refused second factor", "err", err)
	}
	e.metrics.SignIn("mfa", resultFailure)
	e.auditMFA(ctx, c, acct, "login.mfa_failure", kind, reasonOf(cause))
	var throttled *account.ThrottledError
	if errors.As(cause, &throttled) {
		return cause
	}
	return account.ErrBadCredentials
}

func reasonOf(err error) string {
	var th *account.ThrottledError
	if errors.As(err, &th) {
		return "throttled"
	}
	return "invalid_code"
}

// auditMFA records a second-factor event in the account's organization.
func (e *Engine) auditMFA(ctx context.Context, c Client, acct storage.Account, action, kind, reason string) {
	ev := storage.AuditEvent{
		ID: uuid.NewString(), OrgID: acct.OrgID, Time: e.clock(), ActorType: "account", ActorID: acct.ID,
		ActorEmail: acct.Email, Action: action, TargetType: "account", TargetID: acct.ID, IP: c.IP, UserAgent: c.UserAgent,
		Reason: reason, Details: map[string]string{"factor": kind},
	}
	if reason != "" {
		ev.Outcome = audit.OutcomeFailure
	}
	if err := e.store.InTx(ctx, func(tx storage.Store) error { return audit.Record(ctx, tx, ev) }); err != nil {
		e.log.ErrorContext(ctx, "cannot audit a second factor", "action", action, "err", err)
	}
}

// Enrolment is TOTP enrolment at sign-in: the secret to type, the
// otpauth:// URI and its QR code.
type Enrolment struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// BeginEnrol starts TOTP enrolment at flow id's enrolment step.
func (e *Engine) BeginEnrol(ctx context.Context, c Client, id string) (Enrolment, error) {
	_, acct, _, err := e.mfaFlow(ctx, c, id, StepMFAEnrol)
	if err != nil {
		return Enrolment{}, err
	}
	secret, uri, png, err := e.enrol(ctx, acct)
	if err != nil {
		return Enrolment{}, fmt.Errorf("signin: enrol TOTP: %w", err)
	}
	return Enrolment{Secret: secret, URI: uri, QRPNG: png}, nil
}

// ConfirmEnrol checks the first code of the authenticator being enrolled
// at flow id, and issues the session. It returns the recovery codes, to
// be shown once. A wrong code is counted and audited like a wrong second
// factor.
func (e *Engine) ConfirmEnrol(ctx context.Context, c Client, id, code string) (Outcome, []string, error) {
	f, acct, r, err := e.mfaFlow(ctx, c, id, StepMFAEnrol)
	if err != nil {
		return Outcome{}, nil, err
	}
	if over, wait, err := e.limiter.Exceeded(ctx, mfaFailLimit, acct.ID); err != nil {
		return Outcome{}, nil, fmt.Errorf("signin: mfa: %w", err)
	} else if over {
		return Outcome{}, nil, &account.ThrottledError{RetryAfter: wait}
	}
	codes, err := e.confirm(ctx, acct, code)
	if err != nil {
		return Outcome{}, nil, e.mfaFailed(ctx, c, acct, FactorTOTP, err)
	}
	e.auditMFA(ctx, c, acct, "login.mfa_enrolled", FactorTOTP, "")
	out, err := e.complete(ctx, c, f.ID, r, acct, StepMFAEnrol, appendOnce(f.Methods, AMROTP), "mfa")
	return out, codes, err
}

func appendOnce(methods []string, m string) []string {
	out := slices.Clone(methods)
	if !slices.Contains(out, m) {
		out = append(out, m)
	}
	return out
}
