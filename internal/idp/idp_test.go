package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

const entraEntity = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
const entraSSO = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2"

func TestService(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		for _, tc := range []struct {
			name string
			fn   func(*testing.T, *env)
		}{
			{"create from XML", testCreateFromXML},
			{"create from URL and refresh", testCreateFromURL},
			{"manual with two certs", testManual},
			{"validation errors", testValidation},
			{"SP key sealed at rest", testSealed},
			{"org isolation", testIsolation},
			{"update and remove", testUpdateRemove},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, st)) })
		}
	})
}

func testCreateFromXML(t *testing.T, e *env) {
	org := e.org("xml")
	xml := metadataXML(entraEntity, entraSSO, false, idpKey1, idpKey2)
	c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Corp Entra ID", MetadataXML: xml})
	if err != nil {
		t.Fatal(err)
	}
	if c.Slug != "corp-entra-id" || c.EntityID != entraEntity || c.SSOURL != entraSSO || len(c.SigningCertsPEM) != 2 || !c.JIT {
		t.Errorf("connection = %+v", c)
	}
	if c.MetadataXML != xml || c.MetadataURL != "" || !c.MetadataFetchedAt.IsZero() {
		t.Errorf("metadata fields: url %q fetched %v", c.MetadataURL, c.MetadataFetchedAt)
	}
	stored, err := e.svc.Get(e.ctx, org, c.ID)
	if err != nil || stored.Slug != c.Slug || len(stored.SigningCertsPEM) != 2 {
		t.Fatalf("Get = %+v, %v", stored, err)
	}
	// The same name again gets the next free slug.
	c2, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Corp Entra ID", MetadataXML: xml})
	if err != nil || c2.Slug != "corp-entra-id-2" {
		t.Errorf("second connection slug = %q, %v", c2.Slug, err)
	}
	// An explicit slug that is taken is refused, not renamed.
	if _, err := e.svc.Create(e.ctx, org, CreateInput{Name: "x", Slug: "corp-entra-id", MetadataXML: xml}); !errors.Is(err, account.ErrExists) {
		t.Errorf("taken explicit slug: %v", err)
	}
	// The validator config trusts both certificates and decrypts with the SP key.
	idpCfg, sp, err := e.svc.ValidatorConfig(stored)
	if err != nil {
		t.Fatal(err)
	}
	if idpCfg.EntityID != entraEntity || len(idpCfg.Certificates) != 2 || !idpCfg.Certificates[0].Equal(idpKey1.Cert) {
		t.Errorf("IdP config = %+v", idpCfg)
	}
	if sp.EntityID != "https://gatehouse.test/saml/corp-entra-id" || sp.ACSURL != "https://gatehouse.test/saml/corp-entra-id/acs" ||
		sp.DecryptionKey == nil || !sp.DecryptionKey.Equal(spKey) {
		t.Errorf("SP config = %+v", sp)
	}
	if got := e.svc.MetadataURL(stored); got != "https://gatehouse.test/saml/corp-entra-id/metadata" {
		t.Errorf("MetadataURL = %q", got)
	}
	if sp.DecryptionCert.Subject.CommonName != sp.EntityID || sp.DecryptionCert.NotAfter.Before(t0.Add(9*365*24*time.Hour)) {
		t.Errorf("SP certificate: CN %q, until %v", sp.DecryptionCert.Subject.CommonName, sp.DecryptionCert.NotAfter)
	}
	md, err := e.svc.SPMetadata(e.ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`entityID="https://gatehouse.test/saml/corp-entra-id"`, `Location="https://gatehouse.test/saml/corp-entra-id/acs"`, `use="encryption"`, `AuthnRequestsSigned="false"`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("SP metadata lacks %s:\n%s", want, md)
		}
	}
	evs := e.events(org, "idp.create")
	if len(evs) != 2 || evs[0].TargetID != c.ID || evs[0].Details["source"] != "metadata_xml" || evs[0].Details["slug"] != c.Slug {
		t.Errorf("idp.create events = %+v", evs)
	}
	// WantAuthnRequestsSigned in the metadata turns request signing on.
	c3, err := e.svc.Create(e.ctx, org, CreateInput{Name: "signed", MetadataXML: metadataXML("https://idp.signed/", entraSSO, true, idpKey1)})
	if err != nil || !c3.SignRequests {
		t.Errorf("WantAuthnRequestsSigned: SignRequests=%v, %v", c3.SignRequests, err)
	}
}

func testCreateFromURL(t *testing.T, e *env) {
	org := e.org("url")
	srv := newMetadataServer(t, metadataXML(entraEntity, entraSSO, false, idpKey1))
	c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Okta", MetadataURL: srv.URL + "/metadata"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MetadataURL != srv.URL+"/metadata" || !c.MetadataFetchedAt.Equal(t0) || len(c.SigningCertsPEM) != 1 || c.EntityID != entraEntity {
		t.Fatalf("connection = %+v", c)
	}
	// Not due yet: nothing fetched.
	hits := srv.hits.Load()
	e.clock.Advance(23 * time.Hour)
	if n, err := e.svc.RefreshDue(e.ctx); err != nil || n != 0 || srv.hits.Load() != hits {
		t.Fatalf("RefreshDue before 24h = %d, %v", n, err)
	}
	// Rollover at the IdP: the refresh picks up the new certificate.
	srv.body.Store(metadataXML(entraEntity, entraSSO, false, idpKey1, idpKey2))
	e.clock.Advance(time.Hour)
	if n, err := e.svc.RefreshDue(e.ctx); err != nil || n != 1 {
		t.Fatalf("RefreshDue at 24h = %d, %v", n, err)
	}
	c, _ = e.svc.Get(e.ctx, org, c.ID)
	if len(c.SigningCertsPEM) != 2 || !c.MetadataFetchedAt.Equal(t0.Add(24*time.Hour)) || c.MetadataError != "" {
		t.Fatalf("after refresh: %d certs, fetched %v, error %q", len(c.SigningCertsPEM), c.MetadataFetchedAt, c.MetadataError)
	}
	good := c

	// The URL starts failing: the last good copy stays, the error is kept
	// beside it, audited, and shown as a warning.
	srv.failing.Store(true)
	e.clock.Advance(25 * time.Hour)
	if _, err := e.svc.RefreshMetadata(context.Background(), c.ID); err == nil { // as the daily refresher
		t.Fatal("refresh from a failing URL succeeded")
	}
	c, _ = e.svc.Get(e.ctx, org, c.ID)
	if c.EntityID != good.EntityID || c.SSOURL != good.SSOURL || len(c.SigningCertsPEM) != 2 || c.MetadataXML != good.MetadataXML ||
		!c.MetadataFetchedAt.Equal(good.MetadataFetchedAt) {
		t.Errorf("failed refresh changed the connection: %+v", c)
	}
	if !strings.Contains(c.MetadataError, "503") {
		t.Errorf("MetadataError = %q", c.MetadataError)
	}
	if _, _, err := e.svc.ValidatorConfig(c); err != nil {
		t.Errorf("last good copy unusable: %v", err)
	}
	evs := e.events(org, "idp.metadata_refresh")
	if len(evs) != 2 || evs[0].Outcome != "success" || evs[0].Details["changed"] != "true" ||
		evs[1].Outcome != "failure" || evs[1].Reason != "metadata_unavailable" || evs[1].ActorType != "system" {
		t.Errorf("metadata_refresh events = %+v", evs)
	}
	if w := strings.Join(e.svc.Warnings(c, e.clock.Now()), "\n"); !strings.Contains(w, "Refreshing the metadata") || !strings.Contains(w, "failing since") {
		t.Errorf("warnings = %s", w)
	}
	// A failed refresh does not move MetadataFetchedAt, so the next tick retries.
	e.clock.Advance(time.Hour)
	if n, _ := e.svc.RefreshDue(e.ctx); n != 1 {
		t.Errorf("failing connection not retried: %d", n)
	}
	// Back up: the error clears. An admin's "Refresh now" names the admin.
	srv.failing.Store(false)
	if _, err := e.svc.RefreshMetadata(reqctx.WithActor(e.ctx, "account", "admin-1", "admin@corp.example"), c.ID); err != nil {
		t.Fatal(err)
	}
	if evs := e.events(org, "idp.metadata_refresh"); evs[len(evs)-1].ActorType != "account" || evs[len(evs)-1].ActorID != "admin-1" {
		t.Errorf("admin refresh audited as %s/%s", evs[len(evs)-1].ActorType, evs[len(evs)-1].ActorID)
	}
	c, _ = e.svc.Get(e.ctx, org, c.ID)
	if c.MetadataError != "" || !c.MetadataFetchedAt.Equal(e.clock.Now()) {
		t.Errorf("after recovery: error %q fetched %v", c.MetadataError, c.MetadataFetchedAt)
	}

	// Creating from a URL that fails is a clear error, and nothing is stored.
	srv.failing.Store(true)
	_, err = e.svc.Create(e.ctx, org, CreateInput{Name: "Broken", MetadataURL: srv.URL + "/metadata"})
	var inv *account.InvalidInputError
	if !errors.As(err, &inv) || inv.Field != "metadata_url" || !strings.Contains(inv.Message, "503") {
		t.Errorf("create from failing URL: %v", err)
	}
	if cs, _ := e.svc.List(e.ctx, org); len(cs) != 1 {
		t.Errorf("%d connections after a failed create", len(cs))
	}
}

func testManual(t *testing.T, e *env) {
	org := e.org("manual")
	c, err := e.svc.Create(e.ctx, org, CreateInput{
		Name: "ADFS", Slug: "adfs", EntityID: "http://adfs.corp.example/adfs/services/trust", SSOURL: "https://adfs.corp.example/adfs/ls/",
		CertificatesPEM: []string{string(idpKey1.CertPEM()), string(idpKey2.CertPEM())},
		NameIDFormat:    "persistent", AttributeMap: map[string]string{"email": "upn"}, JIT: new(false), AllowSHA1: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Slug != "adfs" || len(c.SigningCertsPEM) != 2 || c.JIT || !c.AllowSHA1 || c.AttributeMap["email"] != "upn" {
		t.Errorf("connection = %+v", c)
	}
	if NameIDFormatURI(c) != saml.NameIDFormatPersistent {
		t.Errorf("NameID format %q", NameIDFormatURI(c))
	}
	// Rollover: add a third, remove the first; the last one stays.
	c, err = e.svc.AddCertificate(e.ctx, org, c.ID, string(expiringIdPKeypair.CertPEM()))
	if err != nil || len(c.SigningCertsPEM) != 3 {
		t.Fatalf("AddCertificate = %d, %v", len(c.SigningCertsPEM), err)
	}
	if _, err := e.svc.AddCertificate(e.ctx, org, c.ID, string(idpKey1.CertPEM())); err == nil {
		t.Error("adding a trusted certificate twice succeeded")
	}
	w := strings.Join(e.svc.Warnings(c, t0), "\n")
	for _, want := range []string{"SHA-1", "expires on 11 March 2026 (in 10 days)"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if w := strings.Join(e.svc.Warnings(c, t0.Add(11*24*time.Hour)), "\n"); !strings.Contains(w, "expired on 11 March 2026") {
		t.Errorf("expired warning missing:\n%s", w)
	}
	for _, k := range []string{saml.Fingerprint(idpKey1.Cert), saml.Fingerprint(expiringIdPKeypair.Cert)} {
		if c, err = e.svc.RemoveCertificate(e.ctx, org, c.ID, strings.ToUpper(k)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.RemoveCertificate(e.ctx, org, c.ID, saml.Fingerprint(idpKey2.Cert))
	var inv *account.InvalidInputError
	if !errors.As(err, &inv) || !strings.Contains(inv.Message, "only signing certificate") {
		t.Errorf("removing the last certificate: %v", err)
	}
	if _, err := e.svc.RemoveCertificate(e.ctx, org, c.ID, "00ff"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("removing an unknown fingerprint: %v", err)
	}
	c, _ = e.svc.Get(e.ctx, org, c.ID)
	if len(c.SigningCertsPEM) != 1 {
		t.Errorf("%d certificates left", len(c.SigningCertsPEM))
	}
	if n := len(e.events(org, "idp.certificate_add")) + len(e.events(org, "idp.certificate_remove")); n != 3 {
		t.Errorf("%d certificate events, want 3", n)
	}
	// http SSO URLs are fine on loopback (the development IdP).
	if _, err := e.svc.Create(e.ctx, org, CreateInput{Name: "dev", EntityID: "http://127.0.0.1:8081/metadata",
		SSOURL: "http://127.0.0.1:8081/sso", CertificatesPEM: []string{string(idpKey1.CertPEM())}}); err != nil {
		t.Errorf("loopback http SSO URL: %v", err)
	}
}

func testValidation(t *testing.T, e *env) {
	org := e.org("valid")
	cert := string(idpKey1.CertPEM())
	xml := metadataXML(entraEntity, entraSSO, false, idpKey1)
	cases := []struct {
		name  string
		in    CreateInput
		field string
		msg   string
	}{
		{"no source", CreateInput{Name: "x"}, "metadata_url", "Give the IdP's metadata URL"},
		{"two sources", CreateInput{Name: "x", MetadataXML: xml, EntityID: entraEntity, SSOURL: entraSSO, CertificatesPEM: []string{cert}}, "metadata_url", "only one"},
		{"URL and XML", CreateInput{Name: "x", MetadataXML: xml, MetadataURL: "https://idp.example/md"}, "metadata_url", "only one"},
		{"bad PEM", CreateInput{Name: "x", EntityID: entraEntity, SSOURL: entraSSO, CertificatesPEM: []string{"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}}, "certificates", "Certificate 1"},
		{"private key pasted", CreateInput{Name: "x", EntityID: entraEntity, SSOURL: entraSSO, CertificatesPEM: []string{string(idpKey1.KeyPEM())}}, "certificates", "never paste a private key"},
		{"no certificate", CreateInput{Name: "x", EntityID: entraEntity, SSOURL: entraSSO}, "certificates", "at least one"},
		{"http SSO URL", CreateInput{Name: "x", EntityID: entraEntity, SSOURL: "http://idp.corp.example/sso", CertificatesPEM: []string{cert}}, "sso_url", "https"},
		{"relative SSO URL", CreateInput{Name: "x", EntityID: entraEntity, SSOURL: "/sso", CertificatesPEM: []string{cert}}, "sso_url", "not a usable URL"},
		{"no entity ID", CreateInput{Name: "x", SSOURL: entraSSO, CertificatesPEM: []string{cert}}, "entity_id", "entity ID"},
		{"http metadata URL", CreateInput{Name: "x", MetadataURL: "http://idp.corp.example/metadata"}, "metadata_url", "https"},
		{"metadata with a DTD", CreateInput{Name: "x", MetadataXML: `<!DOCTYPE x [<!ENTITY a "b">]>` + xml}, "metadata_xml", "DTD"},
		{"metadata without redirect binding", CreateInput{Name: "x", MetadataXML: strings.Replace(xml, "HTTP-Redirect", "SOAP", 1)}, "metadata_xml", "HTTP-Redirect"},
		{"bad slug", CreateInput{Name: "x", Slug: "Bad Slug", MetadataXML: xml}, "slug", "lowercase"},
		{"no name", CreateInput{MetadataXML: xml}, "name", "name"},
		{"bad NameID format", CreateInput{Name: "x", MetadataXML: xml, NameIDFormat: "transient"}, "name_id_format", "NameID"},
		{"bad mapping", CreateInput{Name: "x", MetadataXML: xml, AttributeMap: map[string]string{"mail": "x"}}, "attribute_map", "mail"},
	}
	for _, c := range cases {
		_, err := e.svc.Create(e.ctx, org, c.in)
		var inv *account.InvalidInputError
		if !errors.As(err, &inv) || inv.Field != c.field || !strings.Contains(inv.Message, c.msg) {
			t.Errorf("%s: %v (field %q), want field %q containing %q", c.name, err, fieldOf(inv), c.field, c.msg)
		}
	}
	if cs, _ := e.svc.List(e.ctx, org); len(cs) != 0 {
		t.Errorf("%d connections stored by invalid input", len(cs))
	}
	if len(e.events(org, "idp.*")) != 0 {
		t.Error("invalid input was audited as a change")
	}
}

func fieldOf(e *account.InvalidInputError) string {
	if e == nil {
		return ""
	}
	return e.Field
}

func testSealed(t *testing.T, e *env) {
	org := e.org("sealed")
	c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Sealed", MetadataXML: metadataXML(entraEntity, entraSSO, false, idpKey1)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.st.GetIdPConnection(e.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw.SPKeyPEM, "PRIVATE KEY") || !strings.HasPrefix(raw.SPKeyPEM, "gcm1:") {
		t.Fatalf("SP key stored in the clear: %.40q", raw.SPKeyPEM)
	}
	if !strings.Contains(raw.SPCertPEM, "BEGIN CERTIFICATE") {
		t.Errorf("SP certificate not stored")
	}
	// Opened once and kept while the row holds the same sealed key…
	k1, _, err := e.svc.SPKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _, err := e.svc.SPKey(raw); err != nil || k2 != k1 {
		t.Errorf("SP key opened again for an unchanged row (err %v)", err)
	}
	// …but a changed sealed key is opened afresh, never answered from memory.
	tampered := raw
	tampered.SPKeyPEM = raw.SPKeyPEM[:len(raw.SPKeyPEM)-4] + "AAAA"
	if tampered.SPKeyPEM == raw.SPKeyPEM {
		tampered.SPKeyPEM = raw.SPKeyPEM[:len(raw.SPKeyPEM)-4] + "BBBB"
	}
	if _, _, err := e.svc.SPKey(tampered); err == nil {
		t.Error("a tampered SP key was answered from the cache")
	}
	// Sealed for this connection only: moved onto another row it does not open.
	other := raw
	other.ID = "another-connection"
	if _, _, err := e.svc.SPKey(other); err == nil {
		t.Error("SP key opened under another connection's ID")
	}
	// A different secret_key cannot open it either.
	e2 := newEnv(t, e.st)
	if _, _, err := e2.svc.ValidatorConfig(raw); err == nil {
		t.Error("SP key opened with another secret key")
	}
}

func testIsolation(t *testing.T, e *env) {
	orgA, orgB := e.org("iso-a"), e.org("iso-b")
	xml := metadataXML(entraEntity, entraSSO, false, idpKey1)
	a, err := e.svc.Create(e.ctx, orgA, CreateInput{Name: "A IdP", MetadataXML: xml})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(e.ctx, orgB, a.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B reads org A's connection: %v", err)
	}
	if _, err := e.svc.GetBySlug(e.ctx, orgB, a.Slug); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B reads org A's connection by slug: %v", err)
	}
	if _, err := e.svc.Update(e.ctx, orgB, a.ID, UpdateInput{AllowSHA1: new(true)}); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B updates org A's connection: %v", err)
	}
	if _, err := e.svc.AddCertificate(e.ctx, orgB, a.ID, string(idpKey2.CertPEM())); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B adds a certificate to org A's connection: %v", err)
	}
	if err := e.svc.Remove(e.ctx, orgB, a.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("org B removes org A's connection: %v", err)
	}
	if cs, _ := e.svc.List(e.ctx, orgB); len(cs) != 0 {
		t.Errorf("org B lists %d connections", len(cs))
	}
	if cs, _ := e.svc.List(e.ctx, orgA); len(cs) != 1 {
		t.Errorf("org A lists %d connections", len(cs))
	}
	if c, _ := e.svc.Get(e.ctx, orgA, a.ID); c.AllowSHA1 || len(c.SigningCertsPEM) != 1 {
		t.Errorf("org B's attempts changed the connection: %+v", c)
	}
	if len(e.events(orgB, "idp.*")) != 0 {
		t.Error("org B's failed attempts were audited as changes")
	}
}

func testUpdateRemove(t *testing.T, e *env) {
	org := e.org("upd")
	c, err := e.svc.Create(e.ctx, org, CreateInput{Name: "Manual", EntityID: entraEntity, SSOURL: entraSSO, CertificatesPEM: []string{string(idpKey1.CertPEM())}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	c, err = e.svc.Update(e.ctx, org, c.ID, UpdateInput{Name: new("Manual ADFS"), AllowIdPInitiated: new(true), SSOURL: new("https://adfs.example/ls/")})
	if err != nil || c.Name != "Manual ADFS" || !c.AllowIdPInitiated || c.SSOURL != "https://adfs.example/ls/" || !c.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Update = %+v, %v", c, err)
	}
	evs := e.events(org, "idp.update")
	if len(evs) != 1 || evs[0].Details["changed"] != "name,sso_url,allow_idp_initiated" || evs[0].Details["allow_idp_initiated"] != "true" {
		t.Errorf("idp.update events = %+v", evs)
	}
	if w := strings.Join(e.svc.Warnings(c, t0), "\n"); !strings.Contains(w, "IdP-initiated sign-in is on") {
		t.Errorf("warnings = %s", w)
	}
	// No change: no event.
	if _, err := e.svc.Update(e.ctx, org, c.ID, UpdateInput{Name: new("Manual ADFS")}); err != nil || len(e.events(org, "idp.update")) != 1 {
		t.Errorf("no-op update: %v, %d events", err, len(e.events(org, "idp.update")))
	}
	// Switch to a metadata URL; then manual edits are refused.
	srv := newMetadataServer(t, metadataXML("https://idp.new/", "https://idp.new/sso", false, idpKey2))
	c, err = e.svc.Update(e.ctx, org, c.ID, UpdateInput{MetadataURL: new(srv.URL)})
	if err != nil || c.EntityID != "https://idp.new/" || c.MetadataURL != srv.URL || len(c.SigningCertsPEM) != 1 {
		t.Fatalf("switch to URL = %+v, %v", c, err)
	}
	if _, err := e.svc.Update(e.ctx, org, c.ID, UpdateInput{EntityID: new("https://other/")}); err == nil {
		t.Error("manual entity ID accepted on a URL-sourced connection")
	}
	if _, err := e.svc.AddCertificate(e.ctx, org, c.ID, string(idpKey1.CertPEM())); err == nil {
		t.Error("manual certificate accepted on a URL-sourced connection")
	}
	// A policy using it blocks removal.
	p := storage.Policy{ID: "p-" + c.ID, OrgID: org, Name: "SSO", SSO: storage.SSOOptional, ConnectionID: c.ID, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := e.st.CreatePolicy(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Remove(e.ctx, org, c.ID); !errors.Is(err, ErrInUse) {
		t.Errorf("remove while used: %v", err)
	}
	if err := e.st.DeletePolicy(e.ctx, org, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Remove(e.ctx, org, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(e.ctx, org, c.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("removed connection still there: %v", err)
	}
	if evs := e.events(org, "idp.remove"); len(evs) != 1 || evs[0].TargetID != c.ID {
		t.Errorf("idp.remove events = %+v", evs)
	}
}
