package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// outcomeColumn maps an outcome kind to its sso_outcomes column; the
// column name is spliced into SQL, so only these constants ever are.
func outcomeColumn(kind string) (string, error) {
	switch kind {
	case storage.OutcomeStarted, storage.OutcomeSucceeded, storage.OutcomeIdPError,
		storage.OutcomeInvalid, storage.OutcomeAbandoned:
		return kind, nil
	}
	return "", fmt.Errorf("sqlstore: unknown SSO outcome kind %q", kind)
}

// minuteOf is the start of t's minute in microseconds.
func minuteOf(t time.Time) int64 { return us(t.UTC().Truncate(time.Minute)) }

// RecordSSOOutcome adds n to one count of a minute bucket in one upsert, so
// concurrent sign-ins on several nodes all count without a read in Go.
func (s *Store) RecordSSOOutcome(ctx context.Context, connectionID, kind string, at time.Time, n int) error {
	col, err := outcomeColumn(kind)
	if err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	_, err = s.q().ExecContext(ctx, `INSERT INTO sso_outcomes (connection_id, minute, `+col+`)
		VALUES ($1, $2, $3)
		ON CONFLICT (connection_id, minute) DO UPDATE SET `+col+` = sso_outcomes.`+col+` + $3`,
		connectionID, minuteOf(at), int64(n))
	if err != nil {
		return wrapErr(err, "record SSO outcome at connection %q", connectionID)
	}
	if kind == storage.OutcomeStarted {
		return nil
	}
	// Only a later ending replaces the stored one: nodes and abandoned
	// claims report out of order.
	_, err = s.q().ExecContext(ctx, `INSERT INTO sso_last_outcomes (connection_id, kind, at)
		VALUES ($1, $2, $3)
		ON CONFLICT (connection_id) DO UPDATE SET kind = $2, at = $3
		WHERE sso_last_outcomes.at <= $3`,
		connectionID, kind, us(at))
	return wrapErr(err, "record last SSO outcome at connection %q", connectionID)
}

const outcomeSums = `COALESCE(SUM(started), 0), COALESCE(SUM(succeeded), 0), COALESCE(SUM(idp_error), 0),
	COALESCE(SUM(invalid), 0), COALESCE(SUM(abandoned), 0)`

// SumSSOOutcomes sums the buckets in [since, until).
func (s *Store) SumSSOOutcomes(ctx context.Context, connectionID string, since, until time.Time) (storage.SSOOutcomeBucket, error) {
	b := storage.SSOOutcomeBucket{ConnectionID: connectionID}
	var st, ok, ie, inv, ab int64
	err := s.q().QueryRowContext(ctx, `SELECT `+outcomeSums+` FROM sso_outcomes
		WHERE connection_id = $1 AND minute >= $2 AND minute < $3`,
		connectionID, us(since), us(until)).Scan(&st, &ok, &ie, &inv, &ab)
	if err != nil {
		return b, wrapErr(err, "sum SSO outcomes at connection %q", connectionID)
	}
	b.Started, b.Succeeded, b.IdPError, b.Invalid, b.Abandoned = int(st), int(ok), int(ie), int(inv), int(ab)
	return b, nil
}

// ListSSOOutcomes returns the buckets in [since, until), oldest first.
func (s *Store) ListSSOOutcomes(ctx context.Context, connectionID string, since, until time.Time) ([]storage.SSOOutcomeBucket, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT connection_id, minute, started, succeeded, idp_error, invalid, abandoned
		FROM sso_outcomes WHERE connection_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute`,
		connectionID, us(since), us(until))
	if err != nil {
		return nil, wrapErr(err, "list SSO outcomes at connection %q", connectionID)
	}
	out, err := collect(rows, func(r scanner) (storage.SSOOutcomeBucket, error) {
		var b storage.SSOOutcomeBucket
		var m, st, ok, ie, inv, ab int64
		err := r.Scan(&b.ConnectionID, &m, &st, &ok, &ie, &inv, &ab)
		b.Minute = fromUS(m)
		b.Started, b.Succeeded, b.IdPError, b.Invalid, b.Abandoned = int(st), int(ok), int(ie), int(inv), int(ab)
		return b, err
	})
	return out, wrapErr(err, "list SSO outcomes at connection %q", connectionID)
}

// LastSSOOutcome returns the connection's most recent ending.
func (s *Store) LastSSOOutcome(ctx context.Context, connectionID string) (storage.SSOLastOutcome, error) {
	o := storage.SSOLastOutcome{ConnectionID: connectionID}
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT kind, at FROM sso_last_outcomes WHERE connection_id = $1`, connectionID).Scan(&o.Kind, &at)
	o.At = fromUS(at)
	return o, wrapErr(err, "last SSO outcome at connection %q", connectionID)
}

// ClaimAbandonedAuthnRequests marks and returns the requests that expired
// unused. The UPDATE's abandon_claimed = 0 condition is the arbiter: of two
// nodes claiming at once each row goes to exactly one.
func (s *Store) ClaimAbandonedAuthnRequests(ctx context.Context, now time.Time) ([]storage.AuthnRequest, error) {
	rows, err := s.q().QueryContext(ctx, `UPDATE authn_requests SET abandon_claimed = 1
		WHERE used_at = 0 AND abandon_claimed = 0 AND expires_at <= $1
		RETURNING `+authnRequestCols, us(now))
	if err != nil {
		return nil, wrapErr(err, "claim abandoned AuthnRequests")
	}
	out, err := collect(rows, scanAuthnRequest)
	return out, wrapErr(err, "claim abandoned AuthnRequests")
}

// MarkAuthnRequestCounted keeps a request from being claimed as abandoned.
func (s *Store) MarkAuthnRequestCounted(ctx context.Context, id string) error {
	_, err := s.q().ExecContext(ctx, `UPDATE authn_requests SET abandon_claimed = 1 WHERE id = $1`, id)
	return wrapErr(err, "mark AuthnRequest %q counted", id)
}

// DeleteSSOOutcomes removes buckets older than cutoff.
func (s *Store) DeleteSSOOutcomes(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sso_outcomes WHERE minute < $1`, us(cutoff))
	if err != nil {
		return 0, wrapErr(err, "delete old SSO outcomes")
	}
	return affected(res, "delete old SSO outcomes")
}

// RecordSSOCheck appends a check result.
func (s *Store) RecordSSOCheck(ctx context.Context, c storage.SSOCheck) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO sso_checks (connection_id, kind, at, ok, latency_us, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ConnectionID, c.Kind, us(c.At), b2i(c.OK), c.Latency.Microseconds(), c.Detail)
	return wrapErr(err, "record SSO check at connection %q", c.ConnectionID)
}

// ListSSOChecks returns checks newest first.
func (s *Store) ListSSOChecks(ctx context.Context, connectionID, kind string, limit int) ([]storage.SSOCheck, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.q().QueryContext(ctx, `SELECT connection_id, kind, at, ok, latency_us, detail FROM sso_checks
		WHERE connection_id = $1 AND ($2 = '' OR kind = $2) ORDER BY at DESC LIMIT $3`,
		connectionID, kind, limit)
	if err != nil {
		return nil, wrapErr(err, "list SSO checks at connection %q", connectionID)
	}
	out, err := collect(rows, func(r scanner) (storage.SSOCheck, error) {
		var c storage.SSOCheck
		var at, ok, lat int64
		err := r.Scan(&c.ConnectionID, &c.Kind, &at, &ok, &lat, &c.Detail)
		c.At, c.OK, c.Latency = fromUS(at), ok != 0, time.Duration(lat)*time.Microsecond
		return c, err
	})
	return out, wrapErr(err, "list SSO checks at connection %q", connectionID)
}

// DeleteSSOChecks removes checks made before cutoff.
func (s *Store) DeleteSSOChecks(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sso_checks WHERE at < $1`, us(cutoff))
	if err != nil {
		return 0, wrapErr(err, "delete old SSO checks")
	}
	return affected(res, "delete old SSO checks")
}

const incidentCols = `id, org_id, connection_id, cause, started_at, ended_at, failing_at, details`

func scanIncident(r scanner) (storage.SSOIncident, error) {
	var i storage.SSOIncident
	var st, en, fa int64
	err := r.Scan(&i.ID, &i.OrgID, &i.ConnectionID, &i.Cause, &st, &en, &fa, &i.Details)
	i.StartedAt, i.EndedAt, i.LastFailingAt = fromUS(st), fromUS(en), fromUS(fa)
	return i, err
}

// OpenSSOIncident inserts an open incident. ON CONFLICT DO NOTHING rather
// than a failing INSERT keeps a PostgreSQL transaction usable when another
// node opened one first.
func (s *Store) OpenSSOIncident(ctx context.Context, inc storage.SSOIncident) error {
	res, err := s.q().ExecContext(ctx, `INSERT INTO sso_incidents (`+incidentCols+`)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7) ON CONFLICT DO NOTHING`,
		inc.ID, inc.OrgID, inc.ConnectionID, inc.Cause, us(inc.StartedAt), us(inc.LastFailingAt), inc.Details)
	if err != nil {
		return wrapErr(err, "open SSO incident at connection %q", inc.ConnectionID)
	}
	n, err := affected(res, "open SSO incident at connection %q", inc.ConnectionID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: open SSO incident at connection %q: one is open already: %w", inc.ConnectionID, storage.ErrConflict)
	}
	return nil
}

// CloseSSOIncident ends an open incident; the ended_at = 0 condition makes
// the UPDATE the arbiter between nodes.
func (s *Store) CloseSSOIncident(ctx context.Context, id string, endedAt time.Time) (storage.SSOIncident, error) {
	inc, err := scanIncident(s.q().QueryRowContext(ctx, `UPDATE sso_incidents SET ended_at = $2
		WHERE id = $1 AND ended_at = 0 RETURNING `+incidentCols, id, us(endedAt)))
	if err == nil {
		return inc, nil
	}
	if !isNoRows(err) {
		return inc, wrapErr(err, "close SSO incident %q", id)
	}
	var one int
	if err := s.q().QueryRowContext(ctx, `SELECT 1 FROM sso_incidents WHERE id = $1`, id).Scan(&one); err != nil {
		return storage.SSOIncident{}, wrapErr(err, "close SSO incident %q", id)
	}
	return storage.SSOIncident{}, fmt.Errorf("sqlstore: close SSO incident %q: closed already: %w", id, storage.ErrConflict)
}

// MarkSSOIncidentFailing moves failing_at forward on an open incident.
func (s *Store) MarkSSOIncidentFailing(ctx context.Context, id string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `UPDATE sso_incidents SET failing_at = $2
		WHERE id = $1 AND ended_at = 0 AND failing_at < $2`, id, us(at))
	return wrapErr(err, "mark SSO incident %q failing", id)
}

// GetOpenSSOIncident returns the connection's open incident.
func (s *Store) GetOpenSSOIncident(ctx context.Context, connectionID string) (storage.SSOIncident, error) {
	inc, err := scanIncident(s.q().QueryRowContext(ctx, `SELECT `+incidentCols+` FROM sso_incidents
		WHERE connection_id = $1 AND ended_at = 0`, connectionID))
	return inc, wrapErr(err, "open SSO incident at connection %q", connectionID)
}

// ListSSOIncidents returns orgID's open incidents and those ended since.
func (s *Store) ListSSOIncidents(ctx context.Context, orgID string, since time.Time) ([]storage.SSOIncident, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+incidentCols+` FROM sso_incidents
		WHERE org_id = $1 AND (ended_at = 0 OR ended_at >= $2) ORDER BY started_at DESC, id`, orgID, us(since))
	if err != nil {
		return nil, wrapErr(err, "list SSO incidents")
	}
	out, err := collect(rows, scanIncident)
	return out, wrapErr(err, "list SSO incidents")
}

// RecordSSOCertNotice stores a sent notice; ErrConflict if stored before.
func (s *Store) RecordSSOCertNotice(ctx context.Context, n storage.SSOCertNotice) error {
	res, err := s.q().ExecContext(ctx, `INSERT INTO sso_cert_notices (connection_id, fingerprint, days, sent_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, n.ConnectionID, n.Fingerprint, n.Days, us(n.SentAt))
	if err != nil {
		return wrapErr(err, "record certificate notice at connection %q", n.ConnectionID)
	}
	c, err := affected(res, "record certificate notice at connection %q", n.ConnectionID)
	if err != nil {
		return err
	}
	if c == 0 {
		return fmt.Errorf("sqlstore: certificate notice at connection %q: sent already: %w", n.ConnectionID, storage.ErrConflict)
	}
	return nil
}
