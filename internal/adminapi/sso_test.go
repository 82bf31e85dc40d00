package adminapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/saml"
)

func body(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDomains(t *testing.T) {
	e := newEnv(t)

	r := e.do("POST", "/api/v1/domains", e.tokenA, []byte(`{"name":" Corp.Example. "}`))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /domains = %d %s", r.status, r.body)
	}
	var d apiview.Domain
	r.json(t, &d)
	if d.Name != "corp.example" || d.Verified || d.VerifiedAt != nil || d.ID == "" || d.LastCheckedAt != nil {
		t.Errorf("added domain = %+v", d)
	}
	if d.TXTRecord.Name != "corp.example" || d.TXTRecord.Type != "TXT" || !strings.HasPrefix(d.TXTRecord.Value, "gatehouse-verification=") {
		t.Errorf("txt_record = %+v", d.TXTRecord)
	}
	if r.header.Get("Location") != "/api/v1/domains/"+d.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}

	// Listed, and reachable by ID and by name.
	r = e.do("GET", "/api/v1/domains", e.tokenA, nil)
	var list struct{ Domains []apiview.Domain }
	r.json(t, &list)
	if r.status != 200 || len(list.Domains) != 1 || list.Domains[0].ID != d.ID {
		t.Errorf("GET /domains = %d %s", r.status, r.body)
	}
	for _, ref := range []string{d.ID, "corp.example", "CORP.example."} {
		if r := e.do("GET", "/api/v1/domains/"+ref, e.tokenA, nil); r.status != 200 || !bytes.Contains(r.body, []byte(d.ID)) {
			t.Errorf("GET /domains/%s = %d %s", ref, r.status, r.body)
		}
	}

	// Not published yet: 422 with the reason in words, recorded on the domain.
	r = e.do("POST", "/api/v1/domains/"+d.ID+"/verify", e.tokenA, nil)
	var eb struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &eb)
	if r.status != 422 || eb.Error.Code != "verification_failed" || !strings.Contains(eb.Error.Message, "No TXT record "+d.TXTRecord.Value+" found at corp.example") {
		t.Errorf("verify before publishing = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/domains/corp.example", e.tokenA, nil)
	r.json(t, &d)
	if d.Verified || d.LastCheckedAt == nil || d.LastError != eb.Error.Message {
		t.Errorf("after a failed check: %+v", d)
	}

	// A wrong value is named as such.
	e.dns.Add("corp.example", "gatehouse-verification=someone-elses")
	r = e.do("POST", "/api/v1/domains/corp.example/verify", e.tokenA, []byte(`{}`))
	r.json(t, &eb)
	if r.status != 422 || eb.Error.Code != "verification_failed" || !strings.Contains(eb.Error.Message, "does not match") {
		t.Errorf("verify with a wrong record = %d %s", r.status, r.body)
	}

	// Published: verified.
	e.dns.Add("corp.example", d.TXTRecord.Value)
	r = e.do("POST", "/api/v1/domains/"+d.ID+"/verify", e.tokenA, nil)
	r.json(t, &d)
	if r.status != 200 || !d.Verified || d.VerifiedAt == nil || d.LastError != "" {
		t.Fatalf("verify = %d %s", r.status, r.body)
	}
	if evs := e.events(e.orgA.ID, "domain.verify"); len(evs) != 3 || evs[2].Outcome != "success" || evs[2].ActorID != e.tokA.ID {
		t.Errorf("domain.verify events = %+v", evs)
	}

	// Org B claims the same name: allowed, but verifying it is refused.
	r = e.do("POST", "/api/v1/domains", e.tokenB, []byte(`{"name":"corp.example"}`))
	var db apiview.Domain
	r.json(t, &db)
	if r.status != 201 || db.TXTRecord.Value == d.TXTRecord.Value {
		t.Fatalf("org B's claim = %d %s", r.status, r.body)
	}
	e.dns.Add("corp.example", db.TXTRecord.Value)
	r = e.do("POST", "/api/v1/domains/"+db.ID+"/verify", e.tokenB, nil)
	if r.status != 409 || r.errCode(t) != "domain_taken" {
		t.Errorf("org B verifying a taken domain = %d %s", r.status, r.body)
	}

	// Remove.
	if r := e.do("DELETE", "/api/v1/domains/corp.example", e.tokenA, nil); r.status != 204 {
		t.Errorf("DELETE = %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/domains/"+d.ID, e.tokenA, nil); r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("GET a removed domain = %d %s", r.status, r.body)
	}
	// Now org B may verify it.
	if r := e.do("POST", "/api/v1/domains/"+db.ID+"/verify", e.tokenB, nil); r.status != 200 {
		t.Errorf("org B verify after A removed = %d %s", r.status, r.body)
	}
}

func TestIdPs(t *testing.T) {
	e := newEnv(t)
	dev := startDevIdP(t)

	// From a metadata URL.
	r := e.do("POST", "/api/v1/idps", e.tokenA, body(map[string]any{
		"name": "Contoso Entra", "metadata_url": dev.metadataURL(), "attribute_map": map[string]string{"email": "mail"},
	}))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /idps (metadata_url) = %d %s", r.status, r.body)
	}
	var c apiview.Connection
	r.json(t, &c)
	fp := saml.Fingerprint(idpKey.Cert)
	switch {
	case c.Slug != "contoso-entra" || c.Name != "Contoso Entra" || c.Source != "metadata_url":
		t.Errorf("connection = %+v", c)
	case c.EntityID != dev.idp.EntityID() || c.SSOURL != dev.idp.SSOURL() || c.MetadataURL != dev.metadataURL() || c.MetadataFetchedAt == nil:
		t.Errorf("IdP settings = %+v", c)
	case c.SPEntityID != "https://gatehouse.test/saml/contoso-entra" || c.ACSURL != "https://gatehouse.test/saml/contoso-entra/acs" ||
		c.SPMetadataURL != "https://gatehouse.test/saml/contoso-entra/metadata":
		t.Errorf("SP side = %s %s %s", c.SPEntityID, c.ACSURL, c.SPMetadataURL)
	case len(c.Certificates) != 1 || c.Certificates[0].SHA256Fingerprint != fp || c.Certificates[0].Expired ||
		!strings.Contains(c.Certificates[0].Subject, "Contoso IdP") || c.Certificates[0].NotAfter.IsZero():
		t.Errorf("certificates = %+v", c.Certificates)
	case c.SPCertificate == nil || !strings.Contains(c.SPCertificate.Subject, c.SPEntityID):
		t.Errorf("sp_certificate = %+v", c.SPCertificate)
	case !c.JIT || c.AttributeMap["email"] != "mail" || c.TestedAt != nil || len(c.Warnings) != 0:
		t.Errorf("options = %+v", c)
	}
	if r.header.Get("Location") != "/api/v1/idps/"+c.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	for _, secret := range []string{"PRIVATE KEY", "sp_key", "metadata_xml", "EntityDescriptor"} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("connection JSON contains %q: %s", secret, r.body)
		}
	}

	// From pasted metadata, with risky options that come with warnings.
	r = e.do("POST", "/api/v1/idps", e.tokenA, body(map[string]any{
		"name": "Pasted", "slug": "pasted", "metadata_xml": dev.metadataXML(t), "jit": false,
		"allow_sha1": true, "allow_idp_initiated": true, "sign_requests": true, "name_id_format": "persistent",
	}))
	var pasted apiview.Connection
	r.json(t, &pasted)
	if r.status != 201 || pasted.Source != "metadata_xml" || pasted.JIT || !pasted.SignRequests || pasted.NameIDFormat != "persistent" || len(pasted.Warnings) != 2 {
		t.Errorf("POST /idps (metadata_xml) = %d %s", r.status, r.body)
	}

	// Manual settings.
	r = e.do("POST", "/api/v1/idps", e.tokenA, body(map[string]any{
		"name": "Manual", "entity_id": "https://idp.corp.example/", "sso_url": "https://idp.corp.example/sso",
		"certificates_pem": []string{string(idpKey.CertPEM())}, "allow_expired_certificates": true,
	}))
	var manual apiview.Connection
	r.json(t, &manual)
	if r.status != 201 || manual.Source != "manual" || manual.EntityID != "https://idp.corp.example/" || len(manual.Certificates) != 1 ||
		!manual.AllowExpiredCertificates || len(manual.Warnings) != 1 {
		t.Fatalf("POST /idps (manual) = %d %s", r.status, r.body)
	}

	r = e.do("GET", "/api/v1/idps", e.tokenA, nil)
	var list struct{ IdPs []apiview.Connection }
	r.json(t, &list)
	if r.status != 200 || len(list.IdPs) != 3 {
		t.Errorf("GET /idps = %d %s", r.status, r.body)
	}
	for _, ref := range []string{c.ID, "contoso-entra"} {
		if r := e.do("GET", "/api/v1/idps/"+ref, e.tokenA, nil); r.status != 200 || !bytes.Contains(r.body, []byte(c.ID)) {
			t.Errorf("GET /idps/%s = %d %s", ref, r.status, r.body)
		}
	}

	// PATCH: a new name and the risky option off again.
	r = e.do("PATCH", "/api/v1/idps/pasted", e.tokenA, []byte(`{"name":"Pasted again","allow_sha1":false}`))
	r.json(t, &pasted)
	if r.status != 200 || pasted.Name != "Pasted again" || pasted.AllowSHA1 || len(pasted.Warnings) != 1 || pasted.Slug != "pasted" {
		t.Errorf("PATCH /idps = %d %s", r.status, r.body)
	}

	// Certificate rollover on the manual connection.
	r = e.do("POST", "/api/v1/idps/"+manual.ID+"/certificates", e.tokenA, body(map[string]string{"certificate_pem": string(idpKey2.CertPEM())}))
	r.json(t, &manual)
	if r.status != 200 || len(manual.Certificates) != 2 {
		t.Fatalf("add certificate = %d %s", r.status, r.body)
	}
	// Colons and case in the fingerprint are ignored.
	colons := strings.ToUpper(fp[:2] + ":" + fp[2:])
	r = e.do("DELETE", "/api/v1/idps/"+manual.ID+"/certificates/"+colons, e.tokenA, nil)
	r.json(t, &manual)
	if r.status != 200 || len(manual.Certificates) != 1 || manual.Certificates[0].SHA256Fingerprint != saml.Fingerprint(idpKey2.Cert) {
		t.Errorf("remove certificate = %d %s", r.status, r.body)
	}
	r = e.do("DELETE", "/api/v1/idps/"+manual.ID+"/certificates/"+manual.Certificates[0].SHA256Fingerprint, e.tokenA, nil)
	if r.status != 400 || r.errCode(t) != "invalid_request" || !strings.Contains(string(r.body), "only signing certificate") {
		t.Errorf("remove the last certificate = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/idps/"+manual.ID+"/certificates/"+fp, e.tokenA, nil); r.status != 404 {
		t.Errorf("remove an unknown certificate = %d %s", r.status, r.body)
	}

	// Refresh: works, then the IdP goes down; the last good copy stays.
	if r := e.do("POST", "/api/v1/idps/contoso-entra/refresh-metadata", e.tokenA, nil); r.status != 200 {
		t.Errorf("refresh = %d %s", r.status, r.body)
	}
	dev.failing.Store(true)
	r = e.do("POST", "/api/v1/idps/contoso-entra/refresh-metadata", e.tokenA, nil)
	var eb struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &eb)
	if r.status != 422 || eb.Error.Code != "metadata_unavailable" || !strings.Contains(eb.Error.Message, "503") || !strings.Contains(eb.Error.Message, "last good copy") {
		t.Errorf("refresh while the IdP is down = %d %s", r.status, r.body)
	}
	dev.failing.Store(false)
	r = e.do("GET", "/api/v1/idps/contoso-entra", e.tokenA, nil)
	r.json(t, &c)
	if c.EntityID != dev.idp.EntityID() || len(c.Certificates) != 1 || c.MetadataError == "" || len(c.Warnings) != 1 {
		t.Errorf("after a failed refresh: %+v", c)
	}
	if r := e.do("POST", "/api/v1/idps/pasted/refresh-metadata", e.tokenA, nil); r.status != 400 {
		t.Errorf("refresh without a metadata URL = %d %s", r.status, r.body)
	}

	// SP metadata, for the IdP.
	r = e.do("GET", "/api/v1/idps/contoso-entra/sp-metadata", e.tokenA, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/samlmetadata+xml" ||
		!bytes.Contains(r.body, []byte(`entityID="https://gatehouse.test/saml/contoso-entra"`)) ||
		!bytes.Contains(r.body, []byte("https://gatehouse.test/saml/contoso-entra/acs")) || bytes.Contains(r.body, []byte("PRIVATE")) {
		t.Errorf("sp-metadata = %d %q\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if !strings.Contains(r.header.Get("Content-Disposition"), "gatehouse-sp-contoso-entra.xml") {
		t.Errorf("Content-Disposition = %q", r.header.Get("Content-Disposition"))
	}

	// Remove.
	if r := e.do("DELETE", "/api/v1/idps/pasted", e.tokenA, nil); r.status != 204 {
		t.Errorf("DELETE = %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/idps/"+pasted.ID, e.tokenA, nil); r.status != 404 {
		t.Errorf("GET removed = %d", r.status)
	}
	for _, action := range []string{"idp.create", "idp.update", "idp.certificate_add", "idp.certificate_remove", "idp.metadata_refresh", "idp.remove"} {
		if len(e.events(e.orgA.ID, action)) == 0 {
			t.Errorf("no %s audit event", action)
		}
	}
}

// Enforcing SSO through a connection nobody has signed in through is
// refused (409 connection_untested) and changes nothing; "force" enforces
// it and the service records the override.
func TestPoliciesAndLockoutPrevention(t *testing.T) {
	e := newEnv(t)
	if _, err := e.policies.EnsureDefault(e.ctx, e.orgA.ID); err != nil {
		t.Fatal(err)
	}
	conn := e.addManualIdP(e.tokenA, "Okta", "http://www.okta.com/exk1", "https://corp.okta.com/app/sso/saml")
	e.factors.BreakGlassOwner(t, e.store, e.orgA.ID) // enforcing SSO needs one

	before := e.auditCount()
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/policies/default", `{"sso":"enforced","connection":"okta"}`},
		{"PATCH", "/api/v1/policies/Default", `{"sso":"enforced","connection":"` + conn.ID + `","force":false}`},
		{"POST", "/api/v1/policies", `{"name":"Engineering","sso":"enforced","connection":"okta"}`},
	} {
		r := e.do(c.method, c.path, e.tokenA, []byte(c.body))
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		r.json(t, &eb)
		if r.status != 409 || eb.Error.Code != "connection_untested" || !strings.Contains(eb.Error.Message, "Run a test sign-in through Okta") ||
			!strings.Contains(eb.Error.Message, `"force": true`) {
			t.Errorf("%s %s %s = %d %s", c.method, c.path, c.body, r.status, r.body)
		}
	}
	if after := e.auditCount(); after != before || e.ssoCounts(e.orgA.ID)[2] != 2 { // the default and the break-glass policy
		t.Errorf("refusals changed something: audit %d→%d, counts %v", before, after, e.ssoCounts(e.orgA.ID))
	}

	// Force: enforced, and the override is in the audit log.
	r := e.do("PATCH", "/api/v1/policies/default", e.tokenA, []byte(`{"sso":"enforced","connection":"okta","force":true}`))
	var p apiview.Policy
	r.json(t, &p)
	if r.status != 200 || p.SSO != "enforced" || !p.IsDefault || p.ConnectionID != conn.ID || p.ConnectionSlug != "okta" || p.Name != "Default" {
		t.Fatalf("forced PATCH = %d %s", r.status, r.body)
	}
	evs := e.events(e.orgA.ID, "policy.update")
	if len(evs) != 1 || evs[0].Details["override"] != "untested_connection" || evs[0].ActorID != e.tokA.ID {
		t.Errorf("policy.update events = %+v", evs)
	}
	r = e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Engineering","sso":"enforced","connection":"okta","force":true}`))
	r.json(t, &p)
	if r.status != 201 || p.SSO != "enforced" || p.Name != "Engineering" || p.IsDefault {
		t.Fatalf("forced POST = %d %s", r.status, r.body)
	}
	if r.header.Get("Location") != "/api/v1/policies/"+p.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}

	// Once tested, no force is needed.
	e.markTested(conn.ID)
	r = e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Sales","sso":"enforced","connection":"okta"}`))
	if r.status != 201 {
		t.Errorf("POST enforced through a tested connection = %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Break glass"}`))
	r.json(t, &p)
	if r.status != 201 || p.SSO != "off" || p.ConnectionID != "" {
		t.Errorf("POST a policy with SSO off = %d %s", r.status, r.body)
	}

	// Members.
	if _, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: "bob@acme.test"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("PUT", "/api/v1/policies/Break%20glass/members/owner@acme.test", e.tokenA, nil); r.status != 204 {
		t.Errorf("PUT member = %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/"+p.ID+"/members/Bob@Acme.test", e.tokenA, nil); r.status != 204 {
		t.Errorf("PUT member by policy ID = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/policies/Break%20glass", e.tokenA, nil)
	r.json(t, &p)
	if r.status != 200 || strings.Join(p.Members, ",") != "bob@acme.test,owner@acme.test" {
		t.Errorf("GET policy = %d %s", r.status, r.body)
	}
	// Moving bob to Sales takes him out of Break glass.
	if r := e.do("PUT", "/api/v1/policies/Sales/members/bob@acme.test", e.tokenA, nil); r.status != 204 {
		t.Errorf("PUT member elsewhere = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/policies/Break%20glass/members/bob@acme.test", e.tokenA, nil); r.status != 404 {
		t.Errorf("DELETE a member of another policy = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/policies/Break%20glass/members/owner@acme.test", e.tokenA, nil); r.status != 204 {
		t.Errorf("DELETE member = %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/default/members/bob@acme.test", e.tokenA, nil); r.status != 204 {
		t.Errorf("PUT member back to default = %d %s", r.status, r.body)
	}

	r = e.do("GET", "/api/v1/policies", e.tokenA, nil)
	var list struct{ Policies []apiview.Policy }
	r.json(t, &list)
	if r.status != 200 || len(list.Policies) != 5 || !list.Policies[0].IsDefault { // and the break-glass one
		t.Fatalf("GET /policies = %d %s", r.status, r.body)
	}
	for _, p := range list.Policies {
		if len(p.Members) != 0 && p.Name != lockouttest.PolicyName {
			t.Errorf("policy %s still has members %v", p.Name, p.Members)
		}
	}

	// What cannot go: the default policy, a connection in use.
	if r := e.do("DELETE", "/api/v1/policies/default", e.tokenA, nil); r.status != 409 || r.errCode(t) != "default_policy" {
		t.Errorf("DELETE default = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/idps/okta", e.tokenA, nil); r.status != 409 || r.errCode(t) != "connection_in_use" {
		t.Errorf("DELETE a connection in use = %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/policies/Engineering", e.tokenA, nil); r.status != 204 {
		t.Errorf("DELETE policy = %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/policies/Engineering", e.tokenA, nil); r.status != 404 {
		t.Errorf("GET deleted policy = %d", r.status)
	}
}

// The first change to an organization's default policy stores it.
func TestDefaultPolicyCreatedOnFirstChange(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/api/v1/policies/default", e.tokenA, nil); r.status != 404 || !strings.Contains(string(r.body), "no default policy yet") {
		t.Errorf("GET default before any = %d %s", r.status, r.body)
	}
	r := e.do("PATCH", "/api/v1/policies/default", e.tokenA, []byte(`{"sso":"off"}`))
	var p apiview.Policy
	r.json(t, &p)
	if r.status != 200 || !p.IsDefault || p.SSO != "off" {
		t.Errorf("PATCH default = %d %s", r.status, r.body)
	}
}

func TestSSOOrganizationIsolation(t *testing.T) {
	e := newEnv(t)
	// Org B has a domain, a connection and a policy.
	db, err := e.domains.Add(e.ctx, e.orgB.ID, "beta.example")
	if err != nil {
		t.Fatal(err)
	}
	cb := e.addManualIdP(e.tokenB, "Beta IdP", "https://idp.beta.example/", "https://idp.beta.example/sso")
	pb, err := e.policies.Create(e.ctx, e.orgB.ID, "Beta staff", "optional", cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.dns.Add("beta.example", e.domains.TXTRecord(db))

	before, countsB := e.auditCount(), e.ssoCounts(e.orgB.ID)
	const ghost = "0b5e7a43-0000-4000-8000-000000000000"
	fp := saml.Fingerprint(idpKey.Cert)
	e.wantCrossOrgNotFound(t, []crossOrgCase{
		{"GET", "/api/v1/domains/" + db.ID, "/api/v1/domains/" + ghost, ""},
		{"GET", "/api/v1/domains/beta.example", "/api/v1/domains/ghost.example", ""},
		{"POST", "/api/v1/domains/" + db.ID + "/verify", "/api/v1/domains/" + ghost + "/verify", ""},
		{"DELETE", "/api/v1/domains/" + db.ID, "/api/v1/domains/" + ghost, ""},
		{"GET", "/api/v1/idps/" + cb.ID, "/api/v1/idps/" + ghost, ""},
		{"GET", "/api/v1/idps/" + cb.Slug, "/api/v1/idps/" + ghost, ""},
		{"PATCH", "/api/v1/idps/" + cb.ID, "/api/v1/idps/" + ghost, `{"name":"Mine now"}`},
		{"DELETE", "/api/v1/idps/" + cb.ID, "/api/v1/idps/" + ghost, ""},
		{"POST", "/api/v1/idps/" + cb.ID + "/certificates", "/api/v1/idps/" + ghost + "/certificates", `{"certificate_pem":` + string(body(string(idpKey2.CertPEM()))) + `}`},
		{"DELETE", "/api/v1/idps/" + cb.ID + "/certificates/" + fp, "/api/v1/idps/" + ghost + "/certificates/" + fp, ""},
		{"POST", "/api/v1/idps/" + cb.ID + "/refresh-metadata", "/api/v1/idps/" + ghost + "/refresh-metadata", ""},
		{"GET", "/api/v1/idps/" + cb.ID + "/sp-metadata", "/api/v1/idps/" + ghost + "/sp-metadata", ""},
		{"GET", "/api/v1/policies/" + pb.ID, "/api/v1/policies/" + ghost, ""},
		{"PATCH", "/api/v1/policies/" + pb.ID, "/api/v1/policies/" + ghost, `{"sso":"off"}`},
		{"DELETE", "/api/v1/policies/" + pb.ID, "/api/v1/policies/" + ghost, ""},
		{"PUT", "/api/v1/policies/" + pb.ID + "/members/owner@acme.test", "/api/v1/policies/" + ghost + "/members/owner@acme.test", ""},
		{"PUT", "/api/v1/policies/default/members/owner@beta.test", "/api/v1/policies/default/members/ghost@beta.test", ""},
	}, []string{db.ID, "beta.example", cb.ID, cb.Slug, pb.ID, "owner@beta.test"}, []string{ghost, "ghost.example", "ghost@beta.test"})
	// A connection of org B cannot be named in org A's policy either.
	r := e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Sneaky","sso":"optional","connection":"`+cb.Slug+`"}`))
	if r.status != 400 || r.errCode(t) != "invalid_request" {
		t.Errorf("policy naming org B's connection = %d %s", r.status, r.body)
	}
	if e.auditCount() != before || e.ssoCounts(e.orgB.ID) != countsB || e.ssoCounts(e.orgA.ID) != [3]int{} {
		t.Errorf("cross-organization requests changed something: audit %d→%d", before, e.auditCount())
	}
	if d, _ := e.domains.Get(e.ctx, e.orgB.ID, db.ID); !d.VerifiedAt.IsZero() || !d.LastCheckedAt.IsZero() {
		t.Errorf("org B's domain was checked: %+v", d)
	}
	for _, path := range []string{"/api/v1/domains", "/api/v1/idps", "/api/v1/policies"} {
		r := e.do("GET", path, e.tokenA, nil)
		if r.status != 200 || bytes.Contains(r.body, []byte("beta")) {
			t.Errorf("GET %s with org A's token shows org B: %d %s", path, r.status, r.body)
		}
	}
}

// Bad input gets a 4xx with a stable code and writes nothing.
func TestSSOBadInputWritesNothing(t *testing.T) {
	e := newEnv(t)
	dev := startDevIdP(t)
	if _, err := e.domains.Add(e.ctx, e.orgA.ID, "acme.example"); err != nil {
		t.Fatal(err)
	}
	rc := e.do("POST", "/api/v1/idps", e.tokenA, body(map[string]any{"name": "Entra", "metadata_url": dev.metadataURL()}))
	if rc.status != 201 {
		t.Fatalf("connection = %d %s", rc.status, rc.body)
	}
	if _, err := e.policies.EnsureDefault(e.ctx, e.orgA.ID); err != nil {
		t.Fatal(err)
	}
	manual := func(extra map[string]any) []byte {
		m := map[string]any{"name": "Manual", "entity_id": "https://idp.example/", "sso_url": "https://idp.example/sso",
			"certificates_pem": []string{string(idpKey.CertPEM())}}
		for k, v := range extra {
			m[k] = v
		}
		return body(m)
	}
	notMetadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>hello</html>")) }))
	defer notMetadata.Close()
	big := body(map[string]any{"name": "Big", "metadata_xml": strings.Repeat("x", 70<<10)})

	cases := []struct {
		name, method, path string
		body               []byte
		status             int
		code, field        string
	}{
		{"domain: not a domain", "POST", "/api/v1/domains", []byte(`{"name":"not a domain"}`), 400, "invalid_request", "name"},
		{"domain: IP address", "POST", "/api/v1/domains", []byte(`{"name":"192.0.2.1"}`), 400, "invalid_request", "name"},
		{"domain: single label", "POST", "/api/v1/domains", []byte(`{"name":"localhost"}`), 400, "invalid_request", "name"},
		{"domain: empty", "POST", "/api/v1/domains", []byte(`{"name":""}`), 400, "invalid_request", "name"},
		{"domain: unicode", "POST", "/api/v1/domains", []byte(`{"name":"bücher.example"}`), 400, "invalid_request", "name"},
		{"domain: unknown field", "POST", "/api/v1/domains", []byte(`{"name":"x.example","verified":true}`), 400, "invalid_request", ""},
		{"domain: wrong type", "POST", "/api/v1/domains", []byte(`{"name":["x.example"]}`), 400, "invalid_request", ""},
		{"domain: twice", "POST", "/api/v1/domains", []byte(`{"name":"ACME.example"}`), 409, "conflict", ""},
		{"domain: verify body", "POST", "/api/v1/domains/acme.example/verify", []byte(`{"force":true}`), 400, "invalid_request", ""},
		{"domain: verify unknown", "POST", "/api/v1/domains/nope.example/verify", nil, 404, "not_found", ""},

		{"idp: no source", "POST", "/api/v1/idps", []byte(`{"name":"X"}`), 400, "invalid_request", "metadata_url"},
		{"idp: two sources", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_url": dev.metadataURL(), "metadata_xml": "<x/>"}), 400, "invalid_request", "metadata_url"},
		{"idp: no name", "POST", "/api/v1/idps", manual(map[string]any{"name": " "}), 400, "invalid_request", "name"},
		{"idp: bad slug", "POST", "/api/v1/idps", manual(map[string]any{"slug": "Not A Slug"}), 400, "invalid_request", "slug"},
		{"idp: slug taken", "POST", "/api/v1/idps", manual(map[string]any{"slug": "entra"}), 409, "conflict", ""},
		{"idp: http metadata URL", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_url": "http://idp.example/metadata"}), 400, "invalid_request", "metadata_url"},
		{"idp: metadata URL down", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_url": dev.srv.URL + "/nothing-here"}), 400, "invalid_request", "metadata_url"},
		{"idp: URL not metadata", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_url": notMetadata.URL}), 400, "invalid_request", "metadata_url"},
		{"idp: bad metadata XML", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_xml": "<EntityDescriptor/>"}), 400, "invalid_request", "metadata_xml"},
		{"idp: DTD in metadata", "POST", "/api/v1/idps", body(map[string]any{"name": "X", "metadata_xml": `<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor/>`}), 400, "invalid_request", "metadata_xml"},
		{"idp: oversized", "POST", "/api/v1/idps", big, 413, "payload_too_large", ""},
		{"idp: manual without cert", "POST", "/api/v1/idps", manual(map[string]any{"certificates_pem": []string{}}), 400, "invalid_request", "certificates_pem"},
		{"idp: garbage cert", "POST", "/api/v1/idps", manual(map[string]any{"certificates_pem": []string{"hello"}}), 400, "invalid_request", "certificates_pem"},
		{"idp: private key as cert", "POST", "/api/v1/idps", manual(map[string]any{"certificates_pem": []string{string(idpKey.KeyPEM())}}), 400, "invalid_request", "certificates_pem"},
		{"idp: bad SSO URL", "POST", "/api/v1/idps", manual(map[string]any{"sso_url": "javascript:alert(1)"}), 400, "invalid_request", "sso_url"},
		{"idp: bad NameID format", "POST", "/api/v1/idps", manual(map[string]any{"name_id_format": "x509"}), 400, "invalid_request", "name_id_format"},
		{"idp: bad attribute map", "POST", "/api/v1/idps", manual(map[string]any{"attribute_map": map[string]string{"shoe_size": "x"}}), 400, "invalid_request", "attribute_map"},
		{"idp: jit wrong type", "POST", "/api/v1/idps", manual(map[string]any{"jit": "yes"}), 400, "invalid_request", ""},
		{"idp: unknown field", "POST", "/api/v1/idps", manual(map[string]any{"sp_private_key": "x"}), 400, "invalid_request", ""},
		{"idp: patch nothing", "PATCH", "/api/v1/idps/entra", []byte(`{}`), 400, "invalid_request", ""},
		{"idp: patch slug", "PATCH", "/api/v1/idps/entra", []byte(`{"slug":"other"}`), 400, "invalid_request", ""},
		{"idp: patch bad name", "PATCH", "/api/v1/idps/entra", []byte(`{"name":"a\u0000b"}`), 400, "invalid_request", "name"},
		{"idp: patch manual fields of a URL connection", "PATCH", "/api/v1/idps/entra", []byte(`{"entity_id":"https://other.example/"}`), 400, "invalid_request", "entity_id"},
		{"idp: cert to a URL connection", "POST", "/api/v1/idps/entra/certificates", body(map[string]string{"certificate_pem": string(idpKey2.CertPEM())}), 400, "invalid_request", "certificate_pem"},
		{"idp: cert empty", "POST", "/api/v1/idps/entra/certificates", []byte(`{"certificate_pem":""}`), 400, "invalid_request", "certificate_pem"},
		{"idp: unknown connection", "GET", "/api/v1/idps/nope", nil, 404, "not_found", ""},

		{"policy: bad sso", "POST", "/api/v1/policies", []byte(`{"name":"P","sso":"always"}`), 400, "invalid_request", "sso"},
		{"policy: enforced without connection", "POST", "/api/v1/policies", []byte(`{"name":"P","sso":"enforced"}`), 400, "invalid_request", "connection"},
		{"policy: unknown connection", "POST", "/api/v1/policies", []byte(`{"name":"P","sso":"optional","connection":"nope"}`), 400, "invalid_request", "connection"},
		{"policy: no name", "POST", "/api/v1/policies", []byte(`{"name":"  ","sso":"off"}`), 400, "invalid_request", "name"},
		{"policy: named default", "POST", "/api/v1/policies", []byte(`{"name":"DEFAULT","sso":"off"}`), 400, "invalid_request", "name"},
		{"policy: duplicate of the default", "POST", "/api/v1/policies", []byte(`{"name":"Default","sso":"off"}`), 400, "invalid_request", "name"},
		{"policy: unknown field", "POST", "/api/v1/policies", []byte(`{"name":"P","mfa":true}`), 400, "invalid_request", ""},
		{"policy: patch nothing", "PATCH", "/api/v1/policies/default", []byte(`{"force":true}`), 400, "invalid_request", ""},
		{"policy: patch bad sso", "PATCH", "/api/v1/policies/default", []byte(`{"sso":"ENFORCED","connection":"entra"}`), 400, "invalid_request", "sso"},
		{"policy: patch optional without connection", "PATCH", "/api/v1/policies/default", []byte(`{"sso":"optional"}`), 400, "invalid_request", "connection"},
		{"policy: patch unknown policy", "PATCH", "/api/v1/policies/nope", []byte(`{"sso":"off"}`), 404, "not_found", ""},
		{"policy: enforce untested", "PATCH", "/api/v1/policies/default", []byte(`{"sso":"enforced","connection":"entra"}`), 409, "connection_untested", "sso"},
		{"policy: member unknown", "PUT", "/api/v1/policies/default/members/nobody@acme.test", nil, 404, "not_found", ""},
		{"policy: member not an email", "PUT", "/api/v1/policies/default/members/nobody", nil, 400, "invalid_request", "email"},
		{"policy: member body", "PUT", "/api/v1/policies/default/members/owner@acme.test", []byte(`{"policy":"x"}`), 400, "invalid_request", ""},
		{"policy: remove non-member", "DELETE", "/api/v1/policies/default/members/owner@acme.test", nil, 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, counts := e.auditCount(), e.ssoCounts(e.orgA.ID)
			r := e.do(c.method, c.path, e.tokenA, c.body)
			var eb struct {
				Error struct{ Code, Message, Field string }
			}
			r.json(t, &eb)
			if r.status != c.status || eb.Error.Code != c.code || eb.Error.Field != c.field || eb.Error.Message == "" {
				t.Errorf("%s %s = %d %s, want %d %s field %q", c.method, c.path, r.status, r.body, c.status, c.code, c.field)
			}
			if bytes.Contains(r.body, []byte("goroutine")) || bytes.Contains(r.body, []byte(".go:")) || bytes.Contains(r.body, []byte("sql")) {
				t.Errorf("error response shows internals: %s", r.body)
			}
			if e.auditCount() != before || e.ssoCounts(e.orgA.ID) != counts {
				t.Errorf("bad input changed something: audit %d→%d, counts %v→%v", before, e.auditCount(), counts, e.ssoCounts(e.orgA.ID))
			}
		})
	}
}

// A Handler built without the SSO services serves the rest and answers
// 404 on their paths.
func TestSSOServicesOptional(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	(&adminapi.Handler{Accounts: e.accounts, Sessions: e.sessions, Audit: audit.NewService(e.store)}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/api/v1/domains", "/api/v1/idps", "/api/v1/policies/default", "/api/v1/members"} {
		want := 404
		if path == "/api/v1/members" {
			want = 200
		}
		if r := send(t, srv.URL+path, "GET", "Bearer "+e.tokenA, nil); r.status != want {
			t.Errorf("GET %s = %d, want %d", path, r.status, want)
		}
	}
}
