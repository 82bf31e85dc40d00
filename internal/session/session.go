// Package session issues and validates server-side sessions. The browser
// holds an opaque random 256-bit token; the database holds only its SHA-256.
// Validation is served from a node-local cache that every node keeps honest
// by polling the invalidation feed, so a revocation reaches all nodes within
// about a second and an IdP outage never signs anyone out.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInvalid means the token names no live session (unknown, revoked, idle
// or past its lifetime, or its account is no longer active).
var ErrInvalid = errors.New("session: invalid or expired")

// Config holds session lifetimes and cookie settings.
type Config struct {
	IdleTimeout   time.Duration // default 8h
	MaxLifetime   time.Duration // default 7 days
	TouchInterval time.Duration // LastSeenAt is written at most this often; default 1m
	PollInterval  time.Duration // invalidation feed polling; default 500ms
	CacheTTL      time.Duration // safety bound on a cached entry; default 30s
	// Secure selects the "__Host-gatehouse_session" cookie with the Secure
	// flag. It is false only for http://localhost development, where the
	// cookie is "gatehouse_session".
	Secure bool
}

// Defaults for zero Config fields.
const (
	DefaultIdleTimeout   = 8 * time.Hour
	DefaultMaxLifetime   = 7 * 24 * time.Hour
	DefaultTouchInterval = time.Minute
	DefaultPollInterval  = 500 * time.Millisecond
	DefaultCacheTTL      = 30 * time.Second
)

// Validated is a live session together with its account.
type Validated struct {
	Session storage.Session
	Account storage.Account
}

// StartParams describes a new sign-in.
type StartParams struct {
	Account   storage.Account
	Method    string // "password", "sso", "setup", "recovery"
	IP        string
	UserAgent string
	// For SSO sign-ins: the IdP connection and the IdP's authentication instant.
	ConnectionID string
	IdPAuthnAt   time.Time
}

// Service manages sessions.
type Service struct {
	store storage.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	cache *cache
	// noCache sends every Validate to storage (the cold benchmark).
	noCache bool
	// created is when the Service began caching; Run's first poll reads
	// invalidations from just before it.
	created time.Time
}

// New returns a Service; zero Config fields take their defaults.
func New(store storage.Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = DefaultTouchInterval
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{
		store:   store,
		cfg:     cfg,
		log:     log,
		now:     now,
		cache:   newCache(defaultCacheSize),
		created: now(),
	}
}

// Start creates a session for an authenticated account with a fresh token
// (so a session fixed before sign-in is never reused) and writes the
// "login.success" audit event in the same transaction. It returns the token
// for the cookie.
func (s *Service) Start(ctx context.Context, p StartParams) (token string, sess storage.Session, err error) {
	a := p.Account
	if a.ID == "" || a.OrgID == "" {
		return "", storage.Session{}, errors.New("session: start: account has no ID or organization")
	}
	if a.Status != storage.StatusActive {
		return "", storage.Session{}, fmt.Errorf("session: start: account %s is %s, not active", a.ID, a.Status)
	}
	now := storage.Truncate(s.now())
	token, hash := newToken()
	sess = storage.Session{
		ID:          uuid.NewString(),
		TokenHash:   hash,
		AccountID:   a.ID,
		OrgID:       a.OrgID,
		Method:      p.Method,
		CreatedAt:   now,
		LastSeenAt:  now,
		IdleTimeout: s.cfg.IdleTimeout,
		ExpiresAt:   now.Add(s.cfg.MaxLifetime),
		IP:          p.IP,
		UserAgent:   reqctx.CleanUserAgent(p.UserAgent),

		ConnectionID: p.ConnectionID,
		IdPAuthnAt:   storage.Truncate(p.IdPAuthnAt),
	}
	gen := s.cache.gen.Load()
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("session: start: %w", err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID:      a.OrgID,
			Time:       now,
			ActorType:  "account",
			ActorID:    a.ID,
			ActorEmail: a.Email,
			Action:     "login.success",
			TargetType: "session",
			TargetID:   sess.ID,
			IP:         p.IP,
			UserAgent:  sess.UserAgent,
			Details:    startDetails(p),
		})
	})
	if err != nil {
		return "", storage.Session{}, err
	}
	// The first request after sign-in (the redirect) needs no database read.
	if !s.noCache {
		s.cache.put(tokenSum(token), &entry{sess: sess, acct: a, cachedAt: now}, gen)
	}
	return token, sess, nil
}

// Validate returns the live session and account for token, or ErrInvalid.
// Other errors mean storage could not be asked.
//
// The lookup is by hash, with no constant-time comparison, deliberately:
// the key is the SHA-256 of what the client sent, so timing can at most
// reveal something about a hash the attacker computed themselves, never
// about a stored one it could not invert anyway.
func (s *Service) Validate(ctx context.Context, token string) (Validated, error) {
	if !wellFormed(token) {
		return Validated{}, ErrInvalid
	}
	k := tokenSum(token)
	now := s.now()
	if !s.noCache {
		if e := s.cache.get(k); e != nil {
			if s.live(e.sess, now) && now.Before(e.cachedAt.Add(s.cfg.CacheTTL)) {
				if now.Sub(e.sess.LastSeenAt) >= s.cfg.TouchInterval {
					s.touchCached(ctx, k, e, now)
				}
				return Validated{Session: e.sess, Account: e.acct}, nil
			}
			// Expired by our copy, or too old to trust: storage decides.
			// Another node may have kept the session alive since we cached it.
			s.cache.remove(k, e)
		}
	}
	return s.load(ctx, k, now)
}

// live reports whether sess is neither revoked, past its lifetime, nor idle
// for longer than its idle timeout at now.
func (s *Service) live(sess storage.Session, now time.Time) bool {
	idle := sess.IdleTimeout
	if idle <= 0 {
		idle = s.cfg.IdleTimeout
	}
	return sess.RevokedAt.IsZero() && now.Before(sess.ExpiresAt) && now.Before(sess.LastSeenAt.Add(idle))
}

// load validates from storage and caches the result.
func (s *Service) load(ctx context.Context, k key, now time.Time) (Validated, error) {
	gen := s.cache.gen.Load()
	sess, err := s.store.GetSessionByTokenHash(ctx, hashHex(k))
	if errors.Is(err, storage.ErrNotFound) {
		return Validated{}, ErrInvalid
	}
	if err != nil {
		return Validated{}, fmt.Errorf("session: validate: %w", err)
	}
	if !s.live(sess, now) {
		return Validated{}, ErrInvalid
	}
	acct, err := s.store.GetAccount(ctx, sess.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return Validated{}, ErrInvalid
	}
	if err != nil {
		return Validated{}, fmt.Errorf("session: validate: %w", err)
	}
	if acct.Status != storage.StatusActive {
		return Validated{}, ErrInvalid
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "session: recording activity failed", "session_id", sess.ID, "err", err)
		} else {
			sess.LastSeenAt = storage.Truncate(now)
		}
	}
	if !s.noCache {
		s.cache.put(k, &entry{sess: sess, acct: acct, cachedAt: now}, gen)
	}
	return Validated{Session: sess, Account: acct}, nil
}

// touchCached records activity on a cached session: in storage, so idle
// expiry is judged on every node's requests, and in the cached copy, so
// the cache stays warm. Only one caller per entry writes.
func (s *Service) touchCached(ctx context.Context, k key, e *entry, now time.Time) {
	if !e.touching.CompareAndSwap(false, true) {
		return
	}
	if err := s.store.TouchSession(ctx, e.sess.ID, now); err != nil {
		// The session stays valid on our copy; the next request retries.
		e.touching.Store(false)
		s.log.WarnContext(ctx, "session: recording activity failed", "session_id", e.sess.ID, "err", err)
		return
	}
	sess := e.sess
	sess.LastSeenAt = storage.Truncate(now)
	s.cache.replace(k, e, &entry{sess: sess, acct: e.acct, cachedAt: e.cachedAt})
}

// List returns the account's live sessions, newest first.
func (s *Service) List(ctx context.Context, accountID string) ([]storage.Session, error) {
	now := s.now()
	all, err := s.store.ListSessions(ctx, accountID, now)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	live := all[:0]
	for _, sess := range all {
		if s.live(sess, now) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// maxUserAgent bounds the stored User-Agent (see reqctx.CleanUserAgent).
const maxUserAgent = reqctx.MaxUserAgent

func startDetails(p StartParams) map[string]string {
	d := map[string]string{"method": p.Method}
	if p.ConnectionID != "" {
		d["connection_id"] = p.ConnectionID
	}
	return d
}
