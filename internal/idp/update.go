package idp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// UpdateInput changes a connection; nil fields stay as they are. The slug
// cannot change (the IdP is configured with URLs that contain it), and
// certificates change through AddCertificate and RemoveCertificate.
type UpdateInput struct {
	Name *string
	// MetadataURL switches the connection to a metadata URL (fetched now)
	// or, with "", to manual settings keeping the current values.
	MetadataURL *string
	// MetadataXML replaces the settings with pasted metadata (and stops
	// following a metadata URL).
	MetadataXML *string
	// EntityID and SSOURL edit manual settings; refused while the
	// connection follows a metadata URL, which would overwrite them.
	EntityID          *string
	SSOURL            *string
	NameIDFormat      *string
	AttributeMap      *map[string]string
	JIT               *bool
	AllowIdPInitiated *bool
	AllowSHA1         *bool
	AllowExpiredCerts *bool
	SignRequests      *bool
}

// Update changes the organization's connection.
func (s *Service) Update(ctx context.Context, orgID, id string, in UpdateInput) (storage.IdPConnection, error) {
	cur, err := s.Get(ctx, orgID, id)
	if err != nil {
		return cur, err
	}
	var name string
	if in.Name != nil {
		if name, err = cleanName(*in.Name); err != nil {
			return cur, err
		}
	}
	if in.NameIDFormat != nil {
		if err := checkNameIDFormat(*in.NameIDFormat); err != nil {
			return cur, err
		}
	}
	if in.AttributeMap != nil {
		if err := checkMapping(*in.AttributeMap); err != nil {
			return cur, err
		}
	}
	if in.MetadataURL != nil && *in.MetadataURL != "" && in.MetadataXML != nil && *in.MetadataXML != "" {
		return cur, invalid("metadata_url", "Give either a metadata URL or metadata XML, not both.")
	}
	// Read a new source before the transaction (a fetch may take seconds).
	var src *source
	switch {
	case in.MetadataURL != nil && strings.TrimSpace(*in.MetadataURL) != "":
		got, err := s.fetchSource(ctx, strings.TrimSpace(*in.MetadataURL))
		if err != nil {
			return cur, err
		}
		src = &got
	case in.MetadataXML != nil && strings.TrimSpace(*in.MetadataXML) != "":
		got, err := sourceFromXML([]byte(strings.TrimSpace(*in.MetadataXML)))
		if err != nil {
			return cur, invalid("metadata_xml", "%s", err.Error())
		}
		src = &got
	}
	var entityID, ssoURL string
	if in.EntityID != nil {
		if entityID, err = checkEntityID(*in.EntityID); err != nil {
			return cur, err
		}
	}
	if in.SSOURL != nil {
		if ssoURL, err = checkSSOURL("sso_url", *in.SSOURL); err != nil {
			return cur, err
		}
	}

	now := s.clock()
	var out storage.IdPConnection
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		// Changing a connection an owner signs in through is an owner's call.
		if err := authz.RequireOwnerForConnection(ctx, tx, orgID, cur.ID); err != nil {
			return err
		}
		var changed []string
		set := func(field string, dst any, v any) {
			changed = append(changed, field)
			switch d := dst.(type) {
			case *string:
				*d = v.(string)
			case *bool:
				*d = v.(bool)
			}
		}
		var voided bool
		out, err = tx.UpdateIdPConnection(ctx, id, func(c *storage.IdPConnection) error {
			changed = changed[:0]
			if c.OrgID != orgID {
				return storage.ErrNotFound
			}
			before := *c
			defer func() { voided = voidTest(before, c) }()
			if in.Name != nil && name != c.Name {
				set("name", &c.Name, name)
			}
			if in.MetadataURL != nil && strings.TrimSpace(*in.MetadataURL) == "" && c.MetadataURL != "" {
				set("metadata_url", &c.MetadataURL, "")
				c.MetadataError = ""
			}
			if src != nil {
				if in.MetadataURL != nil {
					set("metadata_url", &c.MetadataURL, strings.TrimSpace(*in.MetadataURL))
				} else {
					set("metadata_xml", &c.MetadataURL, "")
				}
				applySource(c, *src)
			}
			if (in.EntityID != nil || in.SSOURL != nil) && c.MetadataURL != "" {
				return invalid("entity_id", "This connection follows its metadata URL, which would overwrite manual settings. Clear the metadata URL first.")
			}
			if in.EntityID != nil && entityID != c.EntityID {
				set("entity_id", &c.EntityID, entityID)
			}
			if in.SSOURL != nil && ssoURL != c.SSOURL {
				set("sso_url", &c.SSOURL, ssoURL)
			}
			if in.NameIDFormat != nil && *in.NameIDFormat != c.NameIDFormat {
				set("name_id_format", &c.NameIDFormat, *in.NameIDFormat)
			}
			if in.AttributeMap != nil && !maps.Equal(*in.AttributeMap, c.AttributeMap) {
				changed = append(changed, "attribute_map")
				c.AttributeMap = maps.Clone(*in.AttributeMap)
			}
			for _, f := range []struct {
				name string
				in   *bool
				dst  *bool
			}{
				{"jit", in.JIT, &c.JIT},
				{"allow_idp_initiated", in.AllowIdPInitiated, &c.AllowIdPInitiated},
				{"allow_sha1", in.AllowSHA1, &c.AllowSHA1},
				{"allow_expired_certs", in.AllowExpiredCerts, &c.AllowExpiredCerts},
				{"sign_requests", in.SignRequests, &c.SignRequests},
			} {
				if f.in != nil && *f.in != *f.dst {
					set(f.name, f.dst, *f.in)
				}
			}
			if len(changed) > 0 {
				c.UpdatedAt = now
			}
			return nil
		})
		if err != nil {
			return mapErr(err, "IdP connection "+quote(id))
		}
		if len(changed) == 0 {
			return nil
		}
		details := map[string]string{"changed": strings.Join(slices.Compact(changed), ",")}
		if voided {
			details["test_voided"] = "true"
		}
		for _, f := range []struct {
			k string
			v *bool
		}{{"allow_idp_initiated", in.AllowIdPInitiated}, {"allow_sha1", in.AllowSHA1}, {"allow_expired_certs", in.AllowExpiredCerts}, {"jit", in.JIT}} {
			if f.v != nil {
				details[f.k] = strconv.FormatBool(*f.v)
			}
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "idp.update", TargetType: "idp_connection", TargetID: id, Details: details,
		})
	})
	if err != nil {
		return cur, err
	}
	return out, nil
}

// voidTest clears after.TestedAt, and reports so, when an admin's change
// from before to after can break sign-ins that worked in the test: another
// entity ID or SSO URL, a trusted certificate removed, another NameID
// format or attribute mapping, signed requests switched, or SHA-1 or
// expired certificates no longer tolerated. Enforcing SSO requires a test
// sign-in precisely because such mistakes lock everyone out; a test of the
// old settings proves nothing about the new ones. Renaming, adding a
// certificate or the JIT and IdP-initiated switches keep the test.
// Metadata refreshes (RefreshMetadata) are the IdP's own changes, e.g. a
// certificate rollover, and keep it too.
func voidTest(before storage.IdPConnection, after *storage.IdPConnection) bool {
	if before.TestedAt.IsZero() {
		return false
	}
	void := before.EntityID != after.EntityID || before.SSOURL != after.SSOURL ||
		before.NameIDFormat != after.NameIDFormat || !maps.Equal(before.AttributeMap, after.AttributeMap) ||
		before.SignRequests != after.SignRequests ||
		(before.AllowSHA1 && !after.AllowSHA1) || (before.AllowExpiredCerts && !after.AllowExpiredCerts)
	for _, p := range before.SigningCertsPEM {
		if !slices.Contains(after.SigningCertsPEM, p) {
			void = true
		}
	}
	if void {
		after.TestedAt = time.Time{}
	}
	return void
}

// applySource copies what was read from metadata onto c.
func applySource(c *storage.IdPConnection, src source) {
	c.EntityID, c.SSOURL, c.SigningCertsPEM, c.MetadataXML = src.entityID, src.ssoURL, src.certs, src.xml
	c.MetadataFetchedAt, c.MetadataError = src.fetchedAt, ""
	if src.wantSign {
		c.SignRequests = true
	}
}

// AddCertificate trusts one more signing certificate (a rollover: the IdP
// will sign with the new key soon). Connections that follow a metadata URL
// take their certificates from it instead.
func (s *Service) AddCertificate(ctx context.Context, orgID, id, certificatePEM string) (storage.IdPConnection, error) {
	certs, err := parseCertificates([]string{certificatePEM})
	if err != nil {
		return storage.IdPConnection{}, err
	}
	if len(certs) != 1 {
		return storage.IdPConnection{}, invalid("certificate", "Add one certificate at a time.")
	}
	fp := saml.Fingerprint(certs[0])
	return s.changeCerts(ctx, orgID, id, "idp.certificate_add", fp, func(c *storage.IdPConnection, have []string) error {
		for _, h := range have {
			if h == fp {
				return invalid("certificate", "This certificate is already trusted.")
			}
		}
		if len(have) >= maxCerts {
			return invalid("certificate", "At most %d signing certificates can be trusted at once; remove an old one first.", maxCerts)
		}
		c.SigningCertsPEM = append(c.SigningCertsPEM, certPEM(certs[0]))
		return nil
	})
}

// RemoveCertificate stops trusting the certificate with the SHA-256
// fingerprint (hex, as Fingerprint and the console show it; colons and case
// are ignored). The last certificate cannot be removed: the connection would
// accept nothing and be silently dead.
func (s *Service) RemoveCertificate(ctx context.Context, orgID, id, fingerprint string) (storage.IdPConnection, error) {
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fingerprint), ":", ""))
	return s.changeCerts(ctx, orgID, id, "idp.certificate_remove", fp, func(c *storage.IdPConnection, have []string) error {
		i := slices.Index(have, fp)
		if i < 0 {
			return notFound("a trusted certificate with the fingerprint " + quote(fingerprint))
		}
		if len(have) == 1 {
			return invalid("certificate", "This is the connection's only signing certificate; add the new one before removing it.")
		}
		c.SigningCertsPEM = slices.Delete(c.SigningCertsPEM, i, i+1)
		return nil
	})
}

func (s *Service) changeCerts(ctx context.Context, orgID, id, action, fp string, fn func(c *storage.IdPConnection, fps []string) error) (storage.IdPConnection, error) {
	now := s.clock()
	var out storage.IdPConnection
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		var err error
		var voided bool
		// The certificates an owner's sign-in is checked against are an
		// owner's to change (the ID is checked against orgID just below).
		if c, err := tx.GetIdPConnection(ctx, id); err == nil && c.OrgID == orgID {
			if err := authz.RequireOwnerForConnection(ctx, tx, orgID, c.ID); err != nil {
				return err
			}
		}
		out, err = tx.UpdateIdPConnection(ctx, id, func(c *storage.IdPConnection) error {
			if c.OrgID != orgID {
				return storage.ErrNotFound
			}
			if c.MetadataURL != "" {
				return invalid("certificate", "This connection takes its certificates from its metadata URL; refresh the metadata instead.")
			}
			certs, err := TrustedCertificates(*c)
			if err != nil {
				return err
			}
			fps := make([]string, len(certs))
			for i, cert := range certs {
				fps[i] = saml.Fingerprint(cert)
			}
			before := *c
			if err := fn(c, fps); err != nil {
				return err
			}
			voided = voidTest(before, c)
			c.UpdatedAt = now
			return nil
		})
		if err != nil {
			return mapErr(err, "IdP connection "+quote(id))
		}
		details := map[string]string{"fingerprint": fp, "certificates": strconv.Itoa(len(out.SigningCertsPEM))}
		if voided {
			details["test_voided"] = "true"
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: action, TargetType: "idp_connection", TargetID: id, Details: details,
		})
	})
	if err != nil {
		return storage.IdPConnection{}, err
	}
	return out, nil
}

// RefreshMetadata fetches the connection's metadata URL again. On success
// the entity ID, SSO URL, certificates and stored copy are replaced; on
// failure everything stays as it was (sign-in keeps working with the last
// good copy) and the error is recorded on the connection and audited. It
// returns the fetch or parse error, if any.
func (s *Service) RefreshMetadata(ctx context.Context, id string) (storage.IdPConnection, error) {
	c, err := s.store.GetIdPConnection(ctx, id)
	if err != nil {
		return c, mapErr(err, "IdP connection "+quote(id))
	}
	if c.MetadataURL == "" {
		return c, invalid("metadata_url", "This connection has no metadata URL to refresh from.")
	}
	url := c.MetadataURL
	src, fetchErr := s.fetchSource(ctx, url)
	now := s.clock()
	var out storage.IdPConnection
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		var changed bool
		var err error
		out, err = tx.UpdateIdPConnection(ctx, id, func(c *storage.IdPConnection) error {
			if c.MetadataURL != url {
				return errMoved // an admin changed the source meanwhile
			}
			if fetchErr != nil {
				c.MetadataError = trunc(fetchErrText(fetchErr), 1000)
			} else {
				changed = c.EntityID != src.entityID || c.SSOURL != src.ssoURL || !slices.Equal(c.SigningCertsPEM, src.certs)
				applySource(c, src)
			}
			c.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		e := storage.AuditEvent{
			OrgID: out.OrgID, Action: "idp.metadata_refresh", TargetType: "idp_connection", TargetID: id,
			Details: map[string]string{"url": url},
		}
		if a := reqctx.From(ctx).ActorType; a == "" || a == "anonymous" {
			// The daily refresher; an admin's "Refresh now" is named
			// from the request context by audit.Record.
			e.ActorType = "system"
		}
		if fetchErr != nil {
			e.Outcome, e.Reason, e.Details["error"] = "failure", "metadata_unavailable", out.MetadataError
		} else {
			e.Details["changed"] = strconv.FormatBool(changed)
		}
		return s.record(ctx, tx, now, e)
	})
	if errors.Is(err, errMoved) {
		return s.store.GetIdPConnection(ctx, id)
	}
	if err != nil {
		return out, mapErr(err, "IdP connection "+quote(id))
	}
	if s.refreshed != nil {
		s.refreshed.MetadataRefreshed(ctx, out, fetchErr)
	}
	if fetchErr != nil {
		s.log.WarnContext(ctx, "IdP metadata refresh failed; keeping the last good copy",
			"connection", out.Slug, "org_id", out.OrgID, "err", fetchErr)
		return out, fetchErr
	}
	return out, nil
}

var errMoved = errors.New("idp: metadata source changed during refresh")

// fetchErrText is the admin-facing sentence inside an input error.
func fetchErrText(err error) string {
	return strings.TrimSuffix(err.Error(), ".")
}

// RefreshDue refreshes every URL-sourced connection (of all organizations)
// whose metadata is older than Config.MetadataRefresh, or has never been
// fetched. Failures are recorded per connection and do not stop the others;
// it returns how many connections it tried.
func (s *Service) RefreshDue(ctx context.Context) (int, error) {
	all, err := s.store.ListIdPConnections(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("idp: list connections: %w", err)
	}
	now := s.now()
	n := 0
	for _, c := range all {
		if c.MetadataURL == "" || c.MetadataFetchedAt.Add(s.cfg.MetadataRefresh).After(now) {
			continue
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		n++
		_, _ = s.RefreshMetadata(ctx, c.ID) // recorded on the connection and logged
	}
	return n, nil
}

// refreshTick is how often Run looks for due connections. A failed refresh
// leaves MetadataFetchedAt alone, so it is retried on every tick.
const refreshTick = time.Hour

// Run refreshes due metadata now and then every hour, until ctx ends. Every
// node may run it: refreshing twice is harmless.
func (s *Service) Run(ctx context.Context) error {
	tick := s.tick
	if tick == nil {
		t := time.NewTicker(refreshTick)
		defer t.Stop()
		tick = t.C
	}
	for {
		if _, err := s.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "IdP metadata refresh pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}
