package audit_test

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// memAudit is an in-memory storage.Audit for tests that need more events
// than a database round trip per event makes pleasant (paging over several
// 1000-event pages), and for tampering a backend would not allow.
type memAudit struct {
	events []storage.AuditEvent // one chain, in order
	lists  int                  // ListAudit calls
}

func (m *memAudit) AppendAudit(_ context.Context, e *storage.AuditEvent) error {
	e.Time = storage.Truncate(e.Time)
	e.Seq = int64(len(m.events)) + 1
	if n := len(m.events); n > 0 {
		e.PrevHash = m.events[n-1].Hash
	}
	e.Hash = storage.HashAuditEvent(*e)
	m.events = append(m.events, *e)
	return nil
}

func (m *memAudit) ListAudit(_ context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	m.lists++
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var out []storage.AuditEvent
	for _, e := range m.events {
		if e.OrgID != f.OrgID || e.Seq <= f.AfterSeq {
			continue
		}
		if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
			if !strings.HasPrefix(e.Action, prefix) {
				continue
			}
		} else if f.Action != "" && e.Action != f.Action {
			continue
		}
		if f.ActorID != "" && e.ActorID != f.ActorID && e.ActorEmail != f.ActorID {
			continue
		}
		if !f.Since.IsZero() && e.Time.Before(f.Since) || !f.Until.IsZero() && !e.Time.Before(f.Until) {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
