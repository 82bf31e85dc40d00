package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The public status page shows each connection's state and the incidents,
// and nothing about people; the admin console shows the same with checks.
func TestStatusPageShowsIncidentsWithoutPersonalData(t *testing.T) {
	e := newEnv(t)
	org, owner, admin := e.signedInOwner()
	ctx := context.Background()
	now := e.clock.Now()
	conn := storage.IdPConnection{ID: "conn-okta", OrgID: org.ID, Slug: "acme-okta", Name: "Acme Okta",
		EntityID: "https://okta.example/", SSOURL: "https://okta.example/sso", AttributeMap: map[string]string{},
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateIdPConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	r := anon.get("/status/" + org.Slug)
	expect(t, r, http.StatusOK, "Sign-in status", "Acme Okta", "Operational", "No incidents.")

	// A burst of IdP errors opens an incident.
	if err := e.store.RecordSSOOutcome(ctx, conn.ID, storage.OutcomeIdPError, now, 6); err != nil {
		t.Fatal(err)
	}
	if err := e.health.Evaluate(ctx, now); err != nil {
		t.Fatal(err)
	}
	r = anon.get("/status/" + org.Slug)
	expect(t, r, http.StatusOK, "Acme Okta", "Down", "Sign-ins failing", "Ongoing")
	for _, personal := range []string{owner.Email, owner.DisplayName, "@"} {
		if strings.Contains(text(r.body), personal) {
			t.Errorf("the public status page shows %q", personal)
		}
	}

	r = anon.get("/status/" + org.Slug + ".json")
	expect(t, r, http.StatusOK)
	var js struct {
		State       string `json:"state"`
		Connections []struct {
			Name, State string
			Incident    *struct{ Cause string }
		} `json:"connections"`
		Incidents []struct {
			Connection string     `json:"connection"`
			EndedAt    *time.Time `json:"ended_at"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal([]byte(r.body), &js); err != nil {
		t.Fatalf("JSON: %v: %s", err, r.body)
	}
	if js.State != "down" || len(js.Connections) != 1 || js.Connections[0].Incident == nil ||
		len(js.Incidents) != 1 || js.Incidents[0].Connection != "Acme Okta" || js.Incidents[0].EndedAt != nil {
		t.Fatalf("JSON status = %+v", js)
	}
	if strings.Contains(r.body, owner.Email) || strings.Contains(r.body, conn.ID) {
		t.Error("the JSON status names a person or an internal ID")
	}
	expect(t, anon.get("/status/no-such-org"), http.StatusNotFound)

	// The admin sees the incident and its figures on the connection's page.
	r = admin.get("/admin/sso/" + conn.Slug)
	expect(t, r, http.StatusOK, "Health", "Incident", "Too many sign-ins failed", "6 of 6 sign-ins")
}
