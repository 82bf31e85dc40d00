package adminapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func TestEmergencyAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	res := e.do("POST", "/api/v1/emergencies", e.tokenA, []byte(`{"reason":"","for":"4h"}`))
	if res.status != http.StatusBadRequest || res.errCode(t) != "invalid_request" {
		t.Fatalf("no reason: %d %s", res.status, res.body)
	}
	res = e.do("POST", "/api/v1/emergencies", e.tokenA, []byte(`{"reason":"IdP down","for":"100h"}`))
	if res.status != http.StatusBadRequest {
		t.Fatalf("over the maximum: %d %s", res.status, res.body)
	}
	res = e.do("POST", "/api/v1/emergencies", e.tokenA, []byte(`{"reason":"IdP down","for":"2h"}`))
	if res.status != http.StatusCreated {
		t.Fatalf("start: %d %s", res.status, res.body)
	}
	var em apiview.Emergency
	res.json(t, &em)
	if !em.Active || em.Reason != "IdP down" || em.EndsAt.Sub(em.StartedAt) != 2*time.Hour || em.StartedBy.Type != "api_token" || em.SignOutAtEnd {
		t.Fatalf("started %+v", em)
	}
	if res := e.do("POST", "/api/v1/emergencies", e.tokenA, []byte(`{"reason":"again"}`)); res.status != http.StatusConflict {
		t.Fatalf("second start: %d %s", res.status, res.body)
	}

	var active struct{ Active *apiview.Emergency }
	e.do("GET", "/api/v1/emergencies/active", e.tokenA, nil).json(t, &active)
	if active.Active == nil || active.Active.ID != em.ID {
		t.Fatalf("active = %+v", active)
	}
	// Another organization sees none, and cannot touch this one.
	e.do("GET", "/api/v1/emergencies/active", e.tokenB, nil).json(t, &active)
	if active.Active != nil {
		t.Fatal("org B sees org A's emergency")
	}
	if res := e.do("POST", "/api/v1/emergencies/"+em.ID+"/end", e.tokenB, nil); res.status != http.StatusNotFound {
		t.Fatalf("org B ends A's: %d", res.status)
	}

	res = e.do("POST", "/api/v1/emergencies/"+em.ID+"/extend", e.tokenA, []byte(`{"for":"1h"}`))
	var ext apiview.Emergency
	res.json(t, &ext)
	if res.status != http.StatusOK || !ext.EndsAt.Equal(em.EndsAt.Add(time.Hour)) {
		t.Fatalf("extend: %d %s", res.status, res.body)
	}
	// The sign-out-at-end choice alone can be changed; the end stays.
	res = e.do("POST", "/api/v1/emergencies/"+em.ID+"/extend", e.tokenA, []byte(`{"sign_out_at_end":true}`))
	var tog apiview.Emergency
	res.json(t, &tog)
	if res.status != http.StatusOK || !tog.SignOutAtEnd || !tog.EndsAt.Equal(ext.EndsAt) {
		t.Fatalf("toggle: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/api/v1/emergencies/"+em.ID+"/extend", e.tokenA, []byte(`{}`)); res.status != http.StatusBadRequest {
		t.Fatalf("empty extend: %d %s", res.status, res.body)
	}

	res = e.do("POST", "/api/v1/emergencies/"+em.ID+"/end", e.tokenA, []byte(`{"sign_out":true}`))
	var end struct {
		Emergency        apiview.Emergency
		PasswordsCleared int `json:"passwords_cleared"`
		SessionsRevoked  int `json:"sessions_revoked"`
	}
	res.json(t, &end)
	if res.status != http.StatusOK || end.Emergency.Active || end.Emergency.EndReason != "ended" || end.Emergency.EndedBy == nil {
		t.Fatalf("end: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/api/v1/emergencies/"+em.ID+"/end", e.tokenA, nil); res.status != http.StatusConflict {
		t.Fatalf("end twice: %d %s", res.status, res.body)
	}

	var list struct {
		Active      *apiview.Emergency
		Emergencies []apiview.Emergency
	}
	e.do("GET", "/api/v1/emergencies", e.tokenA, nil).json(t, &list)
	if list.Active != nil || len(list.Emergencies) != 1 {
		t.Fatalf("list %+v", list)
	}
	var one struct {
		Emergency apiview.Emergency
		SignIns   []apiview.EmergencySignIn `json:"sign_ins"`
	}
	if res := e.do("GET", "/api/v1/emergencies/"+em.ID, e.tokenA, nil); res.status != http.StatusOK {
		t.Fatalf("get: %d", res.status)
	} else {
		res.json(t, &one)
	}
	if one.Emergency.ID != em.ID || one.SignIns == nil {
		t.Fatalf("get %+v", one)
	}
}

// Turning SSO enforcement off outside an emergency answers with who gains a
// password way in; during an emergency covering the policy it does not.
func TestPolicyUpdateWarnsOfPasswordExposure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	conn := storage.IdPConnection{ID: uuid.NewString(), OrgID: e.orgA.ID, Slug: "corp-idp", Name: "Corp IdP",
		EntityID: "https://idp.example/", SSOURL: "https://idp.example/sso", TestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateIdPConnection(e.ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: "grace@acme.test", Role: storage.RoleMember}); err != nil {
		t.Fatal(err)
	}
	call := func(body string) map[string]json.RawMessage {
		t.Helper()
		r := e.do("PATCH", "/api/v1/policies/default", e.tokenA, []byte(body))
		if r.status != http.StatusOK {
			t.Fatalf("PATCH %s = %d %s", body, r.status, r.body)
		}
		var out map[string]json.RawMessage
		r.json(t, &out)
		return out
	}
	call(`{"sso":"enforced","connection":"corp-idp","force_reason":"test set-up"}`)
	out := call(`{"sso":"optional"}`)
	var warn apiview.PasswordExposure
	if err := json.Unmarshal(out["warning"], &warn); err != nil {
		t.Fatalf("no warning: %s", out["warning"])
	}
	if !slices.Contains(warn.WithPassword, e.ownerA.Email) || !slices.Contains(warn.CanSetPassword, "grace@acme.test") {
		t.Fatalf("warning %+v", warn)
	}
	if _, ok := call(`{"sso":"off"}`)["warning"]; ok {
		t.Fatal("warning for a policy that was not enforcing SSO")
	}
}
