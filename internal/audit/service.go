package audit

import (
	"context"
	"errors"
	"io"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Page sizes of the audit log: the default, and the largest storage serves.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = pageSize
)

// Service is the audit log as the edges read it: the console, the admin
// API and the CLI page, verify and export through it rather than reach
// storage themselves. Changes still record their events with Record inside
// their own transaction; Service.Record is for events that describe no
// change (a refused request).
type Service struct {
	store storage.Audit
}

// NewService returns the audit log kept in store.
func NewService(store storage.Audit) *Service {
	if store == nil {
		panic("audit: NewService without a store")
	}
	return &Service{store: store}
}

// Record appends e on its own, outside any other change (see Record).
func (s *Service) Record(ctx context.Context, e storage.AuditEvent) error {
	return Record(ctx, s.store, e)
}

// ListPage returns the events f selects (at most f.Limit, or
// DefaultPageLimit when it is 0) and whether more follow them (older ones
// when f.Newest). A full page
// may be the last one, so one more event is asked for: more is reported
// only when continuing after the last event leads somewhere.
func (s *Service) ListPage(ctx context.Context, f storage.AuditFilter) (events []storage.AuditEvent, more bool, err error) {
	if f.Limit == 0 {
		f.Limit = DefaultPageLimit
	}
	if f.Limit < 0 || f.Limit > MaxPageLimit {
		return nil, false, errors.New("audit: page limit out of range")
	}
	events, err = s.store.ListAudit(ctx, f)
	if err != nil || len(events) < f.Limit {
		return events, false, err
	}
	if f.Newest {
		f.BeforeSeq = events[len(events)-1].Seq
	} else {
		f.AfterSeq = events[len(events)-1].Seq
	}
	f.Limit = 1
	next, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, false, err
	}
	return events, len(next) > 0, nil
}

// Verify is the package's Verify on this log.
func (s *Service) Verify(ctx context.Context, orgID string) (VerifyResult, error) {
	return Verify(ctx, s.store, orgID)
}

// VerifyWith is the package's VerifyWith on this log.
func (s *Service) VerifyWith(ctx context.Context, orgID string, opts VerifyOptions) (VerifyResult, error) {
	return VerifyWith(ctx, s.store, orgID, opts)
}

// ExportJSONL is the package's ExportJSONL on this log.
func (s *Service) ExportJSONL(ctx context.Context, f storage.AuditFilter, w io.Writer) error {
	return ExportJSONL(ctx, s.store, f, w)
}

// ValidHeadHash reports whether s has the form of an audit hash (64
// lowercase hex digits), as an externally kept head must.
func ValidHeadHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
