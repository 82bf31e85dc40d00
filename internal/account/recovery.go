package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// IssueRecoveryLink creates a one-time admin sign-in link for an owner or
// admin (the `gatehouse recover` path when every admin is locked out),
// valid SetupTTL, and audits it. Earlier unused recovery links of the
// account stop working. An email that names no active owner or admin is
// ErrNotFound.
func (s *Service) IssueRecoveryLink(ctx context.Context, email string) (string, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	what := "an active owner or admin with the email " + norm
	acct, err := s.store.GetAccountByEmail(ctx, norm)
	if err != nil {
		return "", mapErr(err, what)
	}
	if acct.Status != storage.StatusActive || !acct.Role.IsAdmin() {
		return "", notFound(what)
	}
	now := s.clock()
	var secret string
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.InvalidateTokens(ctx, acct.ID, storage.PurposeRecovery, now); err != nil {
			return fmt.Errorf("account: invalidate older recovery links: %w", err)
		}
		if secret, err = s.newOneTimeToken(ctx, tx, storage.PurposeRecovery, acct, s.cfg.SetupTTL, reqctx.From(ctx).IP, now); err != nil {
			return err
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: acct.OrgID, Action: "recovery.link_issued", TargetType: "account", TargetID: acct.ID,
			Details: map[string]string{"email": acct.Email, "expires_at": now.Add(s.cfg.SetupTTL).Format(time.RFC3339)},
		})
	})
	if err != nil {
		return "", err
	}
	s.mailRecoveryIssued(ctx, acct, now)
	return s.link("/recover", secret, ""), nil
}

// mailRecoveryIssued tells every active owner and admin of the account's
// organization, after the link's transaction committed, that a recovery
// link was issued from the server's command line: it bypasses every other
// way in, so nobody should learn of it only from the audit log.
func (s *Service) mailRecoveryIssued(ctx context.Context, acct storage.Account, now time.Time) {
	info := reqctx.From(ctx)
	by := "the server's command line (gatehouse recover)"
	if info.ActorType == "cli" && info.ActorID != "" {
		by = fmt.Sprintf("the server's command line (gatehouse recover, run by the system user %q)", info.ActorID)
	}
	notify.New(s.store, s.mailer, s.log).Send(ctx, acct.OrgID, "A recovery sign-in link was issued for "+acct.Email,
		fmt.Sprintf("A one-time sign-in link for %s was issued at %s from %s. It signs them in without SSO and without a password, "+
			"works once and expires at %s.\n\nIf nobody in your organization expected this, someone with access to the Gatehouse server "+
			"issued it: check the audit log (recovery.link_issued) and the server.\n",
			acct.Email, now.UTC().Format("2 Jan 2006, 15:04 UTC"), by, now.Add(s.cfg.SetupTTL).UTC().Format("2 Jan 2006, 15:04 UTC")))
}

// RedeemRecoveryLink consumes a recovery token and returns the admin
// account to start a session for (method "recovery").
func (s *Service) RedeemRecoveryLink(ctx context.Context, token string) (storage.Account, error) {
	now := s.clock()
	var acct storage.Account
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		tok, err := liveToken(ctx, tx, token, now, storage.PurposeRecovery)
		if err != nil {
			return err
		}
		acct, err = tx.GetAccount(ctx, tok.AccountID)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrInvalidLink
		}
		if err != nil {
			return fmt.Errorf("account: read account of recovery link: %w", err)
		}
		// Suspended or demoted since the link was issued: it no longer applies.
		if acct.Status != storage.StatusActive || !acct.Role.IsAdmin() {
			return ErrInvalidLink
		}
		if err := useToken(ctx, tx, tok, now); err != nil {
			return err
		}
		details := map[string]string{"email": acct.Email, "issued_at": tok.CreatedAt.Format(time.RFC3339)}
		if tok.RequestIP != "" {
			details["issued_from"] = tok.RequestIP
		}
		actx := reqctx.WithActor(ctx, "account", acct.ID, acct.Email)
		return s.record(actx, tx, now, storage.AuditEvent{
			OrgID: acct.OrgID, Action: "recovery.redeem", TargetType: "account", TargetID: acct.ID, Details: details,
		})
	})
	if err != nil {
		return storage.Account{}, err
	}
	return acct, nil
}
