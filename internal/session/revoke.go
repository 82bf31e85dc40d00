package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Invalidation kinds this package publishes and consumes.
const (
	kindSession = "session" // key: session ID
	kindAccount = "account" // key: account ID; every session of the account
)

// Logout revokes the session token belongs to and audits "logout".
// It returns ErrInvalid for a token that names no session; logging out of an
// already revoked session succeeds without a second audit event.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return ErrInvalid
	}
	sess, err := s.store.GetSessionByTokenHash(ctx, hashHex(tokenSum(token)))
	if errors.Is(err, storage.ErrNotFound) {
		return ErrInvalid
	}
	if err != nil {
		return fmt.Errorf("session: logout: %w", err)
	}
	if !sess.RevokedAt.IsZero() {
		s.cache.dropSession(sess.ID)
		return nil
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// The email makes the log readable after the account is gone.
		email := ""
		if a, err := tx.GetAccount(ctx, sess.AccountID); err == nil {
			email = a.Email
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("session: logout: %w", err)
		}
		if err := tx.RevokeSession(ctx, sess.ID, "logout", now); err != nil {
			return fmt.Errorf("session: logout: %w", err)
		}
		if err := tx.PublishInvalidation(ctx, kindSession, sess.ID, now); err != nil {
			return fmt.Errorf("session: logout: %w", err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID:      sess.OrgID,
			Time:       now,
			ActorType:  "account",
			ActorID:    sess.AccountID,
			ActorEmail: email,
			Action:     "logout",
			TargetType: "session",
			TargetID:   sess.ID,
		})
	})
	if err != nil {
		return err
	}
	s.cache.dropSession(sess.ID)
	return nil
}

// Revoke revokes one session of accountID (ErrInvalid if it is not that
// account's) and audits "session.revoke". The actor comes from ctx (see
// reqctx). Revoking an already revoked session succeeds without a second
// audit event.
func (s *Service) Revoke(ctx context.Context, accountID, sessionID, reason string) error {
	sess, err := s.store.GetSession(ctx, sessionID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrInvalid
	}
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if sess.AccountID != accountID {
		return ErrInvalid
	}
	if !sess.RevokedAt.IsZero() {
		s.cache.dropSession(sess.ID)
		return nil
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.RevokeSession(ctx, sess.ID, reason, now); err != nil {
			return fmt.Errorf("session: revoke: %w", err)
		}
		if err := tx.PublishInvalidation(ctx, kindSession, sess.ID, now); err != nil {
			return fmt.Errorf("session: revoke: %w", err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID:      sess.OrgID,
			Time:       now,
			Action:     "session.revoke",
			TargetType: "session",
			TargetID:   sess.ID,
			Reason:     reason,
			Details:    map[string]string{"account_id": accountID},
		})
	})
	if err != nil {
		return err
	}
	s.cache.dropSession(sess.ID)
	return nil
}

// RevokeAll revokes every session of the account except exceptSessionID,
// audits "session.revoke_all" and returns how many ended. The actor comes
// from ctx. The event is written even when no session was live, because the
// request itself is worth a line in the log.
func (s *Service) RevokeAll(ctx context.Context, accountID, exceptSessionID, reason string) (int, error) {
	now := s.now()
	var n int
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := tx.GetAccount(ctx, accountID)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrInvalid
		}
		if err != nil {
			return fmt.Errorf("session: revoke all: %w", err)
		}
		n, err = tx.RevokeAccountSessions(ctx, accountID, exceptSessionID, reason, now)
		if err != nil {
			return fmt.Errorf("session: revoke all: %w", err)
		}
		// One account-wide invalidation, not one per session: other nodes
		// drop the kept session too and reload it on its next request,
		// which is cheaper than learning which IDs were revoked.
		if err := tx.PublishInvalidation(ctx, kindAccount, accountID, now); err != nil {
			return fmt.Errorf("session: revoke all: %w", err)
		}
		details := map[string]string{"revoked": strconv.Itoa(n)}
		if exceptSessionID != "" {
			details["kept_session_id"] = exceptSessionID
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID:      a.OrgID,
			Time:       now,
			Action:     "session.revoke_all",
			TargetType: "account",
			TargetID:   accountID,
			Reason:     reason,
			Details:    details,
		})
	})
	if err != nil {
		return 0, err
	}
	s.cache.dropAccount(accountID)
	return n, nil
}

// Forget drops the sessions with these IDs from this node's cache, for a
// caller that revoked them in the database itself (ending an emergency
// signs out its sessions in the same transaction as the end). Other nodes
// drop them when they read the invalidation feed the caller published.
func (s *Service) Forget(ids ...string) {
	for _, id := range ids {
		s.cache.dropSession(id)
	}
}
