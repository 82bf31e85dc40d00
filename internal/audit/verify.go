package audit

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// VerifyResult reports the outcome of walking one organization's chain.
type VerifyResult struct {
	Events   int64  // events checked
	OK       bool   // every hash and link recomputed equal
	BrokenAt int64  // Seq of the first event that does not verify (0 if OK)
	Problem  string // plain-language description of the first break
}

// pageSize is the largest page ListAudit returns.
const pageSize = 1000

// Verify recomputes orgID's whole chain page by page and reports the first
// event whose hash, sequence or link to its predecessor does not match.
//
// For each event it checks, in this order: that no sequence number was
// skipped (a deleted row), that it links to its predecessor (a reordered or
// inserted row, or a rewritten prev_hash), and that its hash matches its
// contents (a modified row). The order makes the message name the most
// likely tampering: swapping two rows breaks the link before it breaks the
// hash. Walking the chain cannot notice rows removed from its end, nor a
// chain rewritten from some point on with every hash recomputed; comparing
// the last hash with a copy kept elsewhere can.
func Verify(ctx context.Context, store storage.Audit, orgID string) (VerifyResult, error) {
	var (
		res      VerifyResult
		prevSeq  int64
		prevHash string
	)
	for {
		page, err := store.ListAudit(ctx, storage.AuditFilter{OrgID: orgID, AfterSeq: prevSeq, Limit: pageSize})
		if err != nil {
			return VerifyResult{}, fmt.Errorf("audit: verify: read events after %d: %w", prevSeq, err)
		}
		for _, e := range page {
			res.Events++
			if problem := checkEvent(e, prevSeq, prevHash); problem != "" {
				res.BrokenAt = e.Seq
				if e.Seq > prevSeq+1 {
					res.BrokenAt = prevSeq + 1
				}
				res.Problem = problem
				return res, nil
			}
			prevSeq, prevHash = e.Seq, e.Hash
		}
		// Stop on an empty page rather than a short one: a backend that
		// caps pages below pageSize must not end verification early.
		if len(page) == 0 {
			res.OK = true
			return res, nil
		}
	}
}

// checkEvent describes what is wrong with e given its predecessor's seq and
// hash (0 and "" before the first event), or returns "".
func checkEvent(e storage.AuditEvent, prevSeq int64, prevHash string) string {
	want := prevSeq + 1
	switch {
	case e.Seq == want+1:
		return fmt.Sprintf("event %d is missing (deleted)", want)
	case e.Seq > want:
		return fmt.Sprintf("events %d to %d are missing (deleted)", want, e.Seq-1)
	case e.Seq < want:
		// ListAudit returns ascending Seq after the cursor, so only a
		// misbehaving backend gets here.
		return fmt.Sprintf("event %d appears out of order after event %d", e.Seq, prevSeq)
	}
	if e.PrevHash != prevHash {
		if prevSeq == 0 {
			return fmt.Sprintf("event %d should start the chain but links to an earlier event", e.Seq)
		}
		return fmt.Sprintf("event %d does not link to event %d (moved, inserted or its link rewritten)", e.Seq, prevSeq)
	}
	if storage.HashAuditEvent(e) != e.Hash {
		return fmt.Sprintf("event %d: hash does not match its contents (modified after it was written)", e.Seq)
	}
	return ""
}
