package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Audit vocabulary of a refused privileged request.
const (
	// ActionAccessDenied is the action of the event.
	ActionAccessDenied = "access.denied"
	// OutcomeDenied is its outcome: refused by authorization, as opposed
	// to a failure of the action itself.
	OutcomeDenied = "denied"
)

// deniedRule bounds the audit trail of refusals: one event per actor and
// route a minute, counted in the database so the bound holds across nodes.
// Someone probing the console or a script retrying a forbidden call shows
// up within a minute, and cannot fill the log however fast it retries.
var deniedRule = ratelimit.Rule{Name: "access_denied", Max: 1, Window: time.Minute}

// DeniedAudit records privileged requests that were refused (403) in the
// audit log of the actor's organization: who (the actor in the request
// context), what they attempted (the route), on what (the path), from
// where and with which request ID. The console and the admin API share it.
type DeniedAudit struct {
	Audit *audit.Service
	// Limiter bounds the events (see deniedRule); nil records every refusal.
	Limiter *ratelimit.Limiter
	Log     *slog.Logger
	Now     func() time.Time
}

// Watch serves the request with next and records it as denied, with
// reason, if next answered 403.
func (d DeniedAudit) Watch(w http.ResponseWriter, r *http.Request, orgID, reason string, next http.HandlerFunc) {
	sw := &statusWriter{ResponseWriter: w}
	next(sw, r)
	if sw.status == http.StatusForbidden {
		d.Record(r, orgID, reason)
	}
}

// Record appends an access.denied event for r's actor to orgID's chain,
// unless one for the same actor and route was recorded within the last
// minute. Failing to record is logged, never shown: the refusal stands.
func (d DeniedAudit) Record(r *http.Request, orgID, reason string) {
	if d.Audit == nil {
		return
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The refusal is recorded even when the client hung up or the request
	// ran out of time, within a bound of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	info := reqctx.From(ctx)
	attempted := r.Pattern
	if attempted == "" {
		attempted = r.Method + " " + r.URL.Path
	}
	attempted = clean(attempted, 200)
	ok, _, err := d.Limiter.Allow(ctx, deniedRule, info.ActorType+":"+info.ActorID+" "+attempted)
	if err != nil {
		log.ErrorContext(ctx, "count denied request", "err", err)
		return
	}
	if !ok {
		return
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	err = d.Audit.Record(ctx, storage.AuditEvent{
		OrgID: orgID, Time: now(), Action: ActionAccessDenied, Outcome: OutcomeDenied, Reason: reason,
		TargetType: "path", TargetID: clean(r.URL.Path, 200),
		Details: map[string]string{"attempted": attempted},
	})
	if err != nil {
		log.ErrorContext(ctx, "audit denied request", "err", err)
	}
}

// clean makes s safe to store and show: valid UTF-8 without control
// characters, at most n bytes, cut on a rune boundary.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
