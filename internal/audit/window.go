package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Window is one page of the log read newest first, as the console shows
// it, and whether pages lie on either side of it.
type Window struct {
	Events []storage.AuditEvent // newest first
	Newer  bool                 // events matching the filter exist above Events[0]
	Older  bool                 // events matching the filter exist below the last event
}

// NewestFirst returns a page of the events f selects, newest first. The
// cursor is a seq: f.BeforeSeq asks for the page of events just below it
// (going older), f.AfterSeq for the page just above it (going newer);
// neither asks for the newest page. Because cursors are positions in the
// chain, events appended meanwhile never shift a page: they appear only on
// the newest one. A newer page that reaches the newest event is the newest
// page itself, so the top of the log always shows a full page.
func (s *Service) NewestFirst(ctx context.Context, f storage.AuditFilter) (Window, error) {
	if f.Limit == 0 {
		f.Limit = DefaultPageLimit
	}
	if f.Limit < 0 || f.Limit > MaxPageLimit {
		return Window{}, errors.New("audit: page limit out of range")
	}
	if f.AfterSeq > 0 && f.BeforeSeq > 0 {
		return Window{}, errors.New("audit: a page has one cursor, before or after")
	}
	var w Window
	var err error
	if f.AfterSeq > 0 {
		up := f
		up.Newest = false
		if w.Events, err = s.store.ListAudit(ctx, up); err != nil {
			return Window{}, err
		}
		if len(w.Events) < f.Limit {
			f.AfterSeq = 0 // reached the top
			f.Newest = true
			if w.Events, err = s.store.ListAudit(ctx, f); err != nil {
				return Window{}, err
			}
		} else {
			slices.Reverse(w.Events)
		}
	} else {
		f.Newest = true
		if w.Events, err = s.store.ListAudit(ctx, f); err != nil {
			return Window{}, err
		}
	}
	above, below := f.BeforeSeq-1, int64(0)
	if len(w.Events) > 0 {
		above, below = w.Events[0].Seq, w.Events[len(w.Events)-1].Seq
	}
	if len(w.Events) > 0 || f.BeforeSeq > 0 {
		if w.Newer, err = s.exists(ctx, f, above, 0); err != nil {
			return Window{}, err
		}
	}
	if below > 1 {
		if w.Older, err = s.exists(ctx, f, 0, below); err != nil {
			return Window{}, err
		}
	}
	return w, nil
}

// exists reports whether an event f selects lies strictly between after
// and before (0: unbounded).
func (s *Service) exists(ctx context.Context, f storage.AuditFilter, after, before int64) (bool, error) {
	f.AfterSeq, f.BeforeSeq, f.Limit = after, before, 1
	evs, err := s.store.ListAudit(ctx, f)
	return len(evs) > 0, err
}

// Event returns the event at seq in orgID's chain, or storage.ErrNotFound.
func (s *Service) Event(ctx context.Context, orgID string, seq int64) (storage.AuditEvent, error) {
	if seq > 0 {
		evs, err := s.store.ListAudit(ctx, storage.AuditFilter{OrgID: orgID, AfterSeq: seq - 1, BeforeSeq: seq + 1, Limit: 1})
		if err != nil {
			return storage.AuditEvent{}, err
		}
		if len(evs) == 1 {
			return evs[0], nil
		}
	}
	return storage.AuditEvent{}, fmt.Errorf("audit: event %d: %w", seq, storage.ErrNotFound)
}
