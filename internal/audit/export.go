package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Entry is the JSON form of an audit event, shared by the JSONL export and
// the admin API so both speak the same field names.
type Entry struct {
	OrgID      string            `json:"org_id"`
	Seq        int64             `json:"seq"`
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"` // RFC 3339 with nanoseconds, UTC
	ActorType  string            `json:"actor_type"`
	ActorID    string            `json:"actor_id"`
	ActorEmail string            `json:"actor_email"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason"`
	IP         string            `json:"ip"`
	UserAgent  string            `json:"user_agent"`
	RequestID  string            `json:"request_id"`
	Details    map[string]string `json:"details"` // never null
	PrevHash   string            `json:"prev_hash"`
	Hash       string            `json:"hash"`
}

// EntryFrom converts a stored event to its JSON form.
func EntryFrom(e storage.AuditEvent) Entry {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	return Entry{
		OrgID: e.OrgID, Seq: e.Seq, ID: e.ID, Time: e.Time.UTC(),
		ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail,
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Outcome: e.Outcome, Reason: e.Reason,
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID,
		Details: details, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// HeadRecord is the last line of an export of a whole chain (or of its
// continuation after a sequence number): the chain head as stored when the
// export began. Every event up to it is in the export; a reader checks that
// the export's last event has this seq and hash, and keeps the hash outside
// the database to pass to a later verification (`audit verify
// --expect-head`). The export is not signed: a copy kept where the database's
// writers cannot reach it is what makes it evidence.
type HeadRecord struct {
	Record string    `json:"record"` // always "head"; event lines have no "record" key
	OrgID  string    `json:"org_id"`
	Seq    int64     `json:"seq"`
	Hash   string    `json:"hash"`
	Time   time.Time `json:"time"` // time of the head's event, RFC 3339 UTC
}

// wholeChain reports whether f selects every event (after f.AfterSeq), so
// that the export is a chain a reader can check against its head.
func wholeChain(f storage.AuditFilter) bool {
	return f.ActorID == "" && f.Action == "" && f.Outcome == "" && f.TargetType == "" && f.TargetID == "" &&
		f.Since.IsZero() && f.Until.IsZero() && f.BeforeSeq == 0
}

// ExportJSONL writes every event matching f (paging through all of them,
// ignoring f.Limit) as one JSON object per line, in chain order.
// f.AfterSeq, if set, is where the export starts.
//
// When f selects the whole chain (no filter but f.AfterSeq), the
// export stops at the chain head read before it began and ends with a
// HeadRecord line, so a reader can tell the export is complete and compare
// its end with the head. A filtered export is a selection, not a chain, and
// has no head line.
func ExportJSONL(ctx context.Context, store storage.Audit, f storage.AuditFilter, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	// Reviewers read exports with jq and grep; "<" beats "\u003c" there.
	enc.SetEscapeHTML(false)
	var head *storage.AuditHead
	if wholeChain(f) {
		h, err := store.AuditHead(ctx, f.OrgID)
		if err != nil {
			return fmt.Errorf("audit: export: read chain head: %w", err)
		}
		head = &h
	}
	f.Limit, f.Newest = pageSize, false
	for {
		page, err := store.ListAudit(ctx, f)
		if err != nil {
			return fmt.Errorf("audit: export: read events after %d: %w", f.AfterSeq, err)
		}
		for _, e := range page {
			if head != nil && e.Seq > head.Seq {
				// Appended after the export began: the next export's.
				page = nil
				break
			}
			if err := enc.Encode(EntryFrom(e)); err != nil {
				return fmt.Errorf("audit: export: write event %d: %w", e.Seq, err)
			}
		}
		if len(page) == 0 {
			break
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
	if head != nil {
		rec := HeadRecord{Record: "head", OrgID: f.OrgID, Seq: head.Seq, Hash: head.Hash, Time: head.Time.UTC()}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("audit: export: write chain head: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}
