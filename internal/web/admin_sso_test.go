package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func TestAdminDomains(t *testing.T) {
	txt := startDNS(t)
	e := newEnv(t, func(o *envOptions) { o.dnsResolver = txt.Addr() })
	org, owner, c := e.signedInOwner()

	expect(t, c.get("/admin/domains"), http.StatusOK, "No domains yet")

	// Bad input: a sentence on the field, nothing written.
	before := e.auditCount()
	r := c.post("/admin/domains", url.Values{"name": {"not a domain"}})
	expect(t, r, http.StatusBadRequest, "There is a problem with what you entered")
	if !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `value="not a domain"`) {
		t.Error("the refused domain is not marked invalid and kept in the field")
	}
	expect(t, c.post("/admin/domains", url.Values{"name": {"localhost"}}), http.StatusBadRequest)
	if n := e.auditCount(); n != before {
		t.Errorf("refused adds wrote %d audit events", n-before)
	}

	// Added: the page shows the TXT record to publish.
	loc := expectRedirect(t, c.post("/admin/domains", url.Values{"name": {"Corp.Example."}}), "/admin/domains/")
	r = c.get(loc)
	ds, err := e.domains.List(context.Background(), org.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("domains = %v, %v", ds, err)
	}
	d := ds[0]
	expect(t, r, http.StatusOK, "Domain added", "corp.example", "Pending", "TXT", e.domains.TXTRecord(d), "Verify corp.example")
	if !strings.Contains(r.body, `<code class="copy break" data-copy>`+e.domains.TXTRecord(d)+`</code>`) {
		t.Error("the TXT value is not in a copyable <code>")
	}
	if ev := e.lastAudit(org.ID); ev.Action != "domain.add" || ev.ActorID != owner.ID || ev.ActorType != "account" {
		t.Errorf("audit: %s by %s %s, want domain.add by the owner", ev.Action, ev.ActorType, ev.ActorID)
	}
	// Adding it twice says so.
	expect(t, c.post("/admin/domains", url.Values{"name": {"corp.example"}}), http.StatusConflict, "already added corp.example")

	// Verify before publishing: the service's reason, recorded on the domain.
	r = c.post(loc[:strings.Index(loc, "?")]+"/verify", nil)
	expect(t, r, http.StatusUnprocessableEntity, "No TXT record "+e.domains.TXTRecord(d)+" found at corp.example", "Pending")
	expect(t, c.get("/admin/domains"), http.StatusOK, "No TXT record", "Pending")

	// Published: verified.
	txt.Add(e.domains.RecordName(d), e.domains.TXTRecord(d))
	expectRedirect(t, c.post("/admin/domains/"+d.ID+"/verify", nil), "/admin/domains/"+d.ID+"?notice=domain-verified")
	expect(t, c.get("/admin/domains/"+d.ID+"?notice=domain-verified"), http.StatusOK, "The domain is verified", "Verified on")
	expect(t, c.get("/admin/domains"), http.StatusOK, "corp.example", "Verified")
	if ev := e.lastAudit(org.ID); ev.Action != "domain.verify" || ev.Outcome != "success" || ev.ActorID != owner.ID {
		t.Errorf("audit: %s %s by %s", ev.Action, ev.Outcome, ev.ActorID)
	}

	// Remove: a confirmation page first (GET changes nothing), then the POST.
	before = e.auditCount()
	expect(t, c.get("/admin/domains/"+d.ID+"/remove"), http.StatusOK, "Remove this domain?", "no longer be managed")
	if n := e.auditCount(); n != before {
		t.Error("the confirmation page wrote to the audit log")
	}
	expectRedirect(t, c.post("/admin/domains/"+d.ID+"/remove", nil), "/admin/domains?notice=domain-removed")
	expect(t, c.get("/admin/domains"), http.StatusOK, "No domains yet")
	expect(t, c.get("/admin/domains/"+d.ID), http.StatusNotFound)
	expect(t, c.post("/admin/domains/"+d.ID+"/verify", nil), http.StatusNotFound)
}

// newCertPEM returns a fresh self-signed certificate in PEM and its
// SHA-256 fingerprint.
func newCertPEM(t *testing.T, cn string) (pemText, fingerprint string) {
	t.Helper()
	kp, err := samltest.NewKeypair(cn, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return string(kp.CertPEM()), saml.Fingerprint(kp.Cert)
}

func TestAdminConnections(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)

	expect(t, c.get("/admin/sso"), http.StatusOK, "No connections yet")
	expect(t, c.get("/admin/sso/new"), http.StatusOK, "Metadata URL", "Paste metadata XML", "Enter by hand")

	// Bad input writes nothing and says what is wrong.
	before := e.auditCount()
	certPEM, fp := newCertPEM(t, "idp.example")
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"two sources", url.Values{"name": {"Two"}, "metadata_url": {dev.MetadataURL()}, "entity_id": {"https://idp.example/"}}, "Give only one of"},
		{"no source", url.Values{"name": {"None"}}, "Give the IdP's metadata URL"},
		{"bad PEM", url.Values{"name": {"Bad PEM"}, "entity_id": {"https://idp.example/"}, "sso_url": {"https://idp.example/sso"},
			"certificates": {"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}}, "certificate"},
		{"no name", url.Values{"metadata_url": {dev.MetadataURL()}}, "Give the IdP connection a name."},
		{"bad XML", url.Values{"name": {"XML"}, "metadata_xml": {"<EntityDescriptor"}}, "There is a problem"},
	} {
		r := c.post("/admin/sso", tc.form)
		expect(t, r, http.StatusBadRequest, tc.want)
		if tc.form.Get("name") != "" && !strings.Contains(r.body, `value="`+tc.form.Get("name")+`"`) {
			t.Errorf("%s: the name typed is lost", tc.name)
		}
	}
	if n := e.auditCount(); n != before {
		t.Errorf("refused creates wrote %d audit events", n-before)
	}
	if cs, _ := e.idps.List(context.Background(), org.ID); len(cs) != 0 {
		t.Fatalf("refused creates made %d connections", len(cs))
	}

	// By metadata URL.
	loc := expectRedirect(t, c.post("/admin/sso", url.Values{"name": {"Dev IdP"}, "metadata_url": {dev.MetadataURL()}}), "/admin/sso/dev-idp?notice=conn-created")
	conn, err := e.idps.GetBySlug(context.Background(), org.ID, "dev-idp")
	if err != nil {
		t.Fatal(err)
	}
	r := c.get(loc)
	expect(t, r, http.StatusOK, "Connection added", "Not tested", e.idps.SPEntityID(conn), e.idps.ACSURL(conn), e.idps.MetadataURL(conn),
		"Metadata URL", conn.EntityID, "Refresh metadata now", "Run a test sign-in")
	if !strings.Contains(r.body, `action="/saml/dev-idp/test"`) {
		t.Error("no test sign-in form")
	}
	if ev := e.lastAudit(org.ID); ev.Action != "idp.create" || ev.ActorID != owner.ID {
		t.Errorf("audit: %s by %s", ev.Action, ev.ActorID)
	}
	expect(t, c.get("/admin/sso"), http.StatusOK, "Dev IdP", "Not tested", "Metadata URL")

	// Refresh metadata: it works, and a connection without a URL refuses.
	expectRedirect(t, c.post("/admin/sso/dev-idp/refresh", nil), "/admin/sso/dev-idp?notice=metadata-refreshed")

	// A test sign-in through the console's form marks it tested.
	idpURL := c.startTest("dev-idp")
	expect(t, c.postACS(dev.signInAtIdP(t, idpURL, erinEmail, erinPassword), dev.srv.URL), http.StatusOK, "Test sign-in succeeded")
	expect(t, c.get("/admin/sso/dev-idp"), http.StatusOK, "Tested", "Last completed")

	// Settings: turning on IdP-initiated sign-in keeps the test and shows
	// its warning; a bad mapping is refused on the mapping.
	form := url.Values{"name": {"Dev IdP"}, "jit": {"on"}, "allow_idp_initiated": {"on"}, "name_id_format": {""}}
	expectRedirect(t, c.post("/admin/sso/dev-idp/settings", form), "/admin/sso/dev-idp?notice=conn-updated")
	r = c.get("/admin/sso/dev-idp")
	expect(t, r, http.StatusOK, "IdP-initiated sign-in is on", "Tested")
	if ev := e.lastAudit(org.ID); ev.Action != "idp.update" || ev.ActorID != owner.ID || ev.Details["allow_idp_initiated"] != "true" {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expectRedirect(t, c.post("/admin/sso/dev-idp/settings", form), "/admin/sso/dev-idp?notice=conn-unchanged")
	before = e.auditCount()
	bad := url.Values{"name": {"Dev IdP"}, "name_id_format": {"kerberos"}}
	expect(t, c.post("/admin/sso/dev-idp/settings", bad), http.StatusBadRequest, "The NameID format must be")
	bad = url.Values{"name": {""}}
	expect(t, c.post("/admin/sso/dev-idp/settings", bad), http.StatusBadRequest, "Give the IdP connection a name.")
	if n := e.auditCount(); n != before {
		t.Errorf("refused updates wrote %d audit events", n-before)
	}
	// A mapping override voids the test.
	form.Set("map_email", "mail")
	expectRedirect(t, c.post("/admin/sso/dev-idp/settings", form), "/admin/sso/dev-idp?notice=conn-voided")
	r = c.get("/admin/sso/dev-idp")
	expect(t, r, http.StatusOK, "Not tested")
	if !strings.Contains(r.body, `name="map_email" type="text" autocapitalize="none" spellcheck="false" maxlength="1024" value="mail"`) {
		t.Error("the mapping override is not shown")
	}

	// Certificates of a URL-sourced connection come from the metadata.
	expect(t, c.post("/admin/sso/dev-idp/certificates", url.Values{"certificate": {certPEM}}), http.StatusBadRequest, "refresh the metadata instead")

	// A manual connection: certificates can be added and removed.
	expectRedirect(t, c.post("/admin/sso", url.Values{"name": {"Manual IdP"}, "entity_id": {"https://idp.example/manual"},
		"sso_url": {"https://idp.example/sso"}, "certificates": {certPEM}}), "/admin/sso/manual-idp?notice=conn-created")
	expect(t, c.get("/admin/sso/manual-idp"), http.StatusOK, "Entered by hand", "https://idp.example/manual")
	expect(t, c.post("/admin/sso/manual-idp/certificates", url.Values{"certificate": {"garbage"}}), http.StatusBadRequest, "Certificate 1 cannot be read")
	expect(t, c.post("/admin/sso/manual-idp/certificates", url.Values{"certificate": {certPEM}}), http.StatusBadRequest, "already trusted")
	expect(t, c.post("/admin/sso/manual-idp/certificates/remove", url.Values{"fingerprint": {fp}}), http.StatusBadRequest, "only signing certificate")
	otherPEM, _ := newCertPEM(t, "idp.example 2027")
	expectRedirect(t, c.post("/admin/sso/manual-idp/certificates", url.Values{"certificate": {otherPEM}}), "/admin/sso/manual-idp?notice=cert-added")
	r = c.get("/admin/sso/manual-idp")
	if strings.Count(r.body, `name="fingerprint"`) != 2 {
		t.Errorf("want two certificates with remove buttons")
	}
	expectRedirect(t, c.post("/admin/sso/manual-idp/certificates/remove", url.Values{"fingerprint": {fp}}), "/admin/sso/manual-idp?notice=cert-removed")
	if ev := e.lastAudit(org.ID); ev.Action != "idp.certificate_remove" || ev.ActorID != owner.ID {
		t.Errorf("audit: %s by %s", ev.Action, ev.ActorID)
	}
	expect(t, c.post("/admin/sso/manual-idp/refresh", nil), http.StatusBadRequest, "no metadata URL")

	// Remove: refused while a policy uses it, then done after a confirmation.
	e.setSSO(org.ID, storage.SSOOptional, conn)
	expect(t, c.get("/admin/sso/dev-idp"), http.StatusOK, "Used by", "Default (SSO optional)")
	expect(t, c.post("/admin/sso/dev-idp/remove", nil), http.StatusConflict, "A policy uses this IdP connection")
	expect(t, c.get("/admin/sso/manual-idp/remove"), http.StatusOK, "Remove this SSO connection?")
	expectRedirect(t, c.post("/admin/sso/manual-idp/remove", nil), "/admin/sso?notice=conn-removed")
	expect(t, c.get("/admin/sso/manual-idp"), http.StatusNotFound)
	if ev := e.lastAudit(org.ID); ev.Action != "idp.remove" || ev.ActorID != owner.ID {
		t.Errorf("audit: %s by %s", ev.Action, ev.ActorID)
	}
}

func TestAdminPolicies(t *testing.T) {
	e := newEnv(t)
	org, owner, c := e.signedInOwner()
	dev := e.startDevIdP()
	e.verifyDomain(org.ID, corpDomain)
	conn := e.connect(org.ID, dev, nil)
	e.factors.BreakGlassOwner(t, e.store, org.ID) // enforcing SSO needs one
	ctx := context.Background()

	expect(t, c.get("/admin/policies"), http.StatusOK, "Default", "SSO off", "Dev IdP (not tested yet)")

	// SSO optional on the default policy (created on the way).
	expectRedirect(t, c.post("/admin/policies/default", url.Values{"sso": {"optional"}, "connection": {conn.Slug}}), "/admin/policies")
	def, err := e.policies.Get(ctx, org.ID, "Default")
	if err != nil || def.SSO != storage.SSOOptional || def.ConnectionID != conn.ID {
		t.Fatalf("default policy = %+v, %v", def, err)
	}

	// Enforcing through the untested connection: refused, with the
	// override offered and unticked; nothing changes.
	before := e.auditCount()
	r := c.post("/admin/policies/"+def.ID, url.Values{"sso": {"enforced"}, "connection": {conn.Slug}})
	expect(t, r, http.StatusConflict, "Run a test sign-in through Dev IdP before enforcing SSO.", "Enforce anyway.")
	if !strings.Contains(r.body, `<input type="checkbox" id="force-`+def.ID+`" name="force"`) || strings.Contains(r.body, `name="force" checked`) {
		t.Error("the override checkbox is missing or ticked already")
	}
	if !strings.Contains(r.body, `id="sso-`+def.ID+`-enforced" name="sso" value="enforced" checked`) {
		t.Error("the refused form does not keep the admin's choice")
	}
	if n := e.auditCount(); n != before {
		t.Errorf("the refusal wrote %d audit events", n-before)
	}
	if p, _ := e.policies.Get(ctx, org.ID, def.ID); p.SSO != storage.SSOOptional {
		t.Errorf("policy SSO = %s after the refusal", p.SSO)
	}

	// Ticked: enforced, and the override is audited with the admin's name.
	expectRedirect(t, c.post("/admin/policies/"+def.ID, url.Values{"sso": {"enforced"}, "connection": {conn.Slug}, "force": {"on"}}),
		"/admin/policies?notice=policy-forced#policy-"+def.ID)
	if p, _ := e.policies.Get(ctx, org.ID, def.ID); p.SSO != storage.SSOEnforced {
		t.Errorf("policy SSO = %s after the override", p.SSO)
	}
	ev := e.lastAudit(org.ID)
	if ev.Action != "policy.update" || ev.ActorID != owner.ID || ev.ActorEmail != ownerEmail || ev.Details["override"] != "untested_connection" {
		t.Errorf("audit: %s by %s (%s) %v", ev.Action, ev.ActorID, ev.ActorEmail, ev.Details)
	}
	expect(t, c.get("/admin/policies?notice=policy-forced#policy-"+def.ID), http.StatusOK, "the override is recorded in the audit log", "SSO enforced · Dev IdP")
	expect(t, c.get("/admin"), http.StatusOK, "SSO enforced through Dev IdP")

	// Bad input: SSO on without a connection; an unknown mode.
	expect(t, c.post("/admin/policies/"+def.ID, url.Values{"sso": {"optional"}, "connection": {""}}), http.StatusBadRequest, "Choose the IdP connection")
	expect(t, c.post("/admin/policies/"+def.ID, url.Values{"sso": {"always"}}), http.StatusBadRequest, "SSO must be")

	// A named policy for break-glass admins, with members.
	before = e.auditCount()
	expect(t, c.post("/admin/policies", url.Values{"name": {""}, "sso": {"off"}}), http.StatusBadRequest, "Give the policy a name.")
	expect(t, c.post("/admin/policies", url.Values{"name": {"Enforced now"}, "sso": {"enforced"}, "connection": {conn.Slug}}),
		http.StatusConflict, "Run a test sign-in through Dev IdP")
	if n := e.auditCount(); n != before {
		t.Errorf("refused creates wrote %d audit events", n-before)
	}
	expectRedirect(t, c.post("/admin/policies", url.Values{"name": {"Break glass"}, "sso": {"off"}}), "/admin/policies?notice=policy-created")
	bg, err := e.policies.Get(ctx, org.ID, "Break glass")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, c.post("/admin/policies", url.Values{"name": {"Break glass"}, "sso": {"off"}}), http.StatusConflict, "already a policy with this name")

	e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	expect(t, c.post("/admin/policies/"+bg.ID+"/members", url.Values{"email": {"nobody@acme.example"}}), http.StatusBadRequest, "Nobody in your organization")
	expect(t, c.post("/admin/policies/"+bg.ID+"/members", url.Values{"email": {"not an email"}}), http.StatusBadRequest)
	expectRedirect(t, c.post("/admin/policies/"+bg.ID+"/members", url.Values{"email": {"ADA@acme.example"}}), "/admin/policies?notice=member-added")
	expect(t, c.get("/admin/policies"), http.StatusOK, "Break glass", "ada@acme.example", "Covers: 1 person named explicitly.")
	if ev := e.lastAudit(org.ID); ev.Action != "policy.member_set" || ev.ActorID != owner.ID || ev.Details["policy"] != "Break glass" {
		t.Errorf("audit: %s by %s %v", ev.Action, ev.ActorID, ev.Details)
	}
	expectRedirect(t, c.post("/admin/policies/"+bg.ID+"/members/remove", url.Values{"email": {"ada@acme.example"}}), "/admin/policies?notice=member-removed")
	expect(t, c.post("/admin/policies/"+bg.ID+"/members/remove", url.Values{"email": {"ada@acme.example"}}), http.StatusNotFound)
	if ids, _ := e.policies.Members(ctx, org.ID, bg.ID); len(ids) != 0 {
		t.Errorf("members left: %v", ids)
	}

	// Delete: confirmation, then gone; the default cannot be deleted.
	expect(t, c.get("/admin/policies/"+bg.ID+"/delete"), http.StatusOK, "Delete this policy?")
	expectRedirect(t, c.post("/admin/policies/"+bg.ID+"/delete", nil), "/admin/policies?notice=policy-deleted")
	expect(t, c.post("/admin/policies/"+def.ID+"/delete", nil), http.StatusConflict, "default policy cannot be deleted")
	expect(t, c.get("/admin/policies/"+bg.ID+"/delete"), http.StatusNotFound)
}
