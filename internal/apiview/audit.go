package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// AuditPage is the answer to GET /audit. In chain order NextAfter is the
// cursor for the next page (pass it as ?after=); newest first NextBefore is
// (pass it as ?before=). The other is always null, and both are null when
// there are no more events.
type AuditPage struct {
	Events     []audit.Entry `json:"events"`
	NextAfter  *int64        `json:"next_after"`
	NextBefore *int64        `json:"next_before"`
}

// VerifyResult is the answer to GET /audit/verify. Head is the verified
// chain's newest event (absent when the chain does not verify or is empty):
// keep its hash outside Gatehouse and pass it back as expect_head.
type VerifyResult struct {
	OK       bool        `json:"ok"`
	Events   int64       `json:"events"`
	BrokenAt int64       `json:"broken_at,omitempty"`
	Problem  string      `json:"problem,omitempty"`
	Head     *VerifyHead `json:"head,omitempty"`
}

// VerifyHead is the head of a verified chain.
type VerifyHead struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

// VerifyResultOf converts an audit.VerifyResult to its JSON form, shared by
// the API and the CLI's --json.
func VerifyResultOf(res audit.VerifyResult) VerifyResult {
	out := VerifyResult{OK: res.OK, Events: res.Events, BrokenAt: res.BrokenAt, Problem: res.Problem}
	if res.OK && res.Head.Seq > 0 {
		out.Head = &VerifyHead{Seq: res.Head.Seq, Hash: res.Head.Hash, Time: res.Head.Time.UTC()}
	}
	return out
}
