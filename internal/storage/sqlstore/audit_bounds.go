package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// An event whose time lies more than backstepSlack microseconds below the
// running maximum before it (a node's clock behind the others', or set
// back) is a backstep, listed in the audit_events_org_backsteps index.
// backstepPred is that index's predicate, word for word, so both planners
// read the index for it.
const (
	backstepSlack = 60_000_000
	backstepPred  = `max_time - event_time > 60000000`
)

// auditBackstepScan is how many backsteps above a range auditSeqBounds
// reads to find the range's last one before it gives up bounding the
// range's end (a clock once far ahead makes every later event a
// backstep); a variable so tests can reach it.
var auditBackstepScan = 1000

// seqBounds is the seq range, both ends exclusive, that holds every event
// of a time range; 0 leaves that end open.
type seqBounds struct{ lo, hi int64 }

// auditSeqBounds narrows f's time range to a seq range. Each event's
// max_time m(s) is the running maximum of event times along the chain up
// to it, so it never decreases with s and every event's time t(s) <= m(s);
// t(s) >= m(s) - slack for every event but the backsteps. So:
//
//   - no event at or below the last seq with m(s) < since is at or after
//     since: lo;
//   - from the first seq x with m(x) >= until + slack, only backsteps can
//     be before until: hi is x, or one past the last backstep from x up
//     whose time is in the range.
//
// Each is an index probe; the backsteps are read from their own small
// index. Events appended after the backstep probe have larger seqs than
// hi and are left out like every event from hi up, so the page is the one
// the chain held at that moment. An event without max_time (written other
// than by AppendAudit) voids both bounds.
func (s *Store) auditSeqBounds(ctx context.Context, f storage.AuditFilter) (seqBounds, error) {
	var b seqBounds
	unset, err := s.auditSeqAt(ctx, f.OrgID, `max_time IS NULL`)
	if err != nil || unset > 0 {
		return b, err
	}
	if !f.Since.IsZero() {
		if b.lo, err = s.auditSeqAt(ctx, f.OrgID, `max_time < $2 ORDER BY max_time DESC, seq DESC`, us(f.Since)); err != nil {
			return b, err
		}
	}
	if f.Until.IsZero() {
		return b, nil
	}
	x, err := s.auditSeqAt(ctx, f.OrgID, `max_time >= $2 ORDER BY max_time, seq`, us(f.Until)+backstepSlack)
	if err != nil || x == 0 {
		return b, err
	}
	rows, err := s.q().QueryContext(ctx, `SELECT seq, event_time FROM audit_events
		WHERE org_id = $1 AND `+backstepPred+` AND seq >= $2 ORDER BY seq DESC LIMIT $3`,
		f.OrgID, x, auditBackstepScan+1)
	if err != nil {
		return b, wrapErr(err, "read backsteps in the audit chain of organization %q", f.OrgID)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var seq, at int64
		if err := rows.Scan(&seq, &at); err != nil {
			return b, wrapErr(err, "read backsteps in the audit chain of organization %q", f.OrgID)
		}
		if n++; n > auditBackstepScan {
			return b, nil // too many to bound the end cheaply: leave it open
		}
		if at < us(f.Until) && (f.Since.IsZero() || at >= us(f.Since)) {
			b.hi = seq + 1
			return b, nil
		}
	}
	if err := rows.Err(); err != nil {
		return b, wrapErr(err, "read backsteps in the audit chain of organization %q", f.OrgID)
	}
	b.hi = x
	return b, nil
}
