// Package apps registers the applications an organization signs its people
// into: OpenID Connect clients and sites behind a reverse proxy that ask
// /auth/verify. It owns the rules every edge shares: exact redirect URIs,
// client secrets shown once and stored hashed, the group restriction, and
// which absolute return URLs are Gatehouse's own or a registered app's.
package apps

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Input is what an admin sets on an app. Create and Update take the whole
// of it; empty lists and zero lifetimes mean none and the deployment's.
type Input struct {
	Name                   string
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	Groups                 []string
	Hosts                  []string
	AccessTokenTTL         time.Duration
	IDTokenTTL             time.Duration
	RefreshTokenTTL        time.Duration
	SigningAlg             string
}

// InputOf returns a's settings as an Input, for an edge that changes some
// of them and passes the rest unchanged to Update.
func InputOf(a storage.App) Input {
	return Input{
		Name: a.Name, Public: a.Public,
		RedirectURIs:           slices.Clone(a.RedirectURIs),
		PostLogoutRedirectURIs: slices.Clone(a.PostLogoutRedirectURIs),
		Scopes:                 slices.Clone(a.Scopes), Groups: slices.Clone(a.Groups), Hosts: slices.Clone(a.Hosts),
		AccessTokenTTL: a.AccessTokenTTL, IDTokenTTL: a.IDTokenTTL, RefreshTokenTTL: a.RefreshTokenTTL,
		SigningAlg: a.SigningAlg,
	}
}

// Errors callers match with errors.Is; their texts are safe to show.
var (
	// ErrPublic: a public app has no client secret to rotate.
	ErrPublic error = errs.New(errs.PreconditionFailed, "public_app", "A public app has no client secret; nothing to rotate.")
	// ErrChanged: the app changed while this change was being made.
	ErrChanged error = errs.New(errs.Conflict, "app_changed", "The app was changed by someone else at the same time; try again.")
)

// SecretPrefix starts every client secret, so one found in a log or a
// repository is recognisable (and scanners can look for it).
const SecretPrefix = "ghs_"

// kindApp is the invalidation-feed kind that tells every node to reload
// its snapshot of apps.
const kindApp = "app"

// Service registers apps and answers the protocol edges' lookups.
type Service struct {
	store storage.Store
	log   *slog.Logger
	now   func() time.Time
	// publicURL is Gatehouse's own origin: return URLs on it are always
	// allowed.
	publicURL string
	own       origin

	// snap is the node's view of every app (ByHost, ReturnAllowed);
	// nil until the first load.
	snap atomic.Pointer[snapshot]
	// loadMu serialises reloads, so an older read never replaces a newer.
	loadMu sync.Mutex
	// pollInterval spaces Run's reads of the invalidation feed; refresh
	// is the longest the snapshot goes without a reload.
	pollInterval time.Duration
	refresh      time.Duration
}

// New returns a Service; publicURL is the deployment's public URL.
func New(store storage.Store, publicURL string, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, publicURL: publicURL, own: originOf(publicURL), log: log, now: now,
		pollInterval: time.Second, refresh: 5 * time.Second}
}

// Issuer is the OpenID Connect issuer apps are told to trust: the public
// URL without a trailing slash.
func (s *Service) Issuer() string { return strings.TrimRight(s.publicURL, "/") }

// DiscoveryURL is where the issuer publishes its OpenID Connect settings.
func (s *Service) DiscoveryURL() string { return s.Issuer() + "/.well-known/openid-configuration" }

// clock is now at storage precision, so returned records equal later reads.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// Create registers an app for orgID (admins only) and returns it with its
// client secret, shown this once ("" for a public app). Audited as
// app.create.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (storage.App, string, error) {
	in, err := clean(in)
	if err != nil {
		return storage.App{}, "", err
	}
	clientID, err := newClientID()
	if err != nil {
		return storage.App{}, "", err
	}
	now := s.clock()
	a := appFrom(storage.App{ID: uuid.NewString(), OrgID: orgID, ClientID: clientID, CreatedAt: now}, in)
	a.UpdatedAt, a.Version = now, 1
	var secret string
	if !a.Public {
		if secret, a.SecretHash, err = newSecret(); err != nil {
			return storage.App{}, "", err
		}
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		if err := checkTaken(ctx, tx, a); err != nil {
			return err
		}
		if err := tx.CreateApp(ctx, a); err != nil {
			return mapErr(err, "app "+strconv.Quote(a.Name))
		}
		return s.changed(ctx, tx, a, "app.create", details(a))
	})
	if err != nil {
		return storage.App{}, "", err
	}
	s.reloadAfterChange(ctx)
	return a, secret, nil
}

// Update replaces an app's settings (admins only). Audited as app.update.
// Whether it is public is fixed at creation: a confidential app's secret
// would otherwise be left behind or missing.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (storage.App, error) {
	in, err := clean(in)
	if err != nil {
		return storage.App{}, err
	}
	var out storage.App
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		cur, err := tx.GetApp(ctx, orgID, id)
		if err != nil {
			return mapErr(err, "app "+strconv.Quote(id))
		}
		if in.Public != cur.Public {
			return invalid("public", "An app stays confidential or public; register a new app to change that.")
		}
		if err := checkTaken(ctx, tx, appFrom(cur, in)); err != nil {
			return err
		}
		now := s.clock()
		out, err = tx.UpdateApp(ctx, orgID, id, func(a *storage.App) error {
			if a.Version != cur.Version {
				return ErrChanged
			}
			*a = appFrom(*a, in)
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return mapUpdateErr(err, id)
		}
		d := details(out)
		for k, v := range diff(cur, out) {
			d[k] = v
		}
		return s.changed(ctx, tx, out, "app.update", d)
	})
	if err != nil {
		return storage.App{}, err
	}
	s.reloadAfterChange(ctx)
	return out, nil
}

// Delete removes an app (admins only); its tokens stop working at once,
// since every token check loads its app. Audited as app.delete.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		a, err := tx.GetApp(ctx, orgID, id)
		if err != nil {
			return mapErr(err, "app "+strconv.Quote(id))
		}
		if err := tx.DeleteApp(ctx, orgID, id); err != nil {
			return mapErr(err, "app "+strconv.Quote(id))
		}
		return s.changed(ctx, tx, a, "app.delete", map[string]string{"name": a.Name, "client_id": a.ClientID})
	})
	if err != nil {
		return err
	}
	s.reloadAfterChange(ctx)
	return nil
}

// RotateSecret gives a confidential app a new secret, shown this once; the
// old one stops working. Audited as app.secret_rotate.
func (s *Service) RotateSecret(ctx context.Context, orgID, id string) (string, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", err
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		now := s.clock()
		a, err := tx.UpdateApp(ctx, orgID, id, func(a *storage.App) error {
			if a.Public {
				return ErrPublic
			}
			a.SecretHash, a.UpdatedAt = hash, now
			return nil
		})
		if err != nil {
			return mapUpdateErr(err, id)
		}
		return s.changed(ctx, tx, a, "app.secret_rotate", map[string]string{"name": a.Name, "client_id": a.ClientID})
	})
	if err != nil {
		return "", err
	}
	s.reloadAfterChange(ctx)
	return secret, nil
}

// List returns orgID's apps (readers).
func (s *Service) List(ctx context.Context, orgID string) ([]storage.App, error) {
	var out []storage.App
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireReader(ctx, tx, orgID); err != nil {
			return err
		}
		var err error
		out, err = tx.ListApps(ctx, orgID)
		return mapErr(err, "apps")
	})
	return out, err
}

// Get returns orgID's app by ID or by name (readers).
func (s *Service) Get(ctx context.Context, orgID, idOrName string) (storage.App, error) {
	var out storage.App
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireReader(ctx, tx, orgID); err != nil {
			return err
		}
		a, err := tx.GetApp(ctx, orgID, idOrName)
		if err == nil {
			out = a
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return mapErr(err, "app")
		}
		all, err := tx.ListApps(ctx, orgID)
		if err != nil {
			return mapErr(err, "apps")
		}
		for _, a := range all {
			if a.Name == idOrName {
				out = a
				return nil
			}
		}
		return mapErr(storage.ErrNotFound, "app "+strconv.Quote(idOrName))
	})
	return out, err
}

// ByClientID returns the app with clientID, for the OIDC endpoints (no
// actor: the protocol authenticates the client itself).
// storage.ErrNotFound when there is none.
func (s *Service) ByClientID(ctx context.Context, clientID string) (storage.App, error) {
	if clientID == "" || len(clientID) > 200 {
		return storage.App{}, fmt.Errorf("apps: client ID: %w", storage.ErrNotFound)
	}
	a, err := s.store.GetAppByClientID(ctx, clientID)
	if err != nil {
		return storage.App{}, fmt.Errorf("apps: client ID: %w", err)
	}
	return a, nil
}

// VerifySecret reports, in constant time, whether secret is app's client
// secret. Always false for a public app.
func VerifySecret(app storage.App, secret string) bool {
	if app.Public || app.SecretHash == "" || secret == "" {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	got := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(app.SecretHash)) == 1
}

// Admits reports whether a person with groups may use app: true when the
// app restricts no groups or they share one (group names compare exactly).
func Admits(app storage.App, groups []string) bool {
	if len(app.Groups) == 0 {
		return true
	}
	for _, g := range groups {
		if slices.Contains(app.Groups, g) {
			return true
		}
	}
	return false
}

// appFrom is a with in's settings (in already cleaned).
func appFrom(a storage.App, in Input) storage.App {
	a.Name, a.Public = in.Name, in.Public
	a.RedirectURIs, a.PostLogoutRedirectURIs = in.RedirectURIs, in.PostLogoutRedirectURIs
	a.Scopes, a.Groups, a.Hosts = in.Scopes, in.Groups, in.Hosts
	a.AccessTokenTTL, a.IDTokenTTL, a.RefreshTokenTTL = in.AccessTokenTTL, in.IDTokenTTL, in.RefreshTokenTTL
	a.SigningAlg = in.SigningAlg
	return a
}

// checkTaken refuses a name the organization's other app has or a host
// any other app has, with the field at fault. Checked before writing: a
// failing INSERT would poison a PostgreSQL transaction, and the message
// should say which.
func checkTaken(ctx context.Context, tx storage.Store, a storage.App) error {
	all, err := tx.ListAllApps(ctx)
	if err != nil {
		return mapErr(err, "apps")
	}
	for _, o := range all {
		if o.ID == a.ID {
			continue
		}
		if o.OrgID == a.OrgID && o.Name == a.Name {
			return &fieldConflict{field: "name", msg: fmt.Sprintf("An app named %q already exists in this organization.", a.Name)}
		}
		for _, h := range a.Hosts {
			if slices.Contains(o.Hosts, h) {
				// Another organization's app is not named: the host alone
				// says enough, and tenants learn nothing of each other.
				return &fieldConflict{field: "hosts", msg: fmt.Sprintf("The host %q belongs to another app.", h)}
			}
		}
	}
	return nil
}

// fieldConflict is a Conflict that names the input field at fault.
type fieldConflict struct{ field, msg string }

func (e *fieldConflict) Error() string      { return e.msg }
func (e *fieldConflict) Kind() errs.Kind    { return errs.Conflict }
func (e *fieldConflict) InputField() string { return e.field }

// changed records the audit event and tells every node to reload its
// apps, both in tx.
func (s *Service) changed(ctx context.Context, tx storage.Store, a storage.App, action string, d map[string]string) error {
	now := s.clock()
	if err := audit.Record(ctx, tx, storage.AuditEvent{OrgID: a.OrgID, Time: now, Action: action,
		TargetType: "app", TargetID: a.ID, Details: d}); err != nil {
		return err
	}
	return tx.PublishInvalidation(ctx, kindApp, a.ID, now)
}

// details describes an app for its audit event; never the secret or its
// hash.
func details(a storage.App) map[string]string {
	d := map[string]string{
		"name":          a.Name,
		"client_id":     a.ClientID,
		"type":          typeOf(a),
		"redirect_uris": strings.Join(a.RedirectURIs, " "),
		"scopes":        strings.Join(a.Scopes, " "),
		"groups":        strings.Join(a.Groups, ","),
		"hosts":         strings.Join(a.Hosts, " "),
		"signing_alg":   a.SigningAlg,
		"post_logout":   strings.Join(a.PostLogoutRedirectURIs, " "),
		"access_ttl":    a.AccessTokenTTL.String(),
		"id_token_ttl":  a.IDTokenTTL.String(),
		"refresh_ttl":   a.RefreshTokenTTL.String(),
	}
	return d
}

// diff names what an update changed: "changed" lists the settings.
func diff(before, after storage.App) map[string]string {
	b, a := details(before), details(after)
	var keys []string
	for k, v := range a {
		if b[k] != v {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := map[string]string{"changed": strings.Join(keys, ",")}
	if b["name"] != a["name"] {
		out["previous_name"] = b["name"]
	}
	return out
}

func typeOf(a storage.App) string {
	if a.Public {
		return "public"
	}
	return "confidential"
}

func mapErr(err error, what string) error { return account.MapStoreErr(err, "apps", what) }

// mapUpdateErr keeps this package's and fn's own errors, and maps the
// store's.
func mapUpdateErr(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrPublic), errors.Is(err, ErrChanged):
		return err
	case errors.Is(err, storage.ErrConflict):
		// A host taken between checkTaken and the write, or a concurrent
		// update: both say try again.
		return fmt.Errorf("%w (%w)", ErrChanged, err)
	}
	return mapErr(err, "app "+strconv.Quote(id))
}

// b32 is lowercase base32 without padding: client IDs are easy to copy and
// read out, and carry nothing of the organization or app.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newClientID returns 120 random bits as 24 characters.
func newClientID() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("apps: client ID: %w", err)
	}
	return b32.EncodeToString(b[:]), nil
}

// newSecret returns a client secret (256 random bits, base64url, with
// SecretPrefix) and its stored hash.
func newSecret() (secret, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("apps: client secret: %w", err)
	}
	secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}
