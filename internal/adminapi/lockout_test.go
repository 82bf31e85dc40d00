package adminapi_test

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Every API edge that can lock the owners out answers 409 lockout with the
// explanation and changes nothing; force_reason (body or, for DELETE, the
// query) makes the change and is audited.
func TestAPILockout(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	conn := storage.IdPConnection{ID: uuid.NewString(), OrgID: e.orgA.ID, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateIdPConnection(e.ctx, conn); err != nil {
		t.Fatal(err)
	}
	ok := func(method, path, body string, want int) {
		t.Helper()
		if r := e.do(method, path, e.tokenA, []byte(body)); r.status != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
		}
	}
	refused := func(method, path, body string) {
		t.Helper()
		before := e.auditCount()
		r := e.do(method, path, e.tokenA, []byte(body))
		if r.status != 409 || r.errCode(t) != "lockout" || !bytes.Contains(r.body, []byte(e.ownerA.Email+" (owner")) ||
			!bytes.Contains(r.body, []byte("force_reason")) {
			t.Fatalf("%s %s %s = %d %s, want 409 lockout naming the owner", method, path, body, r.status, r.body)
		}
		if e.auditCount() != before {
			t.Fatalf("%s %s: the refusal wrote audit events", method, path)
		}
	}
	// Safe set-up: a break-glass policy holds the owner; the domain is claimed.
	ok("POST", "/api/v1/policies", `{"name":"Break glass","sso":"off"}`, 201)
	ok("PUT", "/api/v1/policies/Break%20glass/members/"+e.ownerA.Email, ``, 204)
	bg, err := e.store.GetPolicyByName(e.ctx, e.orgA.ID, "Break glass")
	if err != nil {
		t.Fatal(err)
	}
	e.factors.MakeBreakGlass(t, e.store, e.orgA.ID, bg.ID, e.ownerA.ID) // MFA required, a factor enrolled
	ok("PATCH", "/api/v1/policies/default", `{"sso":"enforced","connection":"corp-idp"}`, 200)
	r := e.do("POST", "/api/v1/domains", e.tokenA, []byte(`{"name":"acme.test"}`))
	if r.status != 201 {
		t.Fatalf("add domain: %d %s", r.status, r.body)
	}
	d, err := e.domains.List(e.ctx, e.orgA.ID)
	if err != nil || len(d) != 1 {
		t.Fatal(d, err)
	}
	e.dns.Set("acme.test", e.domains.TXTRecord(d[0]))
	ok("POST", "/api/v1/domains/acme.test/verify", ``, 200)

	// Each way of taking the owner out of break-glass is refused.
	refused("DELETE", "/api/v1/policies/Break%20glass", ``)
	refused("DELETE", "/api/v1/policies/Break%20glass/members/"+e.ownerA.Email, ``)
	refused("PUT", "/api/v1/policies/default/members/"+e.ownerA.Email, `{}`)
	refused("PATCH", "/api/v1/policies/Break%20glass", `{"sso":"enforced","connection":"corp-idp"}`)
	// With a second owner who has no password yet, suspending the first
	// is no last-owner case, but a lockout (a blank reason forces nothing).
	ok("POST", "/api/v1/members", `{"email":"second@acme.test","role":"owner"}`, 201)
	refused("PATCH", "/api/v1/members/"+e.ownerA.ID, `{"status":"suspended","force_reason":" "}`)

	// A bad reason is a 400 on its field.
	if r := e.do("PATCH", "/api/v1/policies/Break%20glass", e.tokenA, []byte(`{"sso":"enforced","connection":"corp-idp","force_reason":"a\u0007b"}`)); r.status != 400 {
		t.Fatalf("control character in force_reason: %d %s", r.status, r.body)
	}

	// Forced through the query string of a DELETE.
	ok("DELETE", "/api/v1/policies/Break%20glass?force_reason="+url.QueryEscape("moving to the new IdP"), ``, 204)
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: "policy.delete"})
	if err != nil || len(evs) != 1 || evs[0].Details["forced"] != "true" || evs[0].Details["force_reason"] != "moving to the new IdP" ||
		evs[0].Details["locked_out"] != e.ownerA.Email {
		t.Fatalf("policy.delete events: %+v %v", evs, err)
	}
	// Already unsafe: a repair needs no force.
	ok("PATCH", "/api/v1/policies/default", `{"sso":"optional"}`, 200)

	// Policy names that cannot be addressed in a path are refused.
	for _, name := range []string{"..", "a/b", "%2F", "-rf", ".hidden"} {
		if r := e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"`+name+`","sso":"off"}`)); r.status != 400 || r.errCode(t) != "invalid_request" {
			t.Errorf("policy name %q: %d %s", name, r.status, r.body)
		}
	}
}
