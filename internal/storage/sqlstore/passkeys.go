package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const passkeyCols = `id, account_id, org_id, credential_id, public_key, attestation_type, attestation_format,
	aaguid, sign_count, transports, backup_eligible, backup_state, name, emergency, clone_suspected_at,
	created_at, last_used_at`

func scanPasskey(r scanner) (storage.Passkey, error) {
	var p storage.Passkey
	var count int64
	var transports string
	var be, bs, emergency int64
	var clone, created, used int64
	if err := r.Scan(&p.ID, &p.AccountID, &p.OrgID, &p.CredentialID, &p.PublicKey, &p.AttestationType,
		&p.AttestationFormat, &p.AAGUID, &count, &transports, &be, &bs, &p.Name, &emergency, &clone,
		&created, &used); err != nil {
		return p, err
	}
	p.SignCount = uint32(count)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.BackupEligible, p.BackupState, p.Emergency = be != 0, bs != 0, emergency != 0
	p.CloneSuspectedAt, p.CreatedAt, p.LastUsedAt = fromUS(clone), fromUS(created), fromUS(used)
	return p, nil
}

// joinTransports stores the transport list as one comma-separated column:
// transport names are short tokens; one with a comma is refused, not
// split into two.
func joinTransports(ts []string) (string, error) {
	for _, t := range ts {
		if t == "" || strings.Contains(t, ",") {
			return "", fmt.Errorf("sqlstore: passkey transport %q cannot be stored", t)
		}
	}
	return strings.Join(ts, ","), nil
}

// nonNil keeps NOT NULL byte columns from receiving a nil slice (NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreatePasskey stores p; ErrConflict on a duplicate ID or credential ID.
func (s *Store) CreatePasskey(ctx context.Context, p storage.Passkey) error {
	transports, err := joinTransports(p.Transports)
	if err != nil {
		return err
	}
	_, err = s.q().ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		p.ID, p.AccountID, p.OrgID, nonNil(p.CredentialID), nonNil(p.PublicKey), p.AttestationType,
		p.AttestationFormat, nonNil(p.AAGUID), int64(p.SignCount), transports, b2i(p.BackupEligible),
		b2i(p.BackupState), p.Name, b2i(p.Emergency), us(p.CloneSuspectedAt), us(p.CreatedAt), us(p.LastUsedAt))
	return wrapErr(err, "create passkey")
}

// GetPasskey returns the passkey with id.
func (s *Store) GetPasskey(ctx context.Context, id string) (storage.Passkey, error) {
	p, err := scanPasskey(s.q().QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE id = $1`, id))
	if err != nil {
		return storage.Passkey{}, wrapErr(err, "get passkey")
	}
	return p, nil
}

// GetPasskeyByCredentialID returns the passkey with the authenticator's
// credential ID.
func (s *Store) GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (storage.Passkey, error) {
	p, err := scanPasskey(s.q().QueryRowContext(ctx,
		`SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = $1`, nonNil(credentialID)))
	if err != nil {
		return storage.Passkey{}, wrapErr(err, "get passkey by credential ID")
	}
	return p, nil
}

// ListPasskeys returns the account's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, accountID string) ([]storage.Passkey, error) {
	rows, err := s.q().QueryContext(ctx,
		`SELECT `+passkeyCols+` FROM passkeys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, wrapErr(err, "list passkeys")
	}
	defer rows.Close()
	var out []storage.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, wrapErr(err, "list passkeys")
		}
		out = append(out, p)
	}
	return out, wrapErr(rows.Err(), "list passkeys")
}

// UpdatePasskey applies fn to the passkey under a row lock (PostgreSQL) or
// the write lock (SQLite): two sign-ins with one passkey are serialized,
// so a signature counter is checked against the value the other stored.
func (s *Store) UpdatePasskey(ctx context.Context, id string, fn func(p *storage.Passkey) error) (storage.Passkey, error) {
	var out storage.Passkey
	err := s.withTx(ctx, func(tx *Store) error {
		cur, err := scanPasskey(tx.q().QueryRowContext(ctx,
			`SELECT `+passkeyCols+` FROM passkeys WHERE id = $1`+tx.forUpdate(), id))
		if err != nil {
			return wrapErr(err, "update passkey: read")
		}
		next := cur
		next.Transports = append([]string(nil), cur.Transports...)
		if err := fn(&next); err != nil {
			return err
		}
		transports, err := joinTransports(next.Transports)
		if err != nil {
			return err
		}
		out, err = scanPasskey(tx.q().QueryRowContext(ctx, `UPDATE passkeys SET
				attestation_type = $2, attestation_format = $3, aaguid = $4, sign_count = $5, transports = $6,
				backup_eligible = $7, backup_state = $8, name = $9, emergency = $10, clone_suspected_at = $11,
				last_used_at = $12
			WHERE id = $1
			RETURNING `+passkeyCols,
			id, next.AttestationType, next.AttestationFormat, nonNil(next.AAGUID), int64(next.SignCount), transports,
			b2i(next.BackupEligible), b2i(next.BackupState), next.Name, b2i(next.Emergency),
			us(next.CloneSuspectedAt), us(next.LastUsedAt)))
		return wrapErr(err, "update passkey")
	})
	if err != nil {
		return storage.Passkey{}, err
	}
	return out, nil
}

// DeletePasskey removes the account's passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM passkeys WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return wrapErr(err, "delete passkey")
	}
	n, err := affected(res, "delete passkey")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: delete passkey %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

const passkeyChallengeCols = `id_hash, account_id, purpose, emergency, session, created_at, expires_at`

func scanPasskeyChallenge(r scanner) (storage.PasskeyChallenge, error) {
	var c storage.PasskeyChallenge
	var emergency, created, expires int64
	var session string
	if err := r.Scan(&c.IDHash, &c.AccountID, &c.Purpose, &emergency, &session, &created, &expires); err != nil {
		return c, err
	}
	c.Emergency, c.Session = emergency != 0, []byte(session)
	c.CreatedAt, c.ExpiresAt = fromUS(created), fromUS(expires)
	return c, nil
}

// CreatePasskeyChallenge stores c; ErrConflict on a duplicate IDHash.
func (s *Store) CreatePasskeyChallenge(ctx context.Context, c storage.PasskeyChallenge) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO passkey_challenges (`+passkeyChallengeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.IDHash, c.AccountID, c.Purpose, b2i(c.Emergency), string(c.Session), us(c.CreatedAt), us(c.ExpiresAt))
	return wrapErr(err, "create passkey challenge")
}

// ConsumePasskeyChallenge deletes the challenge and returns it in one
// statement: of two concurrent uses, the second deletes nothing.
func (s *Store) ConsumePasskeyChallenge(ctx context.Context, idHash string) (storage.PasskeyChallenge, error) {
	c, err := scanPasskeyChallenge(s.q().QueryRowContext(ctx,
		`DELETE FROM passkey_challenges WHERE id_hash = $1 RETURNING `+passkeyChallengeCols, idHash))
	if err != nil {
		return storage.PasskeyChallenge{}, wrapErr(err, "consume passkey challenge")
	}
	return c, nil
}

// DeleteExpiredPasskeyChallenges removes challenges that expired before now.
func (s *Store) DeleteExpiredPasskeyChallenges(ctx context.Context, now time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at < $1`, us(now))
	if err != nil {
		return 0, wrapErr(err, "delete expired passkey challenges")
	}
	return affected(res, "delete expired passkey challenges")
}
