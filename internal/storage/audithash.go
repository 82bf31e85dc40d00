package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// HashAuditEvent computes an event's chain hash: SHA-256 over the previous
// hash and a canonical JSON encoding of every field except Hash. Changing,
// inserting, removing or reordering any event changes every later hash, so
// tampering is detectable by recomputing the chain (see audit.Verify).
func HashAuditEvent(e AuditEvent) string {
	canon := struct {
		OrgID      string            `json:"org_id"`
		Seq        int64             `json:"seq"`
		ID         string            `json:"id"`
		Time       int64             `json:"time_us"`
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
		Details    map[string]string `json:"details"` // encoding/json sorts map keys
		PrevHash   string            `json:"prev_hash"`
	}{e.OrgID, e.Seq, e.ID, e.Time.UnixMicro(), e.ActorType, e.ActorID, e.ActorEmail, e.Action,
		e.TargetType, e.TargetID, e.Outcome, e.Reason, e.IP, e.UserAgent, e.RequestID, e.Details, e.PrevHash}
	if canon.Details == nil {
		canon.Details = map[string]string{}
	}
	b, err := json.Marshal(canon)
	if err != nil {
		// Only strings and ints: Marshal cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Times are stored with microsecond precision in both dialects; Truncate
// brings an in-memory time to what a round trip through storage returns.
func Truncate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
