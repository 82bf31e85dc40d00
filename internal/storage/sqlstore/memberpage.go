package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The member page's audit excerpt: its default size and ceiling.
const (
	defaultAboutLimit = 20
	maxAboutLimit     = 100
)

// LastSession returns the account's newest session, whatever its state.
// The sessions_account index (account_id, created_at) serves it.
func (s *Store) LastSession(ctx context.Context, accountID string) (storage.Session, error) {
	sess, err := scanSession(s.q().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, accountID))
	return sess, wrapErr(err, "last session of account %q", accountID)
}

// LastSignInAt reads the account's last_sign_in_at.
func (s *Store) LastSignInAt(ctx context.Context, accountID string) (time.Time, error) {
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT last_sign_in_at FROM accounts WHERE id = $1`, accountID).Scan(&at)
	return fromUS(at), wrapErr(err, "last sign-in of account %q", accountID)
}

// ListAuditAbout returns the newest events naming the account as target or
// actor. Each side is cut to limit on its own index (org_id, target_id,
// seq) and (org_id, actor_id, seq) before the two are merged, so the cost
// follows limit, not the length of the log or of the person's history.
func (s *Store) ListAuditAbout(ctx context.Context, orgID, accountID string, limit int) ([]storage.AuditEvent, error) {
	switch {
	case limit <= 0:
		limit = defaultAboutLimit
	case limit > maxAboutLimit:
		limit = maxAboutLimit
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events
		WHERE org_id = $1 AND seq IN (
			SELECT seq FROM (SELECT seq FROM audit_events WHERE org_id = $1 AND target_id = $2
				ORDER BY seq DESC LIMIT $3) t
			UNION
			SELECT seq FROM (SELECT seq FROM audit_events WHERE org_id = $1 AND actor_id = $2
				ORDER BY seq DESC LIMIT $3) a)
		ORDER BY seq DESC LIMIT $3`, orgID, accountID, limit)
	if err != nil {
		return nil, wrapErr(err, "list audit events about account %q", accountID)
	}
	out, err := collect(rows, scanAudit)
	return out, wrapErr(err, "list audit events about account %q", accountID)
}

// ExplicitPolicy returns the named policy the account is a member of.
func (s *Store) ExplicitPolicy(ctx context.Context, orgID, accountID string) (string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT policy_id FROM policy_members
		WHERE org_id = $1 AND account_id = $2`, orgID, accountID)
	if err != nil {
		return "", wrapErr(err, "policy membership of account %q", accountID)
	}
	ids, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil || len(ids) == 0 {
		return "", wrapErr(err, "policy membership of account %q", accountID)
	}
	return ids[0], nil
}

// DeleteSSOLink removes one link.
func (s *Store) DeleteSSOLink(ctx context.Context, connectionID, subject string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sso_links WHERE connection_id = $1 AND subject = $2`,
		connectionID, subject)
	if err != nil {
		return wrapErr(err, "delete SSO link at connection %q", connectionID)
	}
	return requireDeleted(res, "delete SSO link at connection %q", connectionID)
}

// DeleteAccount removes the account; the tables that reference it by
// foreign key follow by ON DELETE CASCADE. One-time tokens, sign-in flows
// and passkey ceremonies carry the account ID without a key (the set-up
// token has none), so they are removed here.
func (s *Store) DeleteAccount(ctx context.Context, orgID, id string) error {
	for _, q := range []string{
		`DELETE FROM one_time_tokens WHERE account_id = $1 AND account_id <> ''`,
		`DELETE FROM login_flows WHERE account_id = $1 AND account_id <> ''`,
		`DELETE FROM passkey_challenges WHERE account_id = $1 AND account_id <> ''`,
	} {
		if _, err := s.q().ExecContext(ctx, q, id); err != nil {
			return wrapErr(err, "delete account %q", id)
		}
	}
	res, err := s.q().ExecContext(ctx, `DELETE FROM accounts WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return wrapErr(err, "delete account %q", id)
	}
	return requireDeleted(res, "delete account %q", id)
}
