package emergency

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Active returns orgID's emergency in force now, and false when there is
// none. Readers (read tokens included) may ask.
func (s *Service) Active(ctx context.Context, orgID string) (storage.Emergency, bool, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return storage.Emergency{}, false, err
	}
	e, err := s.store.OpenEmergency(ctx, orgID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Emergency{}, false, nil
	}
	if err != nil {
		return storage.Emergency{}, false, fmt.Errorf("emergency: active: %w", err)
	}
	if !e.InForce(s.now()) {
		return storage.Emergency{}, false, nil
	}
	return e, true, nil
}

// History returns orgID's emergencies, newest first (at most 100).
func (s *Service) History(ctx context.Context, orgID string) ([]storage.Emergency, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	es, err := s.store.ListEmergencies(ctx, orgID, 100)
	if err != nil {
		return nil, fmt.Errorf("emergency: history: %w", err)
	}
	return es, nil
}

// Get returns orgID's emergency id.
func (s *Service) Get(ctx context.Context, orgID, id string) (storage.Emergency, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return storage.Emergency{}, err
	}
	e, err := s.store.GetEmergency(ctx, orgID, id)
	if err != nil {
		return storage.Emergency{}, mapStore(err)
	}
	return e, nil
}

// SignIn is a session made during an emergency, for the admins' list.
type SignIn struct {
	Session storage.Session
	Email   string // the account's address ("" if it is gone)
}

// SignIns lists the sessions made during orgID's emergency id, newest first.
func (s *Service) SignIns(ctx context.Context, orgID, id string) ([]SignIn, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	if _, err := s.store.GetEmergency(ctx, orgID, id); err != nil {
		return nil, mapStore(err)
	}
	sess, err := s.store.ListEmergencySessions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("emergency: sign-ins: %w", err)
	}
	emails := map[string]string{}
	out := make([]SignIn, 0, len(sess))
	for _, x := range sess {
		if x.OrgID != orgID {
			continue
		}
		email, ok := emails[x.AccountID]
		if !ok {
			if a, err := s.store.GetAccount(ctx, x.AccountID); err == nil {
				email = a.Email
			}
			emails[x.AccountID] = email
		}
		out = append(out, SignIn{Session: x, Email: email})
	}
	return out, nil
}

// SignOut ends, on every node, the live sessions made during orgID's
// emergency id, whether or not it is still in force, and returns how many.
// Audited as "emergency.sign_out".
func (s *Service) SignOut(ctx context.Context, orgID, id string) (int, error) {
	now := s.now()
	var n int
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := tx.GetEmergency(ctx, orgID, id); err != nil {
			return mapStore(err)
		}
		revoked, err := tx.RevokeEmergencySessions(ctx, id, revokeReason, now)
		if err != nil {
			return fmt.Errorf("emergency: sign out: %w", err)
		}
		for _, x := range revoked {
			if err := tx.PublishInvalidation(ctx, invalidateSession, x.ID, now); err != nil {
				return fmt.Errorf("emergency: sign out: %w", err)
			}
		}
		n = len(revoked)
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: orgID, Time: now, Action: "emergency.sign_out", TargetType: "emergency", TargetID: id,
			Details: map[string]string{"sessions_revoked": strconv.Itoa(n)},
		})
	})
	return n, err
}
