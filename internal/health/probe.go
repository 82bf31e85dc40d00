package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// probeTimeout bounds one probe; a slower IdP counts as unreachable.
const probeTimeout = 10 * time.Second

// probeParallel bounds how many IdPs are probed at once.
const probeParallel = 8

// ProbeAll probes every connection of every organization once and records
// the results. A probe that fails is a result, not an error.
func (s *Service) ProbeAll(ctx context.Context) error {
	conns, err := s.store.ListIdPConnections(ctx, "")
	if err != nil {
		return fmt.Errorf("health: list connections: %w", err)
	}
	sem := make(chan struct{}, probeParallel)
	var wg sync.WaitGroup
	for _, c := range conns {
		if c.MetadataURL == "" && c.SSOURL == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, _ = s.Probe(ctx, c)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Probe requests conn's metadata URL, or its SSO endpoint when it has
// none, through the SSRF-guarded client, and records the result: any HTTP
// answer below 500 means reachable. A server-side probe is a hint, not
// proof, that browsers can reach the IdP (they may sit on another network).
func (s *Service) Probe(ctx context.Context, conn storage.IdPConnection) (storage.SSOCheck, error) {
	target := conn.MetadataURL
	if target == "" {
		target = conn.SSOURL
	}
	c := storage.SSOCheck{ConnectionID: conn.ID, Kind: storage.CheckProbe, At: s.clock()}
	if s.cfg.HTTPClient == nil {
		return c, fmt.Errorf("health: probe: no HTTP client configured")
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, target, nil)
	if err == nil {
		req.Header.Set("User-Agent", "Gatehouse-SSO-probe")
		var resp *http.Response
		resp, err = s.cfg.HTTPClient.Do(req)
		if err == nil {
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
			c.OK = resp.StatusCode < 500
			c.Detail = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
	}
	c.Latency = time.Since(start).Truncate(time.Microsecond)
	if err != nil {
		c.Detail = trunc(err.Error(), 300)
	}
	if ctx.Err() != nil {
		return c, ctx.Err() // shutting down: the result says nothing of the IdP
	}
	if err := s.store.RecordSSOCheck(ctx, c); err != nil {
		s.log.ErrorContext(ctx, "cannot record an SSO probe", "connection", conn.Slug, "err", err)
		return c, fmt.Errorf("health: record probe: %w", err)
	}
	return c, nil
}
