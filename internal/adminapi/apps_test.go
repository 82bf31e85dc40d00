package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func TestAppsLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/apps", e.tokenA, []byte(`{"name":"Grafana",
		"redirect_uris":["https://grafana.example.com/login/generic_oauth"],
		"scopes":["openid","email","groups"],"groups":["ops"],"access_token_ttl_seconds":600}`))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created apiview.AppCreated
	r.json(t, &created)
	if !strings.HasPrefix(created.ClientSecret, "ghs_") || created.ClientID == "" || created.Type != "confidential" ||
		created.Issuer != "https://gatehouse.test" || created.Discovery != "https://gatehouse.test/.well-known/openid-configuration" ||
		created.AccessTokenTTLSeconds != 600 || strings.Join(created.Scopes, " ") != "email groups" {
		t.Fatalf("created: %+v", created)
	}
	if r.header.Get("Location") != "/api/v1/apps/"+created.ID || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", r.header)
	}

	// The secret is never shown again: not in the list, not in the app.
	for _, path := range []string{"/api/v1/apps", "/api/v1/apps/" + created.ID, "/api/v1/apps/Grafana"} {
		r = e.do("GET", path, e.tokenA, nil)
		if r.status != http.StatusOK || strings.Contains(string(r.body), created.ClientSecret) || strings.Contains(string(r.body), "secret") {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	var list struct{ Apps []apiview.App }
	e.do("GET", "/api/v1/apps", e.tokenA, nil).json(t, &list)
	if len(list.Apps) != 1 || list.Apps[0].ClientID != created.ClientID {
		t.Fatalf("list: %+v", list)
	}
	// Another organization sees nothing of it.
	if r = e.do("GET", "/api/v1/apps/"+created.ID, e.tokenB, nil); r.status != http.StatusNotFound {
		t.Fatalf("GET from org B: %d", r.status)
	}

	r = e.do("PATCH", "/api/v1/apps/"+created.ID, e.tokenA, []byte(`{"hosts":["grafana.example.com"],"signing_alg":"ES256"}`))
	var updated apiview.App
	r.json(t, &updated)
	if r.status != http.StatusOK || updated.SigningAlg != "ES256" || len(updated.Hosts) != 1 ||
		len(updated.RedirectURIs) != 1 || strings.Join(updated.Groups, ",") != "ops" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r = e.do("PATCH", "/api/v1/apps/"+created.ID, e.tokenA, []byte(`{"type":"public"}`)); r.status != http.StatusBadRequest {
		t.Fatalf("patch type: %d %s", r.status, r.body)
	}

	r = e.do("POST", "/api/v1/apps/"+created.ID+"/rotate-secret", e.tokenA, nil)
	var rotated apiview.AppSecret
	r.json(t, &rotated)
	if r.status != http.StatusOK || !strings.HasPrefix(rotated.ClientSecret, "ghs_") || rotated.ClientSecret == created.ClientSecret {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}

	if r = e.do("DELETE", "/api/v1/apps/"+created.ID, e.tokenA, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/apps/"+created.ID, e.tokenA, nil); r.status != http.StatusNotFound {
		t.Fatalf("GET after delete: %d", r.status)
	}
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: "app.*"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if strings.Join(actions, " ") != "app.create app.update app.secret_rotate app.delete" {
		t.Fatalf("audit: %v", actions)
	}
}

func TestAppsRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		body, field string
		status      int
	}{
		{`{"name":"A","redirect_uris":["https://*.example.com/cb"]}`, "redirect_uris", 400},
		{`{"name":"A","redirect_uris":["http://app.example.com/cb"]}`, "redirect_uris", 400},
		{`{"name":"A","redirect_uris":["https://app.example.com/cb#x"]}`, "redirect_uris", 400},
		{`{"name":"A","redirect_uris":["com.example.app:/cb"]}`, "redirect_uris", 400}, // confidential
		{`{"name":"A"}`, "redirect_uris", 400},
		{`{"name":"","hosts":["a.example.com"]}`, "name", 400},
		{`{"name":"A","hosts":["https://a.example.com/"]}`, "hosts", 400},
		{`{"name":"A","hosts":["a.example.com"],"scopes":["admin"]}`, "scopes", 400},
		{`{"name":"A","hosts":["a.example.com"],"signing_alg":"none"}`, "signing_alg", 400},
		{`{"name":"A","hosts":["a.example.com"],"access_token_ttl_seconds":5}`, "access_token_ttl", 400},
		{`{"name":"A","hosts":["a.example.com"],"access_token_ttl_seconds":-1}`, "access_token_ttl_seconds", 400},
		{`{"name":"A","hosts":["a.example.com"],"type":"other"}`, "type", 400},
		{`{"name":"A","hosts":["a.example.com"],"client_secret":"mine"}`, "", 400}, // unknown field
	} {
		r := e.do("POST", "/api/v1/apps", e.tokenA, []byte(tc.body))
		var b struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		r.json(t, &b)
		if r.status != tc.status || (tc.field != "" && b.Error.Field != tc.field) || b.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d field %q", tc.body, r.status, r.body, tc.status, tc.field)
		}
	}
	// A public app: private-use scheme accepted, no secret, nothing to rotate.
	r := e.do("POST", "/api/v1/apps", e.tokenA, []byte(`{"name":"Mobile","type":"public","redirect_uris":["com.example.app:/cb"]}`))
	var created apiview.AppCreated
	r.json(t, &created)
	if r.status != http.StatusCreated || created.ClientSecret != "" || strings.Contains(string(r.body), "client_secret") {
		t.Fatalf("public create: %d %s", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/apps/"+created.ID+"/rotate-secret", e.tokenA, nil); r.status != http.StatusConflict {
		t.Fatalf("rotate public: %d %s", r.status, r.body)
	}
	// The same host twice, even from another organization: 409 naming the field.
	e.do("POST", "/api/v1/apps", e.tokenA, []byte(`{"name":"Wiki","hosts":["wiki.example.com"]}`))
	r = e.do("POST", "/api/v1/apps", e.tokenB, []byte(`{"name":"Wiki","hosts":["wiki.example.com"]}`))
	if r.status != http.StatusConflict || r.errCode(t) != adminapi.CodeConflict || strings.Contains(string(r.body), e.orgA.Name) {
		t.Fatalf("taken host: %d %s", r.status, r.body)
	}
}

// A read token lists apps but cannot register one (TestReadTokenCannot-
// ChangeAnything covers every route); a member has no API tokens at all.
func TestAppsReadTokenRefused(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.token("dashboard", storage.TokenScopeRead)
	if r := e.do("POST", "/api/v1/apps", secret, []byte(`{"name":"A","hosts":["a.example.com"]}`)); r.status != http.StatusForbidden {
		t.Fatalf("read token create: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/apps", secret, nil); r.status != http.StatusOK {
		t.Fatalf("read token list: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/apps", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.status)
	}
}
