package audit

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// VerifyResult reports the outcome of walking one organization's chain.
type VerifyResult struct {
	Events   int64  // events checked
	OK       bool   // every hash and link recomputed equal, and the chain ends at its head
	BrokenAt int64  // Seq of the first event that does not verify (0 if OK, or if no event can be named)
	Problem  string // plain-language description of the first break
	// Head is the newest event of the verified chain (zero for an empty
	// chain). Keeping it outside the database lets a later verification
	// (VerifyOptions.ExpectHead) detect a chain rewritten together with its
	// stored head.
	Head storage.AuditHead
}

// VerifyOptions are the optional checks of VerifyWith.
type VerifyOptions struct {
	// ExpectHead is a head hash kept outside the database (from the log
	// line every append writes, an export's head record or an earlier
	// verification). The chain must contain an event with this hash: the
	// chain may have grown since, but everything up to that event must be
	// what it was when the hash was kept.
	ExpectHead string
}

// pageSize is the largest page ListAudit returns.
const pageSize = 1000

// Verify is VerifyWith without an externally kept head.
func Verify(ctx context.Context, store storage.Audit, orgID string) (VerifyResult, error) {
	return VerifyWith(ctx, store, orgID, VerifyOptions{})
}

// VerifyWith recomputes orgID's whole chain page by page, reports the first
// event whose hash, sequence or link to its predecessor does not match, and
// then compares the chain's end with the chain head that every append
// records (and with opts.ExpectHead, if given).
//
// For each event it checks, in this order: that no sequence number was
// skipped (a deleted row), that it links to its predecessor (a reordered or
// inserted row, or a rewritten prev_hash), and that its hash matches its
// contents (a modified row). The order makes the message name the most
// likely tampering: swapping two rows breaks the link before it breaks the
// hash.
//
// Walking the chain alone cannot notice rows removed from its end: the rest
// still links. The stored head can: it names the newest event's seq and
// hash. The head is read before the walk (events appended meanwhile are
// beyond it, which is fine) and again after it (every event the walk saw
// was committed by then, so none may lie beyond it). Someone who rewrites
// both the rows and the stored head is caught only by a head kept outside
// the database, passed as opts.ExpectHead.
func VerifyWith(ctx context.Context, store storage.Audit, orgID string, opts VerifyOptions) (VerifyResult, error) {
	before, err := store.AuditHead(ctx, orgID)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("audit: verify: read chain head: %w", err)
	}
	var (
		res        VerifyResult
		last       storage.AuditEvent
		hashAtHead string // hash of the event at before.Seq, once walked
		expectedAt int64  // seq of the event whose hash is opts.ExpectHead
	)
	for {
		page, err := store.ListAudit(ctx, storage.AuditFilter{OrgID: orgID, AfterSeq: last.Seq, Limit: pageSize})
		if err != nil {
			return VerifyResult{}, fmt.Errorf("audit: verify: read events after %d: %w", last.Seq, err)
		}
		for _, e := range page {
			res.Events++
			if problem := checkEvent(e, last.Seq, last.Hash); problem != "" {
				res.BrokenAt = e.Seq
				if e.Seq > last.Seq+1 {
					res.BrokenAt = last.Seq + 1
				}
				res.Problem = problem
				return res, nil
			}
			if e.Seq == before.Seq {
				hashAtHead = e.Hash
			}
			if opts.ExpectHead != "" && e.Hash == opts.ExpectHead {
				expectedAt = e.Seq
			}
			last = e
		}
		// Stop on an empty page rather than a short one: a backend that
		// caps pages below pageSize must not end verification early.
		if len(page) == 0 {
			break
		}
	}
	after, err := store.AuditHead(ctx, orgID)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("audit: verify: read chain head: %w", err)
	}
	res.Head = storage.AuditHead{OrgID: orgID, Seq: last.Seq, Hash: last.Hash, Time: last.Time}
	res.BrokenAt, res.Problem = checkEnd(last, before, hashAtHead, after)
	if res.Problem == "" && opts.ExpectHead != "" && expectedAt == 0 {
		res.Problem = fmt.Sprintf("the kept head %s is not in the chain: events up to it were removed from the end of the chain or rewritten (the chain now ends at event %d)",
			opts.ExpectHead, last.Seq)
	}
	res.OK = res.Problem == ""
	if !res.OK {
		res.Head = storage.AuditHead{}
	}
	return res, nil
}

// checkEnd compares the end of an intact walk (last, or the zero event for
// an empty chain) with the head read before it (and the hash the walk found
// at that head's seq) and the head read after it. It returns the first
// event that does not match and why, or 0 and "".
func checkEnd(last storage.AuditEvent, before storage.AuditHead, hashAtHead string, after storage.AuditHead) (int64, string) {
	switch {
	case last.Seq < before.Seq:
		if last.Seq+1 == before.Seq {
			return before.Seq, fmt.Sprintf("event %d is missing (deleted): the chain head records it, the chain ends at event %d", before.Seq, last.Seq)
		}
		return last.Seq + 1, fmt.Sprintf("events %d to %d are missing (deleted from the end of the chain): the chain head records event %d, the chain ends at event %d",
			last.Seq+1, before.Seq, before.Seq, last.Seq)
	case before.Seq > 0 && hashAtHead != before.Hash:
		return before.Seq, fmt.Sprintf("event %d does not match the chain head (it or an event before it was rewritten and the hashes recomputed)", before.Seq)
	case after.Seq == 0 && last.Seq > 0:
		return 1, fmt.Sprintf("the chain head is missing (deleted), though the chain holds events 1 to %d", last.Seq)
	case last.Seq > after.Seq:
		return after.Seq + 1, fmt.Sprintf("events %d to %d lie after the chain head (inserted without advancing it)", after.Seq+1, last.Seq)
	case last.Seq == after.Seq && last.Hash != after.Hash:
		return last.Seq, fmt.Sprintf("event %d does not match the chain head (it or an event before it was rewritten and the hashes recomputed)", last.Seq)
	}
	return 0, ""
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
