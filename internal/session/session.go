// Package session issues and validates server-side sessions. The browser
// holds an opaque random 256-bit token; the database holds only its SHA-256.
// Validation is served from a node-local cache that every node keeps honest
// by polling the invalidation feed, so a revocation reaches all nodes within
// about a second and an IdP outage never signs anyone out. A node that has
// not heard the feed for Config.StaleAfter asks the database instead, so
// being cut off from it never keeps a revoked session alive for long.
// Each session records how it was made (methods, auth time), for /account
// and for the OIDC provider's amr and auth_time.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInvalid means the token names no live session (unknown, revoked, idle
// or past its lifetime, or its account is no longer active).
//
// Its kind is NotFound (code "session_invalid"): to the admin API a
// session ID that names no live session is simply not found; sign-in
// pages match it and send the person to sign in.
var ErrInvalid error = errs.New(errs.NotFound, "session_invalid", "session: invalid or expired")

// Config holds session lifetimes and cookie settings; zero fields take
// config.Default's values (the server passes every one).
type Config struct {
	IdleTimeout   time.Duration
	MaxLifetime   time.Duration
	TouchInterval time.Duration // LastSeenAt is written at most this often
	PollInterval  time.Duration // invalidation feed polling
	CacheTTL      time.Duration // safety bound on a cached entry
	// StaleAfter is how long the cache trusts itself without a successful
	// read of the invalidation feed: past it, every Validate asks storage
	// (and fails if storage cannot answer), so a node cut off from the
	// database stops honouring sessions revoked elsewhere. Zero:
	// StaleFactor × PollInterval (2s by default).
	StaleAfter time.Duration
	// Secure selects the "__Host-gatehouse_session" cookie with the Secure
	// flag. It is false only for http://localhost development, where the
	// cookie is "gatehouse_session".
	Secure bool
	// CookieDomain, when set (config session.cookie_domain, e.g.
	// "example.com"), shares the session with the apps on that domain's
	// subdomains, whose reverse proxies ask /auth/verify: the cookie is
	// then "__Secure-gatehouse_session" with Domain=CookieDomain (a
	// __Host- cookie cannot carry a Domain). Requires Secure.
	CookieDomain string
}

// Validated is a live session together with its account. Its Session may
// share memory with the node's cache: treat it as read-only (Methods
// returns a copy of the method list). Validate leaves Session.TokenHash
// empty: the cache, keyed by the token's hash, does not keep it.
type Validated struct {
	Session storage.Session
	Account storage.Account
	// Groups are the account's IdP groups (as synced at SSO sign-in),
	// cached with the session so forward-auth and group checks need no
	// database read; a change of groups publishes an account
	// invalidation, which drops the cached copy. Read-only.
	Groups []string
}

// StartParams describes a new sign-in.
type StartParams struct {
	Account storage.Account
	// Method is the older, coarser label: "password", "sso", "setup",
	// "recovery", "reset". Empty: derived from Methods.
	Method string
	// Methods lists the authentication methods used, in the order they were
	// used: RFC 8176 "amr" values where one exists (MethodPassword "pwd",
	// MethodOTP "otp", MethodHardware "hwk", MethodMFA "mfa", …) and
	// Gatehouse's own (MethodSSO "sso", MethodEmergency, MethodRecovery).
	// A name outside that list, or listed twice, makes Start fail. Empty:
	// the methods Method stands for ("password" → ["pwd"], "sso" →
	// ["sso"], "setup" and "reset" → ["pwd"], "recovery" → ["recovery"]).
	Methods []string
	// AuthTime is when the person authenticated (OIDC auth_time); zero
	// means now. Up to 3 minutes ahead (another clock, e.g. an IdP's
	// AuthnInstant) counts as now; further ahead fails Start.
	AuthTime  time.Time
	IP        string
	UserAgent string
	// For SSO sign-ins: the IdP connection and the IdP's authentication instant.
	ConnectionID string
	IdPAuthnAt   time.Time
	// IdleTimeout and MaxLifetime are the account policy's session
	// lifetimes; zero takes the deployment's (Config). A policy may set
	// them shorter or longer than the deployment's.
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// EmergencyID is the emergency (failback mode) the sign-in was made
	// under, "" for an ordinary one; it is recorded on the session and on
	// the login.success event.
	EmergencyID string
	// Also are further audit events recorded in the same transaction as
	// the session and its login.success (a break-glass sign-in, for
	// instance): the sign-in and its record commit together. Each event's
	// Time, actor and, if empty, target are filled in as login.success's.
	Also []storage.AuditEvent
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
	// heard is when (UnixNano, by s.now) the last successful poll of the
	// invalidation feed began: the cache knows every invalidation
	// published before then. It starts at created.
	heard atomic.Int64
}

// New returns a Service. The server passes every Config field from its
// validated configuration; a zero field (tests) takes the value
// config.Default gives it, so defaults live only in internal/config.
func New(store storage.Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	def := config.Default().Session
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = def.MaxLifetime
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = config.SessionTouchInterval
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = def.PollInterval
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = config.SessionCacheTTL
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = config.StaleFactor * cfg.PollInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	s := &Service{
		store:   store,
		cfg:     cfg,
		log:     log,
		now:     now,
		cache:   newCache(defaultCacheSize),
		created: now(),
	}
	s.heard.Store(s.created.UnixNano())
	// Changes committed on this node reach this node's cache at once; the
	// feed's poll brings the other nodes' (and is the fallback here).
	if l, ok := store.(storage.LocalInvalidations); ok {
		l.OnInvalidation(s.invalidate)
	}
	return s
}

// invalidate drops what one invalidation names from the cache.
func (s *Service) invalidate(inv storage.Invalidation) {
	switch inv.Kind {
	case kindSession:
		s.cache.dropSession(inv.Key)
	case kindAccount:
		s.cache.dropAccount(inv.Key)
	}
	// Other kinds belong to other caches.
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
	methods, method, err := resolveMethods(p)
	if err != nil {
		return "", storage.Session{}, err
	}
	authTime, err := resolveAuthTime(p.AuthTime, now)
	if err != nil {
		return "", storage.Session{}, err
	}
	idle, life := s.cfg.IdleTimeout, s.cfg.MaxLifetime
	if p.IdleTimeout > 0 {
		idle = p.IdleTimeout
	}
	if p.MaxLifetime > 0 {
		life = p.MaxLifetime
	}
	token, hash := newToken()
	sess = storage.Session{
		ID:          uuid.NewString(),
		TokenHash:   hash,
		AccountID:   a.ID,
		OrgID:       a.OrgID,
		Method:      method,
		CreatedAt:   now,
		LastSeenAt:  now,
		IdleTimeout: idle,
		ExpiresAt:   now.Add(life),
		IP:          p.IP,
		UserAgent:   reqctx.CleanUserAgent(p.UserAgent),

		ConnectionID: p.ConnectionID,
		IdPAuthnAt:   storage.Truncate(p.IdPAuthnAt),
		AMR:          methods,
		AuthTime:     authTime,
		EmergencyID:  p.EmergencyID,
	}
	gen := s.cache.gen.Load()
	var groups []string
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("session: start: %w", err)
		}
		var err error
		if groups, err = tx.ListAccountGroups(ctx, a.ID); err != nil {
			return fmt.Errorf("session: start: %w", err)
		}
		if err := audit.Record(ctx, tx, storage.AuditEvent{
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
			Details:    startDetails(sess),
		}); err != nil {
			return err
		}
		for _, ev := range p.Also {
			ev.OrgID, ev.Time, ev.ActorType, ev.ActorID, ev.ActorEmail = a.OrgID, now, "account", a.ID, a.Email
			if ev.TargetType == "" {
				ev.TargetType, ev.TargetID = "session", sess.ID
			}
			ev.IP, ev.UserAgent = p.IP, sess.UserAgent
			if err := audit.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", storage.Session{}, err
	}
	// The first request after sign-in (the redirect) needs no database read.
	if !s.noCache {
		s.cache.put(tokenSum(token), &entry{sess: sess, acct: &a, groups: groups, cachedAt: now}, gen)
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
	// A cache that has not heard the feed lately may hold a session revoked
	// on another node: storage decides until the feed is heard again.
	if !s.noCache && s.feedFresh(now) {
		if e := s.cache.get(k); e != nil {
			if s.live(e.sess, now) && now.Before(e.cachedAt.Add(s.cfg.CacheTTL)) {
				if now.Sub(e.sess.LastSeenAt) >= s.cfg.TouchInterval {
					s.touchCached(ctx, k, e, now)
				}
				return Validated{Session: e.sess, Account: *e.acct, Groups: e.groups}, nil
			}
			// Expired by our copy, or too old to trust: storage decides.
			// Another node may have kept the session alive since we cached it.
			s.cache.remove(k, e)
		}
	}
	return s.load(ctx, k, now)
}

// feedFresh reports whether the invalidation feed was read successfully
// within StaleAfter of now.
func (s *Service) feedFresh(now time.Time) bool {
	return now.UnixNano()-s.heard.Load() <= int64(s.cfg.StaleAfter)
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

// fromStorage reads a session with get and its account, and returns them
// if the session is live and the account active at now; ErrInvalid if not.
func (s *Service) fromStorage(ctx context.Context, now time.Time, get func() (storage.Session, error)) (Validated, error) {
	sess, err := get()
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
	return Validated{Session: sess, Account: acct}, nil
}

// load validates from storage and caches the result.
func (s *Service) load(ctx context.Context, k key, now time.Time) (Validated, error) {
	gen := s.cache.gen.Load()
	v, err := s.fromStorage(ctx, now, func() (storage.Session, error) { return s.store.GetSessionByTokenHash(ctx, hashHex(k)) })
	if err != nil {
		return Validated{}, err
	}
	sess, acct := v.Session, v.Account
	sess.TokenHash = "" // as from the cache (see Validated)
	groups, err := s.store.ListAccountGroups(ctx, acct.ID)
	if err != nil {
		return Validated{}, fmt.Errorf("session: validate: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "session: recording activity failed", "session_id", sess.ID, "err", err)
		} else {
			sess.LastSeenAt = storage.Truncate(now)
		}
	}
	if !s.noCache {
		s.cache.put(k, &entry{sess: sess, acct: &acct, groups: groups, cachedAt: now}, gen)
	}
	return Validated{Session: sess, Account: acct, Groups: groups}, nil
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
	s.cache.replace(k, e, &entry{sess: sess, acct: e.acct, groups: e.groups, cachedAt: e.cachedAt})
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

// startDetails is what login.success records about how the session was
// made: enough to answer "how did this person get in?" from the log alone.
func startDetails(sess storage.Session) map[string]string {
	d := map[string]string{
		"method":    sess.Method,
		"amr":       amrText(sess.AMR),
		"auth_time": sess.AuthTime.UTC().Format(time.RFC3339Nano),
	}
	if sess.ConnectionID != "" {
		d["connection_id"] = sess.ConnectionID
	}
	if sess.EmergencyID != "" {
		d["emergency_id"] = sess.EmergencyID
	}
	return d
}
