package health

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// personReasons are refusals about the person, not the IdP: the IdP did
// its part, Gatehouse's rules said no. They are counted in Prometheus
// (result "refused") but are neither a failure nor a success of the
// connection, so one suspended person retrying cannot open an incident.
var personReasons = map[string]bool{
	sso.ReasonAccountSuspended:       true,
	sso.ReasonAccountNotProvisioned:  true,
	sso.ReasonSSONotAllowed:          true,
	sso.ReasonEmailConflict:          true,
	sso.ReasonEmailConfusable:        true,
	sso.ReasonEmailDomainNotVerified: true,
	sso.ReasonCrossOrganization:      true,
}

// Classify maps an sso.Complete outcome to a storage outcome kind ("" for
// a refusal that is about the person) and its Prometheus result.
func Classify(reason string) (kind, result string) {
	switch {
	case reason == "":
		return storage.OutcomeSucceeded, "success"
	case reason == saml.ReasonStatusNotSuccess:
		return storage.OutcomeIdPError, "idp_error"
	case personReasons[reason]:
		return "", "refused"
	}
	return storage.OutcomeInvalid, "invalid"
}

// SSOStarted records a sign-in sent to conn's IdP (sso.Outcomes).
func (s *Service) SSOStarted(ctx context.Context, conn storage.IdPConnection) {
	s.metrics.SSOSignInStarted(conn.Slug)
	s.recordOutcome(ctx, conn, storage.OutcomeStarted, s.clock())
}

// SSOEnded records how a sign-in through conn ended; reason is the
// rejection's reason, "" for a success (sso.Outcomes). The request it
// answered is marked counted, so a refused answer (which leaves the
// request unused) is not counted as abandoned too.
func (s *Service) SSOEnded(ctx context.Context, conn storage.IdPConnection, requestID, reason string) {
	kind, result := Classify(reason)
	s.metrics.SSOSignInCompleted(conn.Slug, result)
	if kind != "" {
		s.recordOutcome(ctx, conn, kind, s.clock())
	}
	if requestID != "" && reason != "" {
		if err := s.store.MarkAuthnRequestCounted(context.WithoutCancel(ctx), requestID); err != nil {
			s.log.ErrorContext(ctx, "cannot mark an answered SSO request", "connection", conn.Slug, "err", err)
		}
	}
}

// recordOutcome counts one outcome of a sign-in through conn. Starts and
// successes go to this node's buffer, which Flush writes: the SSO start
// and the ACS are hot paths, and every sign-in of a connection in one
// minute shares one bucket row, so writing it on each would make every
// sign-in wait for that row. What a node buffered and had not flushed when
// it stopped is lost; these are health figures. Failures are written at
// once: they are rare until an incident, and the last outcome being a
// failure is what re-enforcing SSO checks (NeedsFreshTest).
func (s *Service) recordOutcome(ctx context.Context, conn storage.IdPConnection, kind string, at time.Time) {
	if kind != storage.OutcomeStarted && kind != storage.OutcomeSucceeded {
		if err := s.store.RecordSSOOutcome(context.WithoutCancel(ctx), conn.ID, kind, at, 1); err != nil {
			s.log.ErrorContext(ctx, "cannot record an SSO outcome", "connection", conn.Slug, "kind", kind, "err", err)
		}
		return
	}
	k := pendingKey{connID: conn.ID, kind: kind, minute: at.Truncate(time.Minute)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[pendingKey]pendingCount{}
	}
	c := s.pending[k]
	c.n++
	if at.After(c.last) {
		c.last = at
	}
	s.pending[k] = c
}

// pendingKey and pendingCount are one buffered outcome bucket.
type pendingKey struct {
	connID, kind string
	minute       time.Time
}

type pendingCount struct {
	n    int
	last time.Time // the latest outcome counted, for the last-outcome record
}

// flushEvery is how often Run writes the buffered outcomes.
const flushEvery = 5 * time.Second

// Flush writes the outcomes counted on this node since the last flush.
// Evaluate and the reads that decide something (NeedsFreshTest) flush
// first; Run flushes every few seconds. A bucket that cannot be written is
// logged and dropped.
func (s *Service) Flush(ctx context.Context) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for k, c := range pending {
		if err := s.store.RecordSSOOutcome(ctx, k.connID, k.kind, c.last, c.n); err != nil {
			s.log.ErrorContext(ctx, "cannot record SSO outcomes", "connection_id", k.connID, "kind", k.kind, "count", c.n, "err", err)
		}
	}
}

// CountAbandoned counts every sign-in whose AuthnRequest expired
// unanswered, once (sso.Outcomes: the SSO purge calls it before deleting
// expired requests, and Evaluate calls it too). An abandoned sign-in is
// the only trace an unreachable IdP leaves: the browser fails at the IdP
// and never comes back.
func (s *Service) CountAbandoned(ctx context.Context, now time.Time) error {
	counts := map[string]int{}
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		clear(counts)
		reqs, err := tx.ClaimAbandonedAuthnRequests(ctx, now)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			counts[r.ConnectionID]++
		}
		for conn, n := range counts {
			// Counted in the minute it became known: that is when the
			// IdP's silence tells us something.
			if err := tx.RecordSSOOutcome(ctx, conn, storage.OutcomeAbandoned, now, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for connID, n := range counts {
		slug := connID
		if c, err := s.store.GetIdPConnection(ctx, connID); err == nil {
			slug = c.Slug
		}
		s.metrics.SSOSignInsAbandoned(slug, n)
	}
	return nil
}

// MetadataRefreshed records a metadata refresh of conn (idp.RefreshObserver).
func (s *Service) MetadataRefreshed(ctx context.Context, conn storage.IdPConnection, err error) {
	c := storage.SSOCheck{ConnectionID: conn.ID, Kind: storage.CheckMetadata, At: s.clock(), OK: err == nil, Detail: "metadata fetched"}
	if err != nil {
		c.Detail = trunc(err.Error(), 300)
	}
	if err := s.store.RecordSSOCheck(context.WithoutCancel(ctx), c); err != nil {
		s.log.ErrorContext(ctx, "cannot record a metadata refresh", "connection", conn.Slug, "err", err)
	}
}

// trunc shortens text for storage, on a rune boundary.
func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
