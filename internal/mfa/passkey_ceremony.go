package mfa

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// maxResponseJSON bounds a browser's answer: real ones are a few KB.
const maxResponseJSON = 64 << 10

// BeginRegistration starts adding a passkey to acct, which must be the
// acting account. It returns the options for navigator.credentials.create
// (JSON, {"publicKey": …} with base64url byte fields) and the challenge ID
// FinishRegistration needs. The passkey must be discoverable and verify
// the user; the account's existing passkeys are excluded, so the same
// authenticator is not registered twice. emergency marks the new passkey
// as an emergency credential.
func (p *Passkeys) BeginRegistration(ctx context.Context, acct storage.Account, emergency bool) (optionsJSON []byte, challengeID string, err error) {
	if err := requireSelf(ctx, p.store, acct); err != nil {
		return nil, "", err
	}
	user, err := p.userOf(ctx, acct)
	if err != nil {
		return nil, "", err
	}
	creation, sd, err := p.wa.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin passkey registration: %w", err)
	}
	id, err := p.newChallenge(ctx, acct.ID, storage.PasskeyPurposeRegister, emergency, sd)
	if err != nil {
		return nil, "", err
	}
	opts, err := json.Marshal(creation)
	if err != nil {
		return nil, "", fmt.Errorf("mfa: encode passkey options: %w", err)
	}
	return opts, id, nil
}

// FinishRegistration verifies the browser's answer (responseJSON, the
// PublicKeyCredential as JSON) to the challenge challengeID began for
// acct, and stores the passkey under name, audited as mfa.passkey_added
// in the same transaction. A refused answer is ErrPasskeyRefused.
func (p *Passkeys) FinishRegistration(ctx context.Context, acct storage.Account, challengeID string, responseJSON []byte, name string) (storage.Passkey, error) {
	if err := requireSelf(ctx, p.store, acct); err != nil {
		return storage.Passkey{}, err
	}
	name, err := cleanName(name)
	if err != nil {
		return storage.Passkey{}, err
	}
	c, sd, reason, err := p.consumeChallenge(ctx, challengeID, storage.PasskeyPurposeRegister)
	if err != nil {
		return storage.Passkey{}, err
	}
	if reason == "" && c.AccountID != acct.ID {
		reason = "challenge_other_account"
	}
	if reason != "" {
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, reason, nil)
	}
	if len(responseJSON) > maxResponseJSON {
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, "response_too_large", nil)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(responseJSON)
	if err != nil {
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, "malformed_response", err)
	}
	user, err := p.userOf(ctx, acct)
	if err != nil {
		return storage.Passkey{}, err
	}
	cred, err := p.wa.CreateCredential(user, sd, parsed)
	if err != nil {
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, "verification_failed", err)
	}
	if !cred.Flags.UserVerified {
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, "user_not_verified", nil)
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if s := string(t); s != "" && !strings.ContainsRune(s, ',') {
			transports = append(transports, s)
		}
	}
	pk := storage.Passkey{
		ID: newPasskeyID(), AccountID: acct.ID, OrgID: acct.OrgID,
		CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AttestationFormat: cred.AttestationFormat,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		Transports: transports, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Name: name, Emergency: c.Emergency, CreatedAt: p.now(),
	}
	err = p.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreatePasskey(ctx, pk); err != nil {
			return err
		}
		return auditTx(ctx, tx, passkeyEvent(ActionPasskeyAdded, pk.CreatedAt, acct, pk))
	})
	if errors.Is(err, storage.ErrConflict) {
		// The credential is registered already (to this or another account).
		return storage.Passkey{}, p.refuseRegistration(ctx, acct, "credential_exists", err)
	}
	if err != nil {
		return storage.Passkey{}, fmt.Errorf("mfa: store passkey: %w", err)
	}
	p.log.InfoContext(ctx, "passkey added", "account_id", acct.ID, "passkey_id", pk.ID, "emergency", pk.Emergency)
	return pk, nil
}

func (p *Passkeys) refuseRegistration(ctx context.Context, acct storage.Account, reason string, cause error) error {
	p.log.InfoContext(ctx, "passkey registration refused", "account_id", acct.ID, "reason", reason, "err", cause)
	return fmt.Errorf("mfa: passkey registration refused (%s): %w", reason, ErrPasskeyRefused)
}

// BeginLogin starts a passkey sign-in and returns the options for
// navigator.credentials.get (JSON, {"publicKey": …}) and the challenge ID
// FinishLogin needs. With accountID "" it is a discoverable sign-in: no
// allowCredentials, the passkey names its account. Otherwise only that
// account's passkeys are allowed; an account with none gives
// ErrPasskeyRefused. User verification is required either way.
func (p *Passkeys) BeginLogin(ctx context.Context, accountID string) (optionsJSON []byte, challengeID string, err error) {
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if accountID == "" {
		assertion, sd, err = p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		acct, gerr := p.store.GetAccount(ctx, accountID)
		if errors.Is(gerr, storage.ErrNotFound) {
			p.log.InfoContext(ctx, "passkey sign-in refused", "reason", "unknown_account", "account_id", accountID)
			return nil, "", fmt.Errorf("mfa: begin passkey sign-in: unknown account: %w", ErrPasskeyRefused)
		}
		if gerr != nil {
			return nil, "", fmt.Errorf("mfa: begin passkey sign-in: %w", gerr)
		}
		user, uerr := p.userOf(ctx, acct)
		if uerr != nil {
			return nil, "", uerr
		}
		if len(user.creds) == 0 {
			p.log.InfoContext(ctx, "passkey sign-in refused", "reason", "no_passkeys", "account_id", accountID)
			return nil, "", fmt.Errorf("mfa: begin passkey sign-in: account has no passkeys: %w", ErrPasskeyRefused)
		}
		assertion, sd, err = p.wa.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationRequired))
	}
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin passkey sign-in: %w", err)
	}
	id, err := p.newChallenge(ctx, accountID, storage.PasskeyPurposeLogin, false, sd)
	if err != nil {
		return nil, "", err
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		return nil, "", fmt.Errorf("mfa: encode passkey options: %w", err)
	}
	return opts, id, nil
}

// FinishLogin verifies the browser's answer to the sign-in challenge
// challengeID and returns whose passkey signed it. It refuses, with
// ErrPasskeyRefused, an unknown, used or expired challenge; a passkey of
// another account than the one the challenge was begun for; an answer
// from a wrong origin, with a bad signature or without user verification;
// and a signature counter that did not increase (a cloned authenticator:
// the passkey is marked and refused from then on, audited as
// mfa.passkey_clone_suspected). On success it stores the new counter and
// the time of use. It does not decide whether the account may sign in:
// that is the sign-in engine's.
func (p *Passkeys) FinishLogin(ctx context.Context, challengeID string, responseJSON []byte) (PasskeyLogin, error) {
	c, sd, reason, err := p.consumeChallenge(ctx, challengeID, storage.PasskeyPurposeLogin)
	if err != nil {
		return PasskeyLogin{}, err
	}
	if reason != "" {
		return PasskeyLogin{}, p.refuseLogin(ctx, nil, reason, nil)
	}
	if len(responseJSON) > maxResponseJSON {
		return PasskeyLogin{}, p.refuseLogin(ctx, nil, "response_too_large", nil)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(responseJSON)
	if err != nil {
		return PasskeyLogin{}, p.refuseLogin(ctx, nil, "malformed_response", err)
	}
	pk, err := p.store.GetPasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, storage.ErrNotFound) {
		return PasskeyLogin{}, p.refuseLogin(ctx, nil, "unknown_credential", nil)
	}
	if err != nil {
		return PasskeyLogin{}, fmt.Errorf("mfa: find passkey: %w", err)
	}
	if c.AccountID != "" && pk.AccountID != c.AccountID {
		return PasskeyLogin{}, p.refuseLogin(ctx, &pk, "other_account", nil)
	}
	if !pk.CloneSuspectedAt.IsZero() {
		return PasskeyLogin{}, p.refuseLogin(ctx, &pk, "clone_suspected_earlier", nil)
	}
	acct, err := p.store.GetAccount(ctx, pk.AccountID)
	if err != nil {
		return PasskeyLogin{}, fmt.Errorf("mfa: read the passkey's account: %w", err)
	}
	user, err := p.userOf(ctx, acct)
	if err != nil {
		return PasskeyLogin{}, err
	}
	var cred *webauthn.Credential
	if c.AccountID == "" {
		cred, err = p.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, user.WebAuthnID()) {
				return nil, errors.New("user handle does not name the passkey's account")
			}
			return user, nil
		}, sd, parsed)
	} else {
		cred, err = p.wa.ValidateLogin(user, sd, parsed)
	}
	if err != nil {
		return PasskeyLogin{}, p.refuseLogin(ctx, &pk, "verification_failed", err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if !flags.HasUserVerified() {
		// go-webauthn checks it too; a sign-in without it would be one
		// factor short, so it is checked here where the rule lives.
		return PasskeyLogin{}, p.refuseLogin(ctx, &pk, "user_not_verified", nil)
	}
	counter, now := parsed.Response.AuthenticatorData.Counter, p.now()
	cloned := false
	err = p.store.InTx(ctx, func(tx storage.Store) error {
		cloned = false
		upd, err := tx.UpdatePasskey(ctx, pk.ID, func(cur *storage.Passkey) error {
			// Compared with the counter under the row lock, not the one
			// read before: two sign-ins at once cannot both pass with one
			// counter value.
			if (counter != 0 || cur.SignCount != 0) && counter <= cur.SignCount {
				cloned = true
				cur.CloneSuspectedAt = now
				return nil
			}
			cur.SignCount, cur.LastUsedAt, cur.BackupState = counter, now, flags.HasBackupState()
			return nil
		})
		if err != nil {
			return err
		}
		if cloned {
			e := passkeyEvent(ActionPasskeyCloneSuspected, now, acct, upd)
			e.Outcome, e.Reason = audit.OutcomeFailure, "clone_suspected"
			e.Details["stored_count"], e.Details["presented_count"] = fmt.Sprint(pk.SignCount), fmt.Sprint(counter)
			return auditTx(ctx, tx, e)
		}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return PasskeyLogin{}, p.refuseLogin(ctx, nil, "passkey_removed", nil)
	}
	if err != nil {
		return PasskeyLogin{}, fmt.Errorf("mfa: record passkey use: %w", err)
	}
	if cloned {
		p.log.WarnContext(ctx, "passkey sign-in refused: signature counter did not increase, the authenticator may be cloned",
			"account_id", pk.AccountID, "passkey_id", pk.ID, "stored_count", pk.SignCount, "presented_count", counter)
		return PasskeyLogin{}, fmt.Errorf("mfa: passkey sign-in refused (clone_suspected): %w", ErrPasskeyRefused)
	}
	return PasskeyLogin{
		AccountID: pk.AccountID, CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		PasskeyID: pk.ID, Emergency: pk.Emergency,
	}, nil
}

// refuseLogin logs the reason and, when the passkey (so the organization)
// is known, audits it in that organization's log; unknown credentials and
// challenges are logged only, so anonymous traffic cannot fill a log.
func (p *Passkeys) refuseLogin(ctx context.Context, pk *storage.Passkey, reason string, cause error) error {
	attrs := []any{"reason", reason}
	detail := protocolDetail(cause)
	if cause != nil {
		attrs = append(attrs, "err", cause, "detail", detail)
	}
	if pk != nil {
		attrs = append(attrs, "account_id", pk.AccountID, "passkey_id", pk.ID)
		e := storage.AuditEvent{
			OrgID: pk.OrgID, Time: p.now(), Action: ActionPasskeyRefused,
			TargetType: "account", TargetID: pk.AccountID, Outcome: audit.OutcomeFailure, Reason: reason,
			Details: map[string]string{"passkey_id": pk.ID, "passkey_name": pk.Name},
		}
		if detail != "" {
			e.Details["detail"] = detail
		}
		if err := p.store.InTx(ctx, func(tx storage.Store) error { return auditTx(ctx, tx, e) }); err != nil {
			p.log.ErrorContext(ctx, "cannot audit a refused passkey sign-in", "err", err)
		}
	}
	p.log.InfoContext(ctx, "passkey sign-in refused", attrs...)
	return fmt.Errorf("mfa: passkey sign-in refused (%s): %w", reason, ErrPasskeyRefused)
}

// protocolDetail is what go-webauthn says went wrong, for logs and the
// audit event ("User verification required but flag not set by
// authenticator"); never shown to the person.
func protocolDetail(err error) string {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	d := pe.Details
	if pe.DevInfo != "" {
		d += ": " + pe.DevInfo
	}
	if len(d) > 200 {
		d = d[:200]
	}
	return d
}
