package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

const auditCols = `org_id, seq, id, event_time, actor_type, actor_id, actor_email, action,
	target_type, target_id, outcome, reason, ip, user_agent, request_id, details, prev_hash, hash`

// ListAudit's page size when the filter sets none, and its ceiling.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

func scanAudit(r scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	var at int64
	var details string
	if err := r.Scan(&e.OrgID, &e.Seq, &e.ID, &at, &e.ActorType, &e.ActorID, &e.ActorEmail, &e.Action,
		&e.TargetType, &e.TargetID, &e.Outcome, &e.Reason, &e.IP, &e.UserAgent, &e.RequestID,
		&details, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = fromUS(at)
	if details != "" && details != "{}" {
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return e, fmt.Errorf("decode details of audit event %s: %w", e.ID, err)
		}
	}
	return e, nil
}

// AppendAudit appends e to its organization's chain and fills in e.Seq,
// e.PrevHash, e.Hash (and e.ID and a microsecond-truncated e.Time).
//
// The chain head row in audit_heads is the per-organization serialization
// point. One upsert claims the next seq and returns the previous hash; it
// takes the head's row lock on PostgreSQL (held until commit, so a
// concurrent append for the same organization waits and then sees the new
// head), and on SQLite the transaction already holds the write lock. Appends
// to different organizations do not wait for each other on PostgreSQL.
func (s *Store) AppendAudit(ctx context.Context, e *storage.AuditEvent) error {
	orig := *e
	var done storage.AuditEvent
	err := s.withTx(ctx, func(tx *Store) error {
		ev := orig // a retried transaction starts again from the caller's event
		if ev.ID == "" {
			ev.ID = uuid.NewString()
		}
		ev.Time = storage.Truncate(ev.Time)
		var maxTime int64
		if err := tx.q().QueryRowContext(ctx, `INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 1, '')
			ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq + 1
			RETURNING seq, hash, max_time`, ev.OrgID).Scan(&ev.Seq, &ev.PrevHash, &maxTime); err != nil {
			return wrapErr(err, "append audit event: claim chain head of organization %q", ev.OrgID)
		}
		// The running maximum of event times along the chain lets
		// ListAudit turn a time range into a seq range (auditSeqBounds).
		at := us(ev.Time)
		if ev.Seq == 1 || at > maxTime {
			maxTime = at
		}
		ev.Hash = storage.HashAuditEvent(ev)
		details := []byte("{}")
		if len(ev.Details) > 0 {
			var err error
			if details, err = json.Marshal(ev.Details); err != nil {
				return fmt.Errorf("sqlstore: append audit event: encode details: %w", err)
			}
		}
		if _, err := tx.q().ExecContext(ctx, `INSERT INTO audit_events (`+auditCols+`, max_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			ev.OrgID, ev.Seq, ev.ID, at, ev.ActorType, ev.ActorID, ev.ActorEmail, ev.Action,
			ev.TargetType, ev.TargetID, ev.Outcome, ev.Reason, ev.IP, ev.UserAgent, ev.RequestID,
			string(details), ev.PrevHash, ev.Hash, maxTime); err != nil {
			return wrapErr(err, "append audit event %q", ev.ID)
		}
		if _, err := tx.q().ExecContext(ctx, `UPDATE audit_heads SET hash = $2, event_time = $3, max_time = $4
			WHERE org_id = $1`, ev.OrgID, ev.Hash, at, maxTime); err != nil {
			return wrapErr(err, "append audit event: advance chain head of organization %q", ev.OrgID)
		}
		// The head goes to the log only once it is committed: a logged head
		// that a rollback undid would later read as a truncated chain.
		head := storage.AuditHead{OrgID: ev.OrgID, Seq: ev.Seq, Hash: ev.Hash, Time: ev.Time}
		*tx.afterCommit = append(*tx.afterCommit, func() { tx.logHead(ctx, head) })
		done = ev
		return nil
	})
	if err != nil {
		return err
	}
	*e = done
	return nil
}

// logHead writes one log line per committed append. The lines are a copy of
// the chain head outside the database: someone who can rewrite the audit
// tables (events and head alike) cannot unwrite a log shipped elsewhere.
func (s *Store) logHead(ctx context.Context, h storage.AuditHead) {
	s.logger.InfoContext(ctx, "audit chain head", "org_id", h.OrgID, "seq", h.Seq, "hash", h.Hash,
		"time", h.Time.UTC().Format(time.RFC3339Nano))
}

// AuditHead returns orgID's chain head, or the zero head of a chain never
// appended to.
func (s *Store) AuditHead(ctx context.Context, orgID string) (storage.AuditHead, error) {
	h := storage.AuditHead{OrgID: orgID}
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT seq, hash, event_time FROM audit_heads WHERE org_id = $1`, orgID).
		Scan(&h.Seq, &h.Hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil
	}
	if err != nil {
		return storage.AuditHead{}, wrapErr(err, "read chain head of organization %q", orgID)
	}
	h.Time = fromUS(at)
	return h, nil
}

// ListAudit returns one organization's matching events in chain order,
// or newest first.
//
// Every page is a keyset range over (org_id, seq), never an OFFSET, so a
// deep page costs what the first one does. An actor filter matches either
// of two columns; rather than an OR, which neither planner serves from an
// index in seq order, each column is read from its own (org_id, column,
// seq) index up to the page size and the two short lists are merged.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	// arg binds v and returns its placeholder, so each condition below is
	// written with the placeholder it gets; no SQL text is rewritten.
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	org := arg(f.OrgID)
	where := []string{"org_id = " + org}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		if prefix != "" {
			// LIKE narrows with a prefix pattern; the substr comparison makes
			// the match exact-case on SQLite too, whose LIKE ignores ASCII case.
			where = append(where, "action LIKE "+arg(escapeLike(prefix)+"%")+` ESCAPE '\'`+
				" AND substr(action, 1, "+arg(utf8.RuneCountInString(prefix))+") = "+arg(prefix))
		}
	} else if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	for _, c := range [...]struct{ col, v string }{{"outcome", f.Outcome}, {"target_type", f.TargetType}, {"target_id", f.TargetID}} {
		if c.v != "" {
			where = append(where, c.col+" = "+arg(c.v))
		}
	}
	// A time range is where the planners go wrong: they take matches to
	// be spread evenly over the chain, but a range's events are
	// contiguous in seq, so walking the seq index from the top to find a
	// page of last March's events reads everything since. sortTimeRange
	// decides: read the range through the (org_id, event_time, seq) index
	// and sort it, or walk the chain in seq order to where the range is.
	var timeConds []string
	if !f.Since.IsZero() {
		timeConds = append(timeConds, "event_time >= "+arg(us(f.Since)))
	}
	if !f.Until.IsZero() {
		timeConds = append(timeConds, "event_time < "+arg(us(f.Until)))
	}
	sortRange := false
	if len(timeConds) > 0 {
		b, err := s.auditSeqBounds(ctx, f)
		if err != nil {
			return nil, err
		}
		if sortRange, err = s.sortTimeRange(ctx, f, b); err != nil {
			return nil, err
		}
		if !sortRange {
			// Unary plus keeps SQLite off the time index; PostgreSQL's
			// planner needs no hint for a wide range. The seq bounds
			// hold every event of the range, so the walk starts where
			// the range ends rather than at the top of the chain.
			for i, c := range timeConds {
				timeConds[i] = "+" + c
			}
			if b.lo > 0 {
				where = append(where, "seq > "+arg(b.lo))
			}
			if b.hi > 0 {
				where = append(where, "seq < "+arg(b.hi))
			}
		}
		where = append(where, timeConds...)
	}
	if f.AfterSeq > 0 {
		where = append(where, "seq > "+arg(f.AfterSeq))
	}
	if f.BeforeSeq > 0 {
		where = append(where, "seq < "+arg(f.BeforeSeq))
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultAuditLimit
	case limit > maxAuditLimit:
		limit = maxAuditLimit
	}
	order := "seq"
	if sortRange {
		order = "seq + 0" // an expression: sorted, not read in index order
	}
	if f.Newest {
		order += " DESC"
	}
	lim := arg(limit)
	cond := strings.Join(where, " AND ")
	query := `SELECT ` + auditCols + ` FROM audit_events WHERE ` + cond + ` ORDER BY ` + order + ` LIMIT ` + lim
	if sortRange {
		// The page's seqs come from the time index alone (it covers seq);
		// only the page's rows are then read.
		query = `SELECT ` + auditCols + ` FROM audit_events WHERE org_id = ` + org + ` AND seq IN (SELECT seq FROM audit_events WHERE ` +
			cond + ` ORDER BY ` + order + ` LIMIT ` + lim + `) ORDER BY ` + strings.Replace(order, "seq + 0", "seq", 1) + ` LIMIT ` + lim
	}
	if f.ActorID != "" {
		who := arg(f.ActorID)
		branch := func(col, alias string) string {
			return `SELECT seq FROM (SELECT seq FROM audit_events WHERE ` + cond + ` AND ` + col + ` = ` + who +
				` ORDER BY ` + order + ` LIMIT ` + lim + `) ` + alias
		}
		query = `SELECT ` + auditCols + ` FROM audit_events WHERE org_id = ` + org + ` AND seq IN (` +
			branch("actor_id", "by_id") + ` UNION ` + branch("actor_email", "by_email") +
			`) ORDER BY ` + order + ` LIMIT ` + lim
	}
	rows, err := s.q().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr(err, "list audit events of organization %q", f.OrgID)
	}
	out, err := collect(rows, scanAudit)
	return out, wrapErr(err, "list audit events of organization %q", f.OrgID)
}

// ListAudit sorts a time range that holds at most auditRangeSort events;
// a larger one it sorts only when the walk in seq order from the cursor
// would first pass more than auditWalkMax events outside the range.
// Variables so tests can reach every plan.
var (
	auditRangeSort = 20000
	auditWalkMax   = 50000
)

// sortTimeRange reports whether ListAudit should read f's time range
// through the time index and sort it rather than walk the chain in seq
// order from f's cursor. Both plans return the same page; this picks the
// one that reads fewer rows, from a bounded count and the seq at the
// range's near edge. The walk starts at the cursor or at b, the range's
// seq bounds, whichever is nearer the range.
func (s *Store) sortTimeRange(ctx context.Context, f storage.AuditFilter, b seqBounds) (bool, error) {
	args := []any{f.OrgID}
	q := `SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE org_id = $1`
	if !f.Since.IsZero() {
		args = append(args, us(f.Since))
		q += fmt.Sprintf(" AND event_time >= $%d", len(args))
	}
	if !f.Until.IsZero() {
		args = append(args, us(f.Until))
		q += fmt.Sprintf(" AND event_time < $%d", len(args))
	}
	var n int
	if err := s.q().QueryRowContext(ctx, q+` LIMIT `+strconv.Itoa(auditRangeSort+1)+`) r`, args...).Scan(&n); err != nil {
		return false, wrapErr(err, "count audit events of organization %q in a time range", f.OrgID)
	}
	if n <= auditRangeSort {
		return true, nil
	}
	// Newest first the walk starts at the cursor (or the top) and reaches
	// the range at its end; in chain order it starts after the cursor and
	// reaches the range at its start. A range open on the walk's side
	// begins where the walk does.
	var edge, from int64
	var err error
	switch {
	case f.Newest && !f.Until.IsZero():
		edge, err = s.auditSeqAt(ctx, f.OrgID, `event_time < $2 ORDER BY event_time DESC`, us(f.Until))
		from = f.BeforeSeq
		if b.hi > 0 && (from == 0 || b.hi < from) {
			from = b.hi
		}
		if from == 0 && err == nil {
			from, err = s.auditSeqAt(ctx, f.OrgID, `1 = 1 ORDER BY seq DESC`)
		}
		return from-edge > int64(auditWalkMax), err
	case !f.Newest && !f.Since.IsZero():
		edge, err = s.auditSeqAt(ctx, f.OrgID, `event_time >= $2 ORDER BY event_time`, us(f.Since))
		return edge-max(f.AfterSeq, b.lo) > int64(auditWalkMax), err
	}
	return false, nil
}

// auditSeqAt is the seq of the first event of orgID that rest (a
// condition and an ORDER BY, with $2 bound to arg) selects, or 0.
func (s *Store) auditSeqAt(ctx context.Context, orgID, rest string, arg ...any) (int64, error) {
	var seq int64
	err := s.q().QueryRowContext(ctx, `SELECT seq FROM audit_events WHERE org_id = $1 AND `+rest+` LIMIT 1`,
		append([]any{orgID}, arg...)...).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, wrapErr(err, "locate a time in the audit chain of organization %q", orgID)
}

// escapeLike makes s match literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
