// Package idp manages an organization's SAML IdP connections: where the
// IdP is (metadata URL, pasted metadata or manual settings), which
// certificates are trusted, how attributes map, and Gatehouse's own SP side
// of each connection (a per-connection key, sealed at rest, and the SP
// metadata the admin gives the IdP).
package idp

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Config configures the service.
type Config struct {
	// PublicURL is Gatehouse's external base URL; SP entity IDs and ACS
	// URLs are built from it, so it must not change once IdPs are set up.
	PublicURL string
	// MetadataRefresh is how old fetched metadata may get before Run
	// fetches it again; default 24h.
	MetadataRefresh time.Duration
	// HTTPClient fetches metadata; nil means a client that refuses to
	// connect to loopback, private, link-local and other non-public
	// addresses (see fetch.go), except MetadataAllowedNetworks and, when
	// PublicURL is itself on loopback (development), loopback. A client
	// given here replaces that guard entirely. FetchMetadata bounds the
	// time and size either way.
	HTTPClient *http.Client
	// MetadataAllowedNetworks are non-public networks metadata may still
	// be fetched from, e.g. an intranet ADFS farm's. Any organization's
	// admin can then make the server fetch from them, so list only what
	// every tenant may reach.
	MetadataAllowedNetworks []netip.Prefix
}

// Service is the IdP connection service.
type Service struct {
	store storage.Store
	box   *secretbox.Box
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	// genKey makes SP keys; tests swap in a cached key, because 2048-bit
	// generation dominates their run time.
	genKey func() (*rsa.PrivateKey, error)
	// spKeys holds the SP keys already opened, by connection ID (see
	// SPKey).
	spKeys sync.Map
	// tick, when a test sets it, replaces Run's hourly ticker, so the loop
	// can be driven together with the injected clock.
	tick <-chan time.Time
	// refreshed, when set (SetRefreshObserver), hears every refresh.
	refreshed RefreshObserver
	// secondFactor proves break-glass owners to lockout.Check; see
	// SetSecondFactor.
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the second-factor lookup lockout.Check uses to
// prove a break-glass owner (at wiring). Without it nobody is proven, so a
// change that needs a break-glass owner is refused unless forced.
func (s *Service) SetSecondFactor(f lockout.SecondFactorFunc) { s.secondFactor = f }

// RefreshObserver hears the result of every metadata refresh (SSO health,
// internal/health); err is nil on success.
type RefreshObserver interface {
	MetadataRefreshed(ctx context.Context, conn storage.IdPConnection, err error)
}

// SetRefreshObserver installs o (optional; at wiring).
func (s *Service) SetRefreshObserver(o RefreshObserver) { s.refreshed = o }

// HTTPClient is the client metadata is fetched with: SSRF-guarded unless
// Config.HTTPClient replaced it. SSO health probes IdPs through it.
func (s *Service) HTTPClient() *http.Client { return s.cfg.HTTPClient }

// New returns a Service. log and now may be nil (discard, time.Now).
func New(store storage.Store, box *secretbox.Box, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.MetadataRefresh <= 0 {
		// The server passes saml.metadata_refresh; tests may leave it zero.
		cfg.MetadataRefresh = config.Default().SAML.MetadataRefresh
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = metadataClient(cfg)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, box: box, cfg: cfg, log: log, now: now, genKey: generateSPKey}
}

// clock is now at storage precision, so returned records equal later reads.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// CreateInput describes a new connection. Exactly one source is required:
// MetadataURL (fetched now), MetadataXML (pasted), or manual settings
// (EntityID + SSOURL + at least one certificate).
type CreateInput struct {
	Name string
	// Slug names the connection in URLs (/saml/<slug>/acs); derived from
	// Name when empty. It cannot be changed later: the IdP is configured
	// with URLs that contain it.
	Slug            string
	MetadataURL     string
	MetadataXML     string
	EntityID        string
	SSOURL          string
	CertificatesPEM []string
	// NameIDFormat: "", "persistent", "emailAddress" or "unspecified".
	NameIDFormat string
	// AttributeMap overrides saml.DefaultMapping (Entra ID's claims) per
	// field: email, given_name, surname, display_name, groups, subject.
	AttributeMap map[string]string
	// JIT creates accounts at first sign-in; nil means true.
	JIT               *bool
	AllowIdPInitiated bool
	AllowSHA1         bool
	AllowExpiredCerts bool
	SignRequests      bool
}

// source is what an IdP's trust settings were read from.
type source struct {
	kind      string // "metadata_url", "metadata_xml" or "manual"
	entityID  string
	ssoURL    string
	certs     []string
	xml       string
	wantSign  bool
	fetchedAt time.Time
}

// Create adds a connection to the organization.
func (s *Service) Create(ctx context.Context, orgID string, in CreateInput) (storage.IdPConnection, error) {
	name, err := cleanName(in.Name)
	if err != nil {
		return storage.IdPConnection{}, err
	}
	if err := checkNameIDFormat(in.NameIDFormat); err != nil {
		return storage.IdPConnection{}, err
	}
	if err := checkMapping(in.AttributeMap); err != nil {
		return storage.IdPConnection{}, err
	}
	slug, explicitSlug := strings.TrimSpace(in.Slug), in.Slug != ""
	if explicitSlug {
		if err := checkSlug(slug); err != nil {
			return storage.IdPConnection{}, err
		}
	} else {
		slug = slugFrom(name)
	}
	// The source is read (and a URL fetched) before any transaction: the
	// fetch may take seconds and must not hold database locks.
	src, err := s.readSource(ctx, in.MetadataURL, in.MetadataXML, in.EntityID, in.SSOURL, in.CertificatesPEM)
	if err != nil {
		return storage.IdPConnection{}, err
	}
	key, err := s.genKey()
	if err != nil {
		return storage.IdPConnection{}, fmt.Errorf("idp: generate SP key: %w", err)
	}

	now := s.clock()
	c := storage.IdPConnection{
		ID: uuid.NewString(), OrgID: orgID, Name: name,
		EntityID: src.entityID, SSOURL: src.ssoURL, SigningCertsPEM: src.certs,
		MetadataURL: strings.TrimSpace(in.MetadataURL), MetadataXML: src.xml, MetadataFetchedAt: src.fetchedAt,
		NameIDFormat: in.NameIDFormat, AttributeMap: in.AttributeMap,
		JIT: in.JIT == nil || *in.JIT, AllowIdPInitiated: in.AllowIdPInitiated, AllowSHA1: in.AllowSHA1,
		AllowExpiredCerts: in.AllowExpiredCerts, SignRequests: in.SignRequests || src.wantSign,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if len(c.AttributeMap) == 0 {
		c.AttributeMap = nil
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := tx.GetOrganization(ctx, orgID); err != nil {
			return mapErr(err, "organization "+quote(orgID))
		}
		if c.Slug, err = freeSlug(ctx, tx, slug, explicitSlug); err != nil {
			return err
		}
		// The SP certificate names the SP entity ID, which contains the slug.
		if c.SPKeyPEM, c.SPCertPEM, err = s.spKeyPair(key, c); err != nil {
			return err
		}
		if err := tx.CreateIdPConnection(ctx, c); err != nil {
			return mapErr(err, "an IdP connection with the slug "+quote(c.Slug))
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "idp.create", TargetType: "idp_connection", TargetID: c.ID,
			Details: map[string]string{"name": c.Name, "slug": c.Slug, "source": src.kind, "entity_id": c.EntityID},
		})
	})
	if err != nil {
		return storage.IdPConnection{}, err
	}
	return c, nil
}

// freeSlug returns slug if nobody uses it; a derived slug gets the first
// free "-2", "-3", … suffix, an explicit one is refused when taken. Slugs
// are unique across the deployment (the ACS URL names one connection).
func freeSlug(ctx context.Context, tx storage.IdPConnections, slug string, explicit bool) (string, error) {
	for i := 1; i <= 100; i++ {
		cand := slug
		if i > 1 {
			cand = slug + "-" + strconv.Itoa(i)
		}
		_, err := tx.GetIdPConnectionBySlug(ctx, cand)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return cand, nil
		case err != nil:
			return "", fmt.Errorf("idp: look up slug: %w", err)
		case explicit:
			return "", mapErr(storage.ErrConflict, "an IdP connection with the slug "+quote(slug))
		}
	}
	return "", invalid("slug", "Too many connections are named like this one; choose a slug.")
}

// readSource checks that exactly one source is given and reads it.
func (s *Service) readSource(ctx context.Context, metadataURL, metadataXML, entityID, ssoURL string, certs []string) (source, error) {
	metadataURL, metadataXML = strings.TrimSpace(metadataURL), strings.TrimSpace(metadataXML)
	manual := strings.TrimSpace(entityID) != "" || strings.TrimSpace(ssoURL) != "" || len(certs) > 0
	n := 0
	for _, set := range []bool{metadataURL != "", metadataXML != "", manual} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return source{}, invalid("metadata_url", "Give the IdP's metadata URL, paste its metadata XML, or enter its entity ID, SSO URL and signing certificate.")
	case n > 1:
		return source{}, invalid("metadata_url", "Give only one of: the metadata URL, the metadata XML, or the manual settings (entity ID, SSO URL, certificates).")
	case metadataURL != "":
		return s.fetchSource(ctx, metadataURL)
	case metadataXML != "":
		src, err := sourceFromXML([]byte(metadataXML))
		if err != nil {
			return src, invalid("metadata_xml", "%s", err.Error())
		}
		src.kind = "metadata_xml"
		return src, nil
	}
	src := source{kind: "manual"}
	var err error
	if src.entityID, err = checkEntityID(entityID); err != nil {
		return src, err
	}
	if src.ssoURL, err = checkSSOURL("sso_url", ssoURL); err != nil {
		return src, err
	}
	parsed, err := parseCertificates(certs)
	if err != nil {
		return src, err
	}
	if len(parsed) == 0 {
		return src, invalid("certificates", "Add at least one signing certificate of the IdP.")
	}
	src.certs = certPEMs(parsed)
	return src, nil
}

// fetchSource downloads and reads metadata from a URL.
func (s *Service) fetchSource(ctx context.Context, rawURL string) (source, error) {
	if len(rawURL) > maxURLLen {
		return source{}, invalid("metadata_url", "The metadata URL is longer than %d characters.", maxURLLen)
	}
	body, err := saml.FetchMetadata(ctx, s.cfg.HTTPClient, rawURL)
	if err != nil {
		return source{}, invalid("metadata_url", "%s", err.Error())
	}
	src, err := sourceFromXML(body)
	if err != nil {
		return source{}, invalid("metadata_url", "The document at the metadata URL is not usable IdP metadata: %s", err.Error())
	}
	src.kind, src.fetchedAt = "metadata_url", s.clock()
	return src, nil
}

// sourceFromXML reads IdP metadata. Gatehouse sends AuthnRequests with the
// HTTP-Redirect binding, so the IdP must offer it.
func sourceFromXML(data []byte) (source, error) {
	md, err := saml.ParseIdPMetadata(data)
	if err != nil {
		return source{}, err
	}
	if md.SSOURLRedirect == "" {
		return source{}, errors.New("The IdP offers no SingleSignOnService with the HTTP-Redirect binding, which Gatehouse uses to send sign-in requests")
	}
	if _, err := checkEntityID(md.EntityID); err != nil {
		return source{}, fmt.Errorf("The metadata's entityID: %w", err)
	}
	ssoURL, err := checkSSOURL("metadata", md.SSOURLRedirect)
	if err != nil {
		return source{}, fmt.Errorf("The metadata's SingleSignOnService: %w", err)
	}
	if len(md.SigningCertificates) > maxCerts {
		return source{}, fmt.Errorf("The metadata lists %d signing certificates; at most %d are accepted", len(md.SigningCertificates), maxCerts)
	}
	return source{
		entityID: md.EntityID, ssoURL: ssoURL, certs: certPEMs(md.SigningCertificates),
		xml: string(data), wantSign: md.WantAuthnRequestsSigned,
	}, nil
}

// Get returns the organization's connection by ID; another organization's
// reads as missing.
func (s *Service) Get(ctx context.Context, orgID, id string) (storage.IdPConnection, error) {
	c, err := s.store.GetIdPConnection(ctx, id)
	if err == nil && c.OrgID != orgID {
		err = storage.ErrNotFound
	}
	return c, mapErr(err, "IdP connection "+quote(id))
}

// GetBySlug returns the organization's connection by slug.
func (s *Service) GetBySlug(ctx context.Context, orgID, slug string) (storage.IdPConnection, error) {
	c, err := s.store.GetIdPConnectionBySlug(ctx, slug)
	if err == nil && c.OrgID != orgID {
		err = storage.ErrNotFound
	}
	return c, mapErr(err, "IdP connection "+quote(slug))
}

// Find resolves ref, a connection ID or slug, within the organization;
// another organization's connection is not found.
func (s *Service) Find(ctx context.Context, orgID, ref string) (storage.IdPConnection, error) {
	c, err := s.Get(ctx, orgID, ref)
	if errors.Is(err, account.ErrNotFound) {
		c, err = s.GetBySlug(ctx, orgID, ref)
	}
	return c, err
}

// GetBySlugAnyOrg returns the connection with slug in whichever
// organization owns it. Slugs are unique across the deployment and public
// (they are in every SAML URL), so the pages an IdP or a browser reaches
// without naming an organization (/saml/{slug}/…) look them up here.
func (s *Service) GetBySlugAnyOrg(ctx context.Context, slug string) (storage.IdPConnection, error) {
	c, err := s.store.GetIdPConnectionBySlug(ctx, slug)
	return c, mapErr(err, "IdP connection "+quote(slug))
}

// List returns the organization's connections.
func (s *Service) List(ctx context.Context, orgID string) ([]storage.IdPConnection, error) {
	if orgID == "" {
		return nil, nil // "" lists every org's in storage; never here
	}
	cs, err := s.store.ListIdPConnections(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("idp: list connections: %w", err)
	}
	return cs, nil
}

// Remove deletes the connection with its SSO links and pending SAML
// state. It is refused (ErrInUse) while a policy uses the connection.
func (s *Service) Remove(ctx context.Context, orgID, id string) error {
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		c, err := tx.GetIdPConnection(ctx, id)
		if err == nil && c.OrgID != orgID {
			err = storage.ErrNotFound
		}
		if err != nil {
			return mapErr(err, "IdP connection "+quote(id))
		}
		// Storage refuses to delete a connection a policy names, and Decide
		// offers the password form for a missing one, so this never refuses
		// today; it stays so that the rule lives in one place if either changes.
		if _, err := lockout.Check(ctx, tx, orgID, func(cfg *lockout.Config) { cfg.RemoveConnection(id) }, lockout.Force{}, s.secondFactor); err != nil {
			return err
		}
		if err := tx.DeleteIdPConnection(ctx, orgID, id); errors.Is(err, storage.ErrConflict) {
			return ErrInUse
		} else if err != nil {
			return mapErr(err, "IdP connection "+quote(id))
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "idp.remove", TargetType: "idp_connection", TargetID: id,
			Details: map[string]string{"name": c.Name, "slug": c.Slug, "entity_id": c.EntityID},
		})
	})
}

// record writes an audit event through tx with the service's clock.
func (s *Service) record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	e.Time = now
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	return nil
}
