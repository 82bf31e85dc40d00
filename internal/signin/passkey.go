package signin

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrNoPasskeys: passkeys are not wired in this deployment.
var ErrNoPasskeys error = errs.New(errs.PreconditionFailed, "no_passkeys", "signin: passkeys are not available")

// BeginPasskey returns the WebAuthn request options for flow id and the
// challenge to post back with the assertion. At the first step (the
// password or emergency page) it asks for a discoverable credential, so
// the page says nothing about whether the address has one; at the second
// factor step, for one of the account's credentials.
func (e *Engine) BeginPasskey(ctx context.Context, c Client, id string) (optionsJSON []byte, challengeID string, err error) {
	if e.passkeys == nil {
		return nil, "", ErrNoPasskeys
	}
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return nil, "", err
	}
	accountID := ""
	switch f.Step {
	case StepPassword, StepSSO:
	case StepMFA:
		accountID = f.AccountID
	default:
		return nil, "", e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	opts, ch, err := e.passkeys.BeginLogin(ctx, accountID)
	if err != nil {
		return nil, "", fmt.Errorf("signin: begin passkey: %w", err)
	}
	return opts, ch, nil
}

// PasskeyFactor checks a passkey assertion (user verification required by
// the verifier) for flow id. As a first factor it counts as both factors
// (amr "hwk") and is allowed when the account's decision allows a password
// or the account is in an emergency; as the second factor it completes
// the MFA step. The credential must be the flow's account's; every refusal
// answers account.ErrBadCredentials, like a wrong password.
func (e *Engine) PasskeyFactor(ctx context.Context, c Client, id, challengeID string, response []byte) (Outcome, error) {
	if e.passkeys == nil {
		return Outcome{}, ErrNoPasskeys
	}
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return Outcome{}, err
	}
	if f.Step == StepMFA {
		f, acct, r, err := e.mfaFlow(ctx, c, id, StepMFA)
		if err != nil {
			return Outcome{}, err
		}
		if over, wait, err := e.limiter.Exceeded(ctx, mfaFailLimit, acct.ID); err != nil {
			return Outcome{}, fmt.Errorf("signin: mfa: %w", err)
		} else if over {
			return Outcome{}, &account.ThrottledError{RetryAfter: wait}
		}
		got, err := e.finishPK(ctx, challengeID, response)
		if err != nil || got != acct.ID {
			return Outcome{}, e.mfaFailed(ctx, c, acct, "passkey", err)
		}
		e.auditMFA(ctx, c, acct, "login.mfa_success", "passkey", "")
		return e.complete(ctx, c, f.ID, r, acct, StepMFA, appendOnce(f.Methods, AMRPasskey), "passkey")
	}
	if f.Step != StepPassword && f.Step != StepSSO {
		return Outcome{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	r, err := e.policies.Route(ctx, f.Email)
	if err != nil {
		return Outcome{}, fmt.Errorf("signin: route: %w", err)
	}
	// Claim the step, as Password does: one check at a time.
	f, giveBack, err := e.claim(ctx, f, "passkey")
	if err != nil {
		return Outcome{}, err
	}
	refuse := func() (Outcome, error) {
		giveBack()
		e.metrics.SignIn("passkey", resultFailure)
		return Outcome{}, account.ErrBadCredentials
	}
	got, err := e.finishPK(ctx, challengeID, response)
	acct, aerr := e.store.GetAccountByEmail(ctx, f.Email)
	switch {
	case err != nil, aerr != nil:
		// The verifier audits an assertion it refuses; an unknown address
		// has no organization to tell.
		return refuse()
	case got != acct.ID:
		// A good signature, but another account's: audited like a wrong
		// password for the typed address.
		e.passkeyRefused(ctx, c, acct, "other_account_passkey")
		return refuse()
	case !r.Account.AllowPasskey:
		if r.Account.Ineligible != "" {
			e.failbackRefused(ctx, c, acct, r, "passkey")
		} else {
			// Under working SSO, or suspended: the password step audits
			// the same refusals (account.PasswordAttempt.Refuse).
			reason := "passkey_not_allowed"
			switch {
			case acct.Status != storage.StatusActive:
				reason = "suspended"
			case r.Account.AllowSSO:
				reason = "sso_enforced"
			}
			e.passkeyRefused(ctx, c, acct, reason)
		}
		return refuse()
	}
	methods := []string{AMRPasskey}
	return e.afterFirstFactor(ctx, c, f.ID, r, acct, stepChecking, methods, "passkey", true)
}

// failbackRefused records, in the organization's own audit log, that an
// account an emergency covers tried a way in it may not use (it is not
// eligible: the reason says why). The person's answer is unchanged.
func (e *Engine) failbackRefused(ctx context.Context, c Client, acct storage.Account, r policy.Routing, via string) {
	if r.Account.Ineligible == "" {
		return
	}
	ev := storage.AuditEvent{
		ID: uuid.NewString(), OrgID: acct.OrgID, Time: e.clock(), ActorType: audit.ActorAnonymous,
		Action: "login.failback_refused", Outcome: audit.OutcomeFailure, Reason: r.Account.Ineligible,
		TargetType: "account", TargetID: acct.ID, IP: c.IP, UserAgent: c.UserAgent,
		Details: map[string]string{"email": acct.Email, "via": via},
	}
	e.recordRefusal(ctx, c, ev)
}

// passkeyRefused records, in acct's organization, a valid passkey that
// may not sign acct in (reason), as login.failure with via=passkey: the
// same event a refused password leaves. The person's answer is unchanged.
func (e *Engine) passkeyRefused(ctx context.Context, c Client, acct storage.Account, reason string) {
	ev := storage.AuditEvent{
		ID: uuid.NewString(), OrgID: acct.OrgID, Time: e.clock(), ActorType: audit.ActorAnonymous,
		Action: "login.failure", Outcome: audit.OutcomeFailure, Reason: reason,
		TargetType: "account", TargetID: acct.ID, IP: c.IP, UserAgent: c.UserAgent,
		Details: map[string]string{"email": acct.Email, "via": "passkey"},
	}
	e.recordRefusal(ctx, c, ev)
}

// recordRefusal audits a refused first factor of an existing account, up
// to refusalAuditLimit per client address: each event costs the sender a
// valid passkey assertion, but the organization's audit log must not grow
// without end. Past the budget the refusal stands and is only logged.
func (e *Engine) recordRefusal(ctx context.Context, c Client, ev storage.AuditEvent) {
	if over, _, err := e.limiter.Exceeded(ctx, refusalAuditLimit, c.IP); err != nil || over {
		e.log.WarnContext(ctx, "refused sign-in not audited: the address is over its budget", "action", ev.Action, "reason", ev.Reason, "err", err)
		return
	}
	if err := e.limiter.Count(ctx, refusalAuditLimit, c.IP); err != nil {
		e.log.WarnContext(ctx, "count a refused sign-in", "err", err)
	}
	if err := e.store.InTx(ctx, func(tx storage.Store) error { return audit.Record(ctx, tx, ev) }); err != nil {
		e.log.ErrorContext(ctx, "cannot audit a refused sign-in", "action", ev.Action, "reason", ev.Reason, "err", err)
	}
}
