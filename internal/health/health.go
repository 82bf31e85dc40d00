// Package health watches each SSO connection: it counts how sign-ins start
// and end (per connection and minute), probes the IdP, records metadata
// refreshes, derives incidents from them, mails admins when an incident
// starts and ends and before a signing certificate expires, and answers
// the status page.
//
// Everything it stores is shared by all nodes: any node may run Run, and
// each incident opens and closes with one conditional write, so admins are
// mailed once however many nodes evaluate.
package health

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Config tunes the service; zero fields take the defaults in
// internal/config (health.*) except ProbeInterval, where 0 disables probing.
type Config struct {
	// ProbeInterval is how often each connection's IdP is probed; 0 off.
	ProbeInterval time.Duration
	// Window is how far back the failure ratio looks, and how long a
	// cause must have been clear before its incident ends. Default 15m.
	Window time.Duration
	// FailureRatio opens an incident when failures / outcomes in Window
	// is above it. Default 0.5.
	FailureRatio float64
	// MinAttempts is how many outcomes Window needs before the ratio
	// counts. Default 5.
	MinAttempts int
	// CheckFailures opens an incident when that many probes or metadata
	// refreshes in a row failed. Default 3.
	CheckFailures int
	// HTTPClient makes the probes: the SSRF-guarded client the metadata
	// fetcher uses (idp.Service.HTTPClient), so a probe reaches nothing a
	// metadata fetch could not. Required for probing.
	HTTPClient *http.Client
	// PublicURL is Gatehouse's base URL, for links in mails.
	PublicURL string
}

// IncidentListener hears about incidents as Evaluate decides them (the
// emergency service's automatic failback). Opened and Closed are called
// once per incident, by the node whose write opened or closed it, after
// commit; Ongoing on every evaluation that finds it still open.
type IncidentListener interface {
	IncidentOpened(ctx context.Context, inc storage.SSOIncident)
	IncidentOngoing(ctx context.Context, inc storage.SSOIncident, now time.Time)
	IncidentClosed(ctx context.Context, inc storage.SSOIncident)
}

// Service is the SSO health service.
type Service struct {
	store    storage.Store
	notify   *notify.Admins
	metrics  *metrics.Metrics
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	listener IncidentListener
	// tick, when a test sets it, replaces Run's one-minute ticker.
	tick <-chan time.Time

	mu      sync.Mutex
	pending map[pendingKey]pendingCount // outcomes not yet written (Flush)
}

// Defaults, mirrored by internal/config (the server passes its values).
const (
	defaultWindow        = 15 * time.Minute
	defaultFailureRatio  = 0.5
	defaultMinAttempts   = 5
	defaultCheckFailures = 3
)

// New returns a Service. notifier, m, log and now may be nil.
func New(store storage.Store, notifier *notify.Admins, m *metrics.Metrics, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.Window <= 0 {
		cfg.Window = defaultWindow
	}
	if cfg.FailureRatio <= 0 {
		cfg.FailureRatio = defaultFailureRatio
	}
	if cfg.MinAttempts <= 0 {
		cfg.MinAttempts = defaultMinAttempts
	}
	if cfg.CheckFailures <= 0 {
		cfg.CheckFailures = defaultCheckFailures
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, notify: notifier, metrics: m, cfg: cfg, log: log, now: now}
}

// SetListener installs the incident listener (optional; call before Run).
func (s *Service) SetListener(l IncidentListener) { s.listener = l }

// clock is now at storage precision.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// evaluateEvery is how often Run evaluates; probes run on their own interval.
const evaluateEvery = time.Minute

// Run counts abandoned sign-ins, probes, evaluates incidents and checks
// certificates every minute until ctx ends. Every node may run it.
func (s *Service) Run(ctx context.Context) error {
	tick := s.tick
	if tick == nil {
		t := time.NewTicker(evaluateEvery)
		defer t.Stop()
		tick = t.C
	}
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	defer s.Flush(ctx)
	var lastProbe time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-flush.C:
			s.Flush(ctx)
			continue
		case <-tick:
		}
		now := s.clock()
		// Half a tick of slack: ticks arrive a little early or late, and
		// without it a probe interval equal to the tick skipped every
		// other tick (probing every 2 minutes instead of every minute).
		if s.cfg.ProbeInterval > 0 && s.cfg.HTTPClient != nil && !now.Before(lastProbe.Add(s.cfg.ProbeInterval-evaluateEvery/2)) {
			lastProbe = now
			if err := s.ProbeAll(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "SSO probe pass failed", "err", err)
			}
		}
		if err := s.Evaluate(ctx, s.clock()); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "SSO health evaluation failed", "err", err)
		}
		if err := s.CheckCertificates(ctx, s.clock()); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "certificate expiry check failed", "err", err)
		}
	}
}
