// Package audit writes and reads the append-only, hash-chained audit log.
// Services call Record inside the same transaction as the change it
// describes; storage assigns the chain position and hash.
package audit

import (
	"context"
	"io"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Record fills e's actor and request fields (IP, user agent, request ID)
// from ctx where e leaves them empty, and appends it through tx. e.Time must
// be set by the caller from its injected clock.
func Record(ctx context.Context, tx storage.Audit, e storage.AuditEvent) error {
	panic("unimplemented")
}

// VerifyResult reports the outcome of walking one organization's chain.
type VerifyResult struct {
	Events   int64  // events checked
	OK       bool   // every hash and link recomputed equal
	BrokenAt int64  // Seq of the first event that does not verify (0 if OK)
	Problem  string // plain-language description of the first break
}

// Verify recomputes orgID's whole chain page by page and reports the first
// event whose hash, sequence or link to its predecessor does not match.
func Verify(ctx context.Context, store storage.Audit, orgID string) (VerifyResult, error) {
	panic("unimplemented")
}

// ExportJSONL writes every event matching f (paging through all of them,
// ignoring f.Limit) as one JSON object per line, in chain order.
func ExportJSONL(ctx context.Context, store storage.Audit, f storage.AuditFilter, w io.Writer) error {
	panic("unimplemented")
}
