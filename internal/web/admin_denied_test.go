package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// deniedEvents returns org's access.denied events.
func (e *env) deniedEvents(orgID string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID, Action: "access.denied", Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// A member opening the console used to get 403 and leave no trace: an
// admin reading the log could not see someone probing for it. Each refusal
// is now audited (who, what they tried, on what, from where, with the
// request ID), at most once per person and route a minute, so a script
// hammering the console cannot fill the log.
func TestMemberOpeningTheConsoleIsAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	mia := e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	c := e.client()
	c.signIn("mia@acme.example", memberPassword)

	first := c.get("/admin")
	expect(t, first, http.StatusForbidden, "Only your organization's owners and admins")
	for range 5 {
		expect(t, c.get("/admin"), http.StatusForbidden)
	}
	expect(t, c.post("/admin/members", url.Values{"email": {"x@acme.example"}, "role": {"owner"}}), http.StatusForbidden)

	evs := e.deniedEvents(org.ID)
	if len(evs) != 2 {
		t.Fatalf("%d access.denied events, want 2 (one per route a minute): %+v", len(evs), evs)
	}
	ev := evs[0]
	if ev.Outcome != "denied" || ev.ActorType != "account" || ev.ActorID != mia.ID || ev.ActorEmail != "mia@acme.example" ||
		ev.Reason != "not_admin" || ev.Details["attempted"] != "GET /admin" || ev.TargetID != "/admin" ||
		ev.IP != "127.0.0.1" || ev.RequestID != first.header.Get("X-Request-ID") {
		t.Errorf("denied event = %+v (request ID %q)", ev, first.header.Get("X-Request-ID"))
	}
	if evs[1].Details["attempted"] != "POST /admin/members" || evs[1].Outcome != "denied" {
		t.Errorf("second denied event = %+v", evs[1])
	}

	// A minute later the same attempt is recorded again.
	e.clock.Advance(61 * time.Second)
	expect(t, c.get("/admin"), http.StatusForbidden)
	if n := len(e.deniedEvents(org.ID)); n != 3 {
		t.Errorf("%d access.denied events after a minute, want 3", n)
	}
}

// An admin attempting what only owners may do is refused and audited too.
func TestAdminOwnerOnlyActionIsAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	ada := e.addMember(org.ID, "ada@acme.example", storage.RoleAdmin)
	c := e.client()
	c.signIn("ada@acme.example", memberPassword)

	r := c.post("/admin/members", url.Values{"email": {"ada.shadow@acme.example"}, "display_name": {"Shadow"}, "role": {"owner"}})
	expect(t, r, http.StatusForbidden, "Only an owner")
	evs := e.deniedEvents(org.ID)
	if len(evs) != 1 {
		t.Fatalf("%d access.denied events, want 1: %+v", len(evs), evs)
	}
	ev := evs[0]
	if ev.Outcome != "denied" || ev.ActorID != ada.ID || ev.Details["attempted"] != "POST /admin/members" ||
		ev.RequestID != r.header.Get("X-Request-ID") || ev.IP == "" {
		t.Errorf("denied event = %+v", ev)
	}
	// Allowed console work records no denial.
	expect(t, c.get("/admin/members"), http.StatusOK)
	if n := len(e.deniedEvents(org.ID)); n != 1 {
		t.Errorf("%d access.denied events after an allowed page, want 1", n)
	}
}
