package apps

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// snapshot is one node's view of every app, for the lookups made on every
// forward-auth request and every return URL: no database round trip.
type snapshot struct {
	// byHost maps a lowercase host[:port] of an app's Hosts to the app.
	byHost map[string]storage.App
	// returnHosts are the host[:port] names return URLs may point at:
	// every app's Hosts and the hosts of its http(s) redirect URIs.
	returnHosts map[string]bool
	loadedAt    time.Time
}

func newSnapshot(all []storage.App, at time.Time) *snapshot {
	s := &snapshot{byHost: map[string]storage.App{}, returnHosts: map[string]bool{}, loadedAt: at}
	for _, a := range all {
		for _, h := range a.Hosts {
			s.byHost[h] = a
			s.returnHosts[h] = true
		}
		for _, raw := range append(append([]string(nil), a.RedirectURIs...), a.PostLogoutRedirectURIs...) {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				continue
			}
			s.returnHosts[hostKey(u.Scheme, u.Host)] = true
		}
	}
	return s
}

// hostKey is host[:port] lowercased, without the scheme's default port,
// so https://app.example.com:443/ and https://app.example.com/ are one
// host and :8443 another.
func hostKey(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}

// origin is a scheme and host[:port] (hostKey form).
type origin struct{ scheme, host string }

func originOf(raw string) origin {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return origin{}
	}
	return origin{scheme: strings.ToLower(u.Scheme), host: hostKey(strings.ToLower(u.Scheme), u.Host)}
}

// current returns the snapshot, loading it first if this node has none
// yet (Run not started, or a lookup before its first tick).
func (s *Service) current(ctx context.Context) (*snapshot, error) {
	if sn := s.snap.Load(); sn != nil {
		return sn, nil
	}
	return s.reload(ctx)
}

// reload reads every app and replaces the snapshot.
func (s *Service) reload(ctx context.Context) (*snapshot, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	at := s.now()
	all, err := s.store.ListAllApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("apps: load apps: %w", err)
	}
	sn := newSnapshot(all, at)
	s.snap.Store(sn)
	return sn, nil
}

// reloadAfterChange makes this node see its own change at once. A failure
// is logged: the change has committed, and Run's next reload catches up.
func (s *Service) reloadAfterChange(ctx context.Context) {
	if _, err := s.reload(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "apps: reloading after a change failed", "err", err)
	}
}

// ByHost returns the app that lists host (host[:port], any case) among its
// Hosts, from the node's snapshot; ok is false when none does.
func (s *Service) ByHost(ctx context.Context, host string) (app storage.App, ok bool, err error) {
	if host == "" || len(host) > maxHostLen+6 {
		return storage.App{}, false, nil
	}
	sn, err := s.current(ctx)
	if err != nil {
		return storage.App{}, false, err
	}
	h := strings.ToLower(host)
	if a, ok := sn.byHost[h]; ok {
		return a, true, nil
	}
	// A proxy may name the default port; the app's host then lists none.
	for _, p := range []string{":443", ":80"} {
		if strings.HasSuffix(h, p) {
			if a, ok := sn.byHost[strings.TrimSuffix(h, p)]; ok {
				return a, true, nil
			}
		}
	}
	return storage.App{}, false, nil
}

// maxReturnURL bounds a return URL: longer ones are refused outright.
const maxReturnURL = 2048

// ReturnAllowed reports whether an absolute URL may be a return URL
// (after sign-in, sign-out, forward-auth, SAML RelayState): http(s) on
// Gatehouse's own origin, or on the host of a registered app (one of its
// Hosts, or the host of one of its redirect URIs). Plain http is accepted
// for another host only when Gatehouse itself runs on plain http
// (localhost development). Relative paths are page.SafeReturnTo's job.
func (s *Service) ReturnAllowed(ctx context.Context, rawURL string) bool {
	if rawURL == "" || len(rawURL) > maxReturnURL || strings.ContainsRune(rawURL, '\\') {
		return false
	}
	for i := 0; i < len(rawURL); i++ {
		// Control characters, space and DEL: browsers strip some of them
		// (https://evil\t.com), so the URL checked is not the one followed.
		if c := rawURL[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return false
	}
	// Only the scheme spelled in lowercase: url.Parse folds it, browsers too,
	// but the check should see what the admin registered.
	if u.Scheme != "https" && u.Scheme != "http" || !strings.HasPrefix(rawURL, u.Scheme+"://") {
		return false
	}
	if strings.ContainsAny(u.Host, "%@") {
		return false
	}
	key := hostKey(u.Scheme, u.Host)
	if s.own.host != "" && u.Scheme == s.own.scheme && key == s.own.host {
		return true
	}
	if u.Scheme == "http" && s.own.scheme != "http" {
		return false
	}
	sn, err := s.current(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "apps: return URL refused: apps unavailable", "err", err)
		return false
	}
	return sn.returnHosts[key]
}

// Run keeps the node's snapshot of apps fresh until ctx ends: it reloads
// on the invalidation feed's "app" entries and at least every few seconds.
func (s *Service) Run(ctx context.Context) {
	ticker := time.NewTicker(s.pollInterval)
	defer ticker.Stop()
	// Windows overlap (commits arrive out of order, clocks differ), so an
	// entry is acted on once by its sequence number.
	const overlap = 5 * time.Second
	since := s.now().Add(-overlap)
	seen := map[int64]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		started := s.now()
		invs, err := s.store.InvalidationsSince(ctx, since)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "apps: reading the invalidation feed failed", "err", err)
			}
			invs = nil
		} else {
			since = started.Add(-overlap)
		}
		fresh := false
		for _, inv := range invs {
			if inv.Kind != kindApp {
				continue // other kinds belong to other caches
			}
			if _, ok := seen[inv.Seq]; !ok {
				seen[inv.Seq] = inv.CreatedAt
				fresh = true
			}
		}
		for seq, at := range seen {
			if at.Before(since.Add(-overlap)) {
				delete(seen, seq)
			}
		}
		sn := s.snap.Load()
		if fresh || sn == nil || started.Sub(sn.loadedAt) >= s.refresh {
			if _, err := s.reload(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "apps: reloading apps failed", "err", err)
			}
		}
	}
}
