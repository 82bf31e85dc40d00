package adminapi_test

import (
	"encoding/json"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// token creates a token of scope in org A (as the system, like the CLI).
func (e *env) token(name, scope string) (string, storage.APIToken) {
	e.t.Helper()
	secret, tok, err := e.accounts.CreateAPITokenWithScope(e.ctx, e.orgA.ID, name, scope)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, tok
}

// deniedEvents returns org A's access.denied events by token id.
func (e *env) deniedEvents(tokenID string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: httpserver.ActionAccessDenied, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storage.AuditEvent
	for _, ev := range evs {
		if ev.ActorType == "api_token" && ev.ActorID == tokenID {
			out = append(out, ev)
		}
	}
	return out
}

// A read token can only read: every route that changes something answers
// 403 forbidden, changes nothing, and leaves an access.denied event; the
// routes that read answer as for any token.
func TestReadTokenCannotChangeAnything(t *testing.T) {
	e := newEnv(t)
	secret, tok := e.token("dashboard", storage.TokenScopeRead)
	member := e.addMember(t, "member@acme.test", storage.RoleMember)

	for _, pattern := range adminapi.RoutePatterns() {
		method, path, _ := strings.Cut(pattern, " ")
		if method == http.MethodGet {
			continue
		}
		// Real IDs where a route names one, so a refusal cannot be a 404 in disguise.
		path = strings.NewReplacer("{id}", member.ID, "{ref}", "default", "{email}", member.Email,
			"{fingerprint}", "00").Replace(path)
		t.Run(pattern, func(t *testing.T) {
			before := e.auditCount()
			r := e.do(method, path, secret, []byte(`{"name":"x","role":"owner","email":"x@acme.test","status":"suspended"}`))
			if r.status != http.StatusForbidden || r.errCode(t) != adminapi.CodeForbidden {
				t.Fatalf("%s %s with a read token = %d %s, want 403 forbidden", method, path, r.status, r.body)
			}
			// The one new event is the refusal itself.
			if got := e.auditCount(); got != before+1 {
				t.Errorf("audit events %d → %d, want only the access.denied event", before, got)
			}
		})
	}
	denied := e.deniedEvents(tok.ID)
	if len(denied) == 0 {
		t.Fatal("no access.denied event for the read token")
	}
	for _, ev := range denied {
		if ev.Outcome != httpserver.OutcomeDenied || ev.Details["attempted"] == "" {
			t.Errorf("access.denied event %+v", ev)
		}
	}
	if got := e.memberCount(e.orgA.ID); got != 2 {
		t.Errorf("members after the refusals = %d, want 2", got)
	}

	for _, path := range []string{"/api/v1/organization", "/api/v1/members", "/api/v1/tokens", "/api/v1/audit", "/api/v1/members/" + member.ID} {
		if r := e.do("GET", path, secret, nil); r.status != http.StatusOK {
			t.Errorf("GET %s with a read token = %d %s", path, r.status, r.body)
		}
	}
}

// An admin token does what an admin may and nothing an owner alone may.
func TestAdminTokenCannotDoOwnerOnly(t *testing.T) {
	e := newEnv(t)
	secret, tok := e.token("provisioning", storage.TokenScopeAdmin)
	_, ownerTok := e.token("owner-bot", storage.TokenScopeOwner)
	member := e.addMember(t, "member@acme.test", storage.RoleMember)
	owner2 := e.addMember(t, "second-owner@acme.test", storage.RoleOwner)

	for _, c := range []struct {
		name, method, path, body string
	}{
		{"promote to owner", "PATCH", "/api/v1/members/" + member.ID, `{"role":"owner"}`},
		{"demote an owner", "PATCH", "/api/v1/members/" + owner2.ID, `{"role":"admin"}`},
		{"suspend an owner", "PATCH", "/api/v1/members/" + owner2.ID, `{"status":"suspended"}`},
		{"sign out an owner", "POST", "/api/v1/members/" + owner2.ID + "/revoke-sessions", ""},
		{"add an owner", "POST", "/api/v1/members", `{"email":"new-owner@acme.test","role":"owner"}`},
		{"create an owner token", "POST", "/api/v1/tokens", `{"name":"escalate","scope":"owner"}`},
		{"revoke an owner token", "DELETE", "/api/v1/tokens/" + ownerTok.ID, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			before := e.auditCount()
			r := e.do(c.method, c.path, secret, body)
			if r.status != http.StatusForbidden || r.errCode(t) != adminapi.CodeForbidden {
				t.Fatalf("%s with an admin token = %d %s, want 403 forbidden", c.name, r.status, r.body)
			}
			if got := e.auditCount(); got > before+1 {
				t.Errorf("audit events %d → %d: the refused change was recorded", before, got)
			}
		})
	}
	if len(e.deniedEvents(tok.ID)) == 0 {
		t.Error("no access.denied event for the admin token")
	}
	for id, want := range map[string]storage.Role{member.ID: storage.RoleMember, owner2.ID: storage.RoleOwner} {
		a, err := e.accounts.GetMember(e.ctx, e.orgA.ID, id)
		if err != nil || a.Role != want || a.Status != storage.StatusActive {
			t.Errorf("account %s after the refusals: %+v, %v", id, a, err)
		}
	}

	// What an admin may do, it does.
	if r := e.do("PATCH", "/api/v1/members/"+member.ID, secret, []byte(`{"role":"admin"}`)); r.status != http.StatusOK {
		t.Errorf("admin token promotes a member to admin = %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/v1/tokens", secret, []byte(`{"name":"reader","scope":"read"}`))
	if r.status != http.StatusCreated {
		t.Fatalf("admin token creates a read token = %d %s", r.status, r.body)
	}
	var created apiview.CreatedToken
	r.json(t, &created)
	if created.Token.Scope != storage.TokenScopeRead {
		t.Errorf("created token scope = %q, want read", created.Token.Scope)
	}
}

// Only an owner token makes owner tokens; a scope the API does not know is
// refused; no scope means admin.
func TestTokenScopeOnCreate(t *testing.T) {
	e := newEnv(t) // e.tokenA is an owner token
	for _, c := range []struct {
		body   string
		status int
		scope  string
	}{
		{`{"name":"a","scope":"owner"}`, http.StatusCreated, "owner"},
		{`{"name":"b"}`, http.StatusCreated, "admin"},
		{`{"name":"c","scope":"read"}`, http.StatusCreated, "read"},
		{`{"name":"d","scope":"root"}`, http.StatusBadRequest, ""},
		{`{"name":"e","scope":"Owner"}`, http.StatusBadRequest, ""},
	} {
		r := e.do("POST", "/api/v1/tokens", e.tokenA, []byte(c.body))
		if r.status != c.status {
			t.Errorf("POST /tokens %s = %d %s, want %d", c.body, r.status, r.body, c.status)
			continue
		}
		if c.status != http.StatusCreated {
			continue
		}
		var created apiview.CreatedToken
		r.json(t, &created)
		if created.Token.Scope != c.scope {
			t.Errorf("POST /tokens %s: scope %q, want %q", c.body, created.Token.Scope, c.scope)
		}
		var listed struct{ Tokens []apiview.Token }
		if err := json.Unmarshal(e.do("GET", "/api/v1/tokens", e.tokenA, nil).body, &listed); err != nil {
			t.Fatal(err)
		}
		for _, tk := range listed.Tokens {
			if tk.ID == created.Token.ID && tk.Scope != c.scope {
				t.Errorf("listed scope %q, want %q", tk.Scope, c.scope)
			}
		}
	}
}

func (e *env) addMember(t *testing.T, email string, role storage.Role) storage.Account {
	t.Helper()
	a, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: email, Role: role, Password: "correct horse battery staple 42"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
