package adminapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// env is a running admin API over a real SQLite store with two
// organizations, each with an owner and an API token.
type env struct {
	t           *testing.T
	ctx         context.Context
	store       storage.Store
	accounts    *account.Service
	sessions    *session.Service
	domains     *domain.Service
	idps        *idp.Service
	policies    *policy.Service
	health      *health.Service
	emergencies *emergency.Service
	dns         *devdns.Server
	url         string
	outbox      string
	// readiness mails passkey reminders into outbox.
	readiness *readiness.Service
	// mfa resets second factors (mfareset_test.go), mailing into outbox.
	mfa *mfa.Service
	// factors are the second factors the services' lockout checks see
	// (lockouttest: enrolment is not these tests' subject).
	factors *lockouttest.Factors

	orgA, orgB     storage.Organization
	ownerA, ownerB storage.Account
	tokenA, tokenB string // secrets
	tokA, tokB     storage.APIToken
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, sqltest.NewSQLite(t))
}

// newEnvOn is newEnv over store.
func newEnvOn(t *testing.T, store storage.Store) *env {
	t.Helper()
	ctx := reqctx.With(context.Background(), reqctx.Info{ActorType: "system", ActorID: "test"})
	log := slog.New(slog.DiscardHandler)
	outbox := filepath.Join(t.TempDir(), "outbox")
	accounts := account.New(store, &mail.Outbox{Dir: outbox, Log: log}, account.Config{PublicURL: "https://gatehouse.test"}, log, time.Now)
	t.Cleanup(accounts.Wait)
	sessions := session.New(store, session.Config{}, log, time.Now)
	dns, err := devdns.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	domains := domain.New(store, dns.Addr(), log, time.Now)
	// The development IdP (startDevIdP) serves its metadata on loopback,
	// which the metadata fetch guard refuses unless allowed.
	idps := idp.New(store, secretBox(t), idp.Config{PublicURL: "https://gatehouse.test", MetadataAllowedNetworks: idp.LoopbackNetworks}, log, time.Now)
	policies := policy.New(store, log, time.Now)
	factors := new(lockouttest.Factors)
	factors.Wire(accounts, domains, idps, policies)
	healthSvc := health.New(store, nil, nil, health.Config{}, log, time.Now)
	emergencies := emergency.NewService(store, notify.New(store, &mail.Outbox{Dir: outbox, Log: log}, log), config.Default().Emergency, log, time.Now)
	ready := readiness.New(store, &mail.Outbox{Dir: outbox, Log: log}, "https://gatehouse.test", log, time.Now)
	t.Cleanup(ready.Wait)
	mfaSvc := mfa.NewService(store, secretBox(t), "Gatehouse", log, time.Now)
	mfaSvc.SetMailer(&mail.Outbox{Dir: outbox, Log: log})
	t.Cleanup(mfaSvc.Wait)

	mux := http.NewServeMux()
	h := &adminapi.Handler{Accounts: accounts, Sessions: sessions, Domains: domains, IdPs: idps, Policies: policies,
		Health: healthSvc, Emergencies: emergencies, Readiness: ready,
		Audit: audit.NewService(store), Limiter: ratelimit.New(store, time.Now), Log: log, Now: time.Now,
		BreakGlass: breakglass.New(store, factors.Lookup), OrgRecovery: orgrecovery.New(store, nil, log, time.Now),
		MFA: mfaSvc, Apps: apps.New(store, "https://gatehouse.test", log, time.Now),
		Members: members.New(store, accounts, policies, log)}
	h.Register(mux)
	// The real middleware chain, as `serve` mounts it: request IDs, body
	// limits and the CSRF exemption for /api/ are part of the behaviour.
	mw, err := httpserver.New(httpserver.Options{Log: log, PublicURL: "https://gatehouse.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(mux))
	t.Cleanup(srv.Close)

	e := &env{t: t, ctx: ctx, store: store, accounts: accounts, sessions: sessions,
		domains: domains, idps: idps, policies: policies, health: healthSvc, emergencies: emergencies, readiness: ready, dns: dns, url: srv.URL, outbox: outbox, mfa: mfaSvc, factors: factors}
	e.orgA, e.ownerA, e.tokenA, e.tokA = e.org("Acme", "owner@acme.test")
	e.orgB, e.ownerB, e.tokenB, e.tokB = e.org("Beta", "owner@beta.test")
	return e
}

func (e *env) org(name, ownerEmail string) (storage.Organization, storage.Account, string, storage.APIToken) {
	e.t.Helper()
	o, err := e.accounts.CreateOrganization(e.ctx, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	owner, err := e.accounts.AddMember(e.ctx, o.ID, account.MemberInput{Email: ownerEmail, Role: storage.RoleOwner, Password: "correct horse battery staple 42"})
	if err != nil {
		e.t.Fatal(err)
	}
	// An owner token: the tests below exercise every operation, owner-only
	// ones included (scope_test.go covers the narrower scopes).
	secret, tok, err := e.accounts.CreateAPITokenWithScope(e.ctx, o.ID, "test", storage.TokenScopeOwner)
	if err != nil {
		e.t.Fatal(err)
	}
	return o, owner, secret, tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
}

// errCode returns the error code of an error response.
func (r response) errCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	r.json(t, &b)
	if b.Error.Message == "" {
		t.Errorf("error response without a message: %s", r.body)
	}
	return b.Error.Code
}

// do sends a request to the env's API with token (none if ""); body is
// sent verbatim.
func (e *env) do(method, path, token string, body []byte) response {
	e.t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return send(e.t, e.url+path, method, auth, body)
}

// send makes a request with the Authorization header given (none if "");
// body, if any, is sent verbatim as JSON.
func send(t *testing.T, url, method, authorization string, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// crossOrgCase is a request with org A's token naming a record of org B
// (path), and its twin naming one that does not exist.
type crossOrgCase struct{ method, path, twin, body string }

// wantCrossOrgNotFound requires every case to answer 404 not_found, the same
// as its twin but for the names: recordNames in the answer to path,
// missingNames in the answer to twin. Org B's records must not be
// distinguishable from records that do not exist.
func (e *env) wantCrossOrgNotFound(t *testing.T, cases []crossOrgCase, recordNames, missingNames []string) {
	t.Helper()
	mask := func(b []byte, names []string) string {
		s := string(b)
		for _, n := range names {
			s = strings.ReplaceAll(s, n, "REF")
		}
		return s
	}
	for _, c := range cases {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		r := e.do(c.method, c.path, e.tokenA, body)
		if r.status != 404 || r.errCode(t) != "not_found" {
			t.Errorf("%s %s with org A's token = %d %s, want 404", c.method, c.path, r.status, r.body)
		}
		twin := e.do(c.method, c.twin, e.tokenA, body)
		if got, want := mask(r.body, recordNames), mask(twin.body, missingNames); got != want || twin.status != r.status {
			t.Errorf("%s %s: org B's record answers\n%s\nbut a missing one\n%s", c.method, c.path, got, want)
		}
	}
}

// auditCount counts every audit event, in every chain.
func (e *env) auditCount() int {
	e.t.Helper()
	n := 0
	for _, org := range []string{"", e.orgA.ID, e.orgB.ID} {
		var after int64
		for {
			evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: org, AfterSeq: after, Limit: 1000})
			if err != nil {
				e.t.Fatal(err)
			}
			n += len(evs)
			if len(evs) < 1000 {
				break
			}
			after = evs[len(evs)-1].Seq
		}
	}
	return n
}

func (e *env) memberCount(orgID string) int {
	e.t.Helper()
	ms, err := e.accounts.ListMembers(e.ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

func TestAuthenticationRequired(t *testing.T) {
	e := newEnv(t)
	revokedSecret, revoked, err := e.accounts.CreateAPIToken(e.ctx, e.orgA.ID, "revoked")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.accounts.RevokeAPIToken(e.ctx, e.orgA.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"garbage", "Bearer not-a-token"},
		{"unknown gh_ token", "Bearer gh_" + strings.Repeat("A", 43)},
		{"wrong scheme", "Basic " + e.tokenA},
		{"empty bearer", "Bearer "},
		{"revoked token", "Bearer " + revokedSecret},
	}
	for _, path := range []string{"/api/v1/organization", "/api/v1/members", "/api/v1/audit", "/api/v1/nonexistent"} {
		for _, c := range cases {
			r := send(t, e.url+path, "GET", c.header, nil)
			if r.status != http.StatusUnauthorized || r.errCode(t) != "unauthorized" {
				t.Errorf("%s %s: status %d %s, want 401 unauthorized", c.name, path, r.status, r.body)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate = %q", c.name, path, r.header.Get("WWW-Authenticate"))
			}
		}
	}
	// A mutation without a valid token writes nothing.
	before := e.auditCount()
	r := e.do("POST", "/api/v1/members", revokedSecret, []byte(`{"email":"x@acme.test"}`))
	if r.status != http.StatusUnauthorized || e.auditCount() != before || e.memberCount(e.orgA.ID) != 1 {
		t.Errorf("revoked token POST: %d, audit %d→%d", r.status, before, e.auditCount())
	}
}

func TestOrganization(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/organization", e.tokenA, nil)
	var o apiview.Organization
	r.json(t, &o)
	if r.status != 200 || o.ID != e.orgA.ID || o.Slug != e.orgA.Slug || o.Name != "Acme" {
		t.Errorf("GET /organization = %d %+v", r.status, o)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestMembersHappyPath(t *testing.T) {
	e := newEnv(t)
	before := e.auditCount()

	r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":" Zoe@Acme.test ","display_name":"Zoë","role":"admin","invite":true}`))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /members = %d %s", r.status, r.body)
	}
	var m apiview.Member
	r.json(t, &m)
	if m.Email != "zoe@acme.test" || m.DisplayName != "Zoë" || m.Role != "admin" || m.Status != "active" || m.HasPassword || m.ID == "" {
		t.Errorf("created member = %+v", m)
	}
	if r.header.Get("Location") != "/api/v1/members/"+m.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	if bytes.Contains(r.body, []byte("password_hash")) || bytes.Contains(r.body, []byte("argon2")) {
		t.Errorf("member JSON leaks the password hash: %s", r.body)
	}
	if e.auditCount() <= before {
		t.Errorf("adding a member wrote no audit event")
	}
	// The invitation went out through the mailer.
	e.accounts.Wait()
	msgs, err := mail.ReadOutbox(e.outbox)
	if err != nil || len(msgs) != 1 || msgs[0].To != "zoe@acme.test" || !strings.Contains(msgs[0].Text, "https://gatehouse.test/") {
		t.Errorf("outbox = %+v (%v), want one invitation to zoe", msgs, err)
	}

	// The new member shows up, by ID and by email; nothing leaks hashes.
	r = e.do("GET", "/api/v1/members", e.tokenA, nil)
	var list struct{ Members []apiview.Member }
	r.json(t, &list)
	if r.status != 200 || len(list.Members) != 2 {
		t.Fatalf("GET /members = %d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte("argon2")) || bytes.Contains(r.body, []byte("hash")) {
		t.Errorf("member list leaks a hash: %s", r.body)
	}
	var owner apiview.Member
	for _, x := range list.Members {
		if x.Email == "owner@acme.test" {
			owner = x
		}
	}
	if !owner.HasPassword {
		t.Errorf("owner has_password = false")
	}
	for _, ref := range []string{m.ID, "zoe@acme.test"} {
		r = e.do("GET", "/api/v1/members/"+ref, e.tokenA, nil)
		var got apiview.Member
		r.json(t, &got)
		if r.status != 200 || got.ID != m.ID {
			t.Errorf("GET /members/%s = %d %s", ref, r.status, r.body)
		}
	}

	// Demote, suspend and reactivate.
	r = e.do("PATCH", "/api/v1/members/"+m.ID, e.tokenA, []byte(`{"role":"member"}`))
	r.json(t, &m)
	if r.status != 200 || m.Role != "member" {
		t.Errorf("PATCH role = %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/api/v1/members/"+m.ID, e.tokenA, []byte(`{"status":"suspended","role":"admin"}`))
	r.json(t, &m)
	if r.status != 200 || m.Status != "suspended" || m.Role != "admin" {
		t.Errorf("PATCH status+role = %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/api/v1/members/"+m.ID, e.tokenA, []byte(`{"status":"active"}`))
	r.json(t, &m)
	if r.status != 200 || m.Status != "active" {
		t.Errorf("PATCH reactivate = %d %s", r.status, r.body)
	}

	// Role change audited with the token as actor.
	r = e.do("GET", "/api/v1/audit?action=account.role_change", e.tokenA, nil)
	var page apiview.AuditPage
	r.json(t, &page)
	if len(page.Events) != 2 {
		t.Fatalf("role_change events = %d, want 2: %s", len(page.Events), r.body)
	}
	ev := page.Events[0]
	if ev.ActorType != "api_token" || ev.ActorID != e.tokA.ID || ev.ActorEmail != "test" || ev.RequestID == "" {
		t.Errorf("audit actor = %s/%s/%s request %q; want the API token", ev.ActorType, ev.ActorID, ev.ActorEmail, ev.RequestID)
	}
}

func TestSessionsEndpoints(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 2; i++ {
		if _, _, err := e.sessions.Start(e.ctx, session.StartParams{Account: e.ownerA, Method: "password", IP: "192.0.2.1", UserAgent: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	r := e.do("GET", "/api/v1/members/"+e.ownerA.ID+"/sessions", e.tokenA, nil)
	var list struct{ Sessions []apiview.Session }
	r.json(t, &list)
	if r.status != 200 || len(list.Sessions) != 2 || list.Sessions[0].IP != "192.0.2.1" || list.Sessions[0].Method != "password" {
		t.Fatalf("GET sessions = %d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte("hash")) || bytes.Contains(r.body, []byte("token")) {
		t.Errorf("session JSON leaks a token or hash: %s", r.body)
	}

	r = e.do("POST", "/api/v1/members/"+e.ownerA.ID+"/revoke-sessions", e.tokenA, nil)
	var rev struct{ Revoked int }
	r.json(t, &rev)
	if r.status != 200 || rev.Revoked != 2 {
		t.Errorf("revoke-sessions = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/members/"+e.ownerA.ID+"/sessions", e.tokenA, nil)
	r.json(t, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("sessions after revoke = %s", r.body)
	}
	// An empty JSON object is accepted as well as no body; anything else is not.
	if r := e.do("POST", "/api/v1/members/"+e.ownerA.ID+"/revoke-sessions", e.tokenA, []byte(`{}`)); r.status != 200 {
		t.Errorf("revoke-sessions with {} = %d %s", r.status, r.body)
	}
	before := e.auditCount()
	if r := e.do("POST", "/api/v1/members/"+e.ownerA.ID+"/revoke-sessions", e.tokenA, []byte(`{"all":true}`)); r.status != 400 || r.errCode(t) != "invalid_request" {
		t.Errorf("revoke-sessions with unknown field = %d %s", r.status, r.body)
	}
	if e.auditCount() != before {
		t.Errorf("a rejected revoke-sessions wrote an audit event")
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/tokens", e.tokenA, []byte(`{"name":"ci deploys"}`))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /tokens = %d %s", r.status, r.body)
	}
	var created apiview.CreatedToken
	r.json(t, &created)
	if !strings.HasPrefix(created.Secret, "gh_") || created.Token.Name != "ci deploys" || created.Token.Revoked || created.Token.CreatedBy != "api_token:"+e.tokA.ID {
		t.Errorf("created token = %+v", created)
	}

	// The new secret works; listing never shows secrets or hashes.
	if r := e.do("GET", "/api/v1/organization", created.Secret, nil); r.status != 200 {
		t.Errorf("new token rejected: %d", r.status)
	}
	r = e.do("GET", "/api/v1/tokens", e.tokenA, nil)
	var list struct{ Tokens []apiview.Token }
	r.json(t, &list)
	if r.status != 200 || len(list.Tokens) != 2 {
		t.Fatalf("GET /tokens = %d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte(created.Secret)) || bytes.Contains(r.body, []byte("hash")) || bytes.Contains(r.body, []byte("gh_")) {
		t.Errorf("token list leaks a secret or hash: %s", r.body)
	}

	// A duplicate name is a conflict and writes nothing.
	before := e.auditCount()
	if r := e.do("POST", "/api/v1/tokens", e.tokenA, []byte(`{"name":"ci deploys"}`)); r.status != 409 || r.errCode(t) != "conflict" {
		t.Errorf("duplicate token name = %d %s", r.status, r.body)
	}
	if e.auditCount() != before {
		t.Errorf("a rejected token creation wrote an audit event")
	}

	// Revoke it: 204, then it no longer authenticates.
	if r := e.do("DELETE", "/api/v1/tokens/"+created.Token.ID, e.tokenA, nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE token = %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/organization", created.Secret, nil); r.status != 401 {
		t.Errorf("revoked token still accepted: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/tokens/does-not-exist", e.tokenA, nil); r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("DELETE unknown token = %d %s", r.status, r.body)
	}
}

// Everything a token of org A can name by ID in org B answers "not found"
// and changes nothing.
func TestOrganizationIsolation(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.sessions.Start(e.ctx, session.StartParams{Account: e.ownerB, Method: "password"}); err != nil {
		t.Fatal(err)
	}
	before := e.auditCount()
	// Each request names one of org B's records; its twin names nothing.
	// The two answers must be the same but for the name itself.
	const ghostID, ghostEmail = "0b5e7a43-0000-4000-8000-000000000000", "ghost@beta.test"
	e.wantCrossOrgNotFound(t, []crossOrgCase{
		{"GET", "/api/v1/members/" + e.ownerB.ID, "/api/v1/members/" + ghostID, ""},
		{"GET", "/api/v1/members/owner@beta.test", "/api/v1/members/" + ghostEmail, ""},
		{"PATCH", "/api/v1/members/" + e.ownerB.ID, "/api/v1/members/" + ghostID, `{"role":"member"}`},
		{"PATCH", "/api/v1/members/" + e.ownerB.ID, "/api/v1/members/" + ghostID, `{"status":"suspended"}`},
		{"POST", "/api/v1/members/" + e.ownerB.ID + "/revoke-sessions", "/api/v1/members/" + ghostID + "/revoke-sessions", ""},
		{"GET", "/api/v1/members/" + e.ownerB.ID + "/sessions", "/api/v1/members/" + ghostID + "/sessions", ""},
		{"DELETE", "/api/v1/tokens/" + e.tokB.ID, "/api/v1/tokens/" + ghostID, ""},
	}, []string{e.ownerB.ID, "owner@beta.test", e.tokB.ID}, []string{ghostID, ghostEmail})
	if e.auditCount() != before {
		t.Errorf("cross-organization requests wrote audit events")
	}
	b, err := e.accounts.GetMember(e.ctx, e.orgB.ID, e.ownerB.ID)
	if err != nil || b.Role != storage.RoleOwner || b.Status != storage.StatusActive {
		t.Errorf("org B's owner changed: %+v %v", b, err)
	}
	if live, _ := e.sessions.List(e.ctx, e.ownerB.ID); len(live) != 1 {
		t.Errorf("org B's owner has %d sessions, want 1", len(live))
	}
	if r := e.do("GET", "/api/v1/organization", e.tokenB, nil); r.status != 200 {
		t.Errorf("org B's token stopped working: %d", r.status)
	}
	// Org A's lists never include org B's records.
	for _, path := range []string{"/api/v1/members", "/api/v1/tokens", "/api/v1/audit", "/api/v1/audit/export"} {
		r := e.do("GET", path, e.tokenA, nil)
		if r.status != 200 || bytes.Contains(r.body, []byte(e.orgB.ID)) || bytes.Contains(r.body, []byte("beta.test")) {
			t.Errorf("GET %s with org A's token shows org B: %d %s", path, r.status, r.body)
		}
	}
}

func TestLastOwnerProtected(t *testing.T) {
	e := newEnv(t)
	before := e.auditCount()
	for _, body := range []string{`{"role":"admin"}`, `{"role":"member"}`, `{"status":"suspended"}`} {
		r := e.do("PATCH", "/api/v1/members/"+e.ownerA.ID, e.tokenA, []byte(body))
		if r.status != 409 || r.errCode(t) != "last_owner" {
			t.Errorf("PATCH %s on the last owner = %d %s, want 409 last_owner", body, r.status, r.body)
		}
	}
	if e.auditCount() != before {
		t.Errorf("refused last-owner changes wrote audit events")
	}
	// With a second owner the first may step down — but while that owner
	// has not set a password yet, no owner could sign in without the IdP
	// afterwards: refused with the explanation, unless forced with a reason.
	if r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"second@acme.test","role":"owner"}`)); r.status != 201 {
		t.Fatalf("add second owner = %d %s", r.status, r.body)
	}
	r := e.do("PATCH", "/api/v1/members/"+e.ownerA.ID, e.tokenA, []byte(`{"role":"admin"}`))
	if r.status != 409 || r.errCode(t) != "lockout" || !bytes.Contains(r.body, []byte(e.ownerA.Email+" (owner")) {
		t.Errorf("demote while the other owner has no password = %d %s, want 409 lockout naming %s", r.status, r.body, e.ownerA.Email)
	}
	if r := e.do("PATCH", "/api/v1/members/"+e.ownerA.ID, e.tokenA, []byte(`{"role":"admin","force_reason":"second owner sets a password today"}`)); r.status != 200 {
		t.Errorf("demote with force_reason = %d %s", r.status, r.body)
	}
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: "account.role_change"})
	if err != nil || len(evs) == 0 {
		t.Fatalf("role change events: %v %v", evs, err)
	}
	if d := evs[len(evs)-1].Details; d["forced"] != "true" || d["force_reason"] != "second owner sets a password today" {
		t.Errorf("the forced demotion's audit event: %v", d)
	}
}

// Bad input gets a 4xx with a stable code and changes nothing.
func TestBadInputWritesNothing(t *testing.T) {
	e := newEnv(t)
	zoe, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{Email: "zoe@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"email":"big@acme.test","display_name":"` + strings.Repeat("x", 70<<10) + `"}`)
	cases := []struct {
		name         string
		method, path string
		body         []byte
		status       int
		code         string
	}{
		{"unknown field", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test","admin":true}`), 400, "invalid_request"},
		{"password is not accepted", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test","password":"hunter2hunter2"}`), 400, "invalid_request"},
		{"wrong type", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test","invite":"yes"}`), 400, "invalid_request"},
		{"email wrong type", "POST", "/api/v1/members", []byte(`{"email":42}`), 400, "invalid_request"},
		{"invalid email", "POST", "/api/v1/members", []byte(`{"email":"not-an-email"}`), 400, "invalid_request"},
		{"two emails", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test, b@acme.test"}`), 400, "invalid_request"},
		{"missing email", "POST", "/api/v1/members", []byte(`{}`), 400, "invalid_request"},
		{"bad role", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test","role":"superuser"}`), 400, "invalid_request"},
		{"control character in name", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test","display_name":"a\u0000b"}`), 400, "invalid_request"},
		{"oversized body", "POST", "/api/v1/members", big, 413, "payload_too_large"},
		{"invalid UTF-8", "POST", "/api/v1/members", []byte("{\"email\":\"a@acme.test\",\"display_name\":\"\xff\xfe\"}"), 400, "invalid_request"},
		{"not JSON", "POST", "/api/v1/members", []byte(`email=a@acme.test`), 400, "invalid_request"},
		{"trailing data", "POST", "/api/v1/members", []byte(`{"email":"a@acme.test"}{"email":"b@acme.test"}`), 400, "invalid_request"},
		{"empty body", "POST", "/api/v1/members", []byte{}, 400, "invalid_request"},
		{"duplicate email", "POST", "/api/v1/members", []byte(`{"email":"zoe@acme.test"}`), 409, "conflict"},
		{"other org's email", "POST", "/api/v1/members", []byte(`{"email":"owner@beta.test"}`), 409, "conflict"},
		{"patch nothing", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`{}`), 400, "invalid_request"},
		{"patch bad role", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`{"role":"root"}`), 400, "invalid_request"},
		{"patch bad status", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`{"role":"admin","status":"deleted"}`), 400, "invalid_request"},
		{"patch unknown field", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`{"email":"new@acme.test"}`), 400, "invalid_request"},
		{"patch wrong type", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`{"role":1}`), 400, "invalid_request"},
		{"patch null body", "PATCH", "/api/v1/members/" + zoe.ID, []byte(`null`), 400, "invalid_request"},
		{"patch unknown member", "PATCH", "/api/v1/members/nope", []byte(`{"role":"admin"}`), 404, "not_found"},
		{"token empty name", "POST", "/api/v1/tokens", []byte(`{"name":"  "}`), 400, "invalid_request"},
		{"token unknown field", "POST", "/api/v1/tokens", []byte(`{"name":"x","org_id":"` + e.orgB.ID + `"}`), 400, "invalid_request"},
		{"token wrong type", "POST", "/api/v1/tokens", []byte(`{"name":["x"]}`), 400, "invalid_request"},
		{"token oversized", "POST", "/api/v1/tokens", []byte(`{"name":"` + strings.Repeat("y", 70<<10) + `"}`), 413, "payload_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, members := e.auditCount(), e.memberCount(e.orgA.ID)
			r := e.do(c.method, c.path, e.tokenA, c.body)
			if r.status != c.status || r.errCode(t) != c.code {
				t.Errorf("%s %s = %d %s, want %d %s", c.method, c.path, r.status, r.body, c.status, c.code)
			}
			if bytes.Contains(r.body, []byte("goroutine")) || bytes.Contains(r.body, []byte(".go:")) {
				t.Errorf("error response shows internals: %s", r.body)
			}
			if e.auditCount() != before || e.memberCount(e.orgA.ID) != members {
				t.Errorf("bad input changed something: audit %d→%d, members %d→%d", before, e.auditCount(), members, e.memberCount(e.orgA.ID))
			}
		})
	}
	got, err := e.accounts.GetMember(e.ctx, e.orgA.ID, zoe.ID)
	if err != nil || got.Role != storage.RoleMember || got.Status != storage.StatusActive {
		t.Errorf("zoe changed: %+v %v", got, err)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	r := e.do("DELETE", "/api/v1/members", e.tokenA, nil)
	if r.status != 405 || r.errCode(t) != "method_not_allowed" || !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("DELETE /members = %d %s Allow=%q", r.status, r.body, r.header.Get("Allow"))
	}
	r = e.do("PUT", "/api/v1/members/"+e.ownerA.ID, e.tokenA, []byte(`{}`))
	if r.status != 405 || r.errCode(t) != "method_not_allowed" {
		t.Errorf("PUT /members/{id} = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/widgets", e.tokenA, nil)
	if r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("GET /widgets = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/members/nobody", e.tokenA, nil)
	if r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("GET unknown member = %d %s", r.status, r.body)
	}
}

func TestAuditEndpoints(t *testing.T) {
	e := newEnv(t)
	for _, email := range []string{"a@acme.test", "b@acme.test", "c@acme.test"} {
		if r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"`+email+`"}`)); r.status != 201 {
			t.Fatalf("add %s = %d %s", email, r.status, r.body)
		}
	}

	get := func(query string) (apiview.AuditPage, response) {
		t.Helper()
		r := e.do("GET", "/api/v1/audit"+query, e.tokenA, nil)
		var p apiview.AuditPage
		if r.status == 200 {
			r.json(t, &p)
		}
		return p, r
	}

	// Filter by action and by actor (the token).
	p, r := get("?action=account.create&actor=" + e.tokA.ID)
	if r.status != 200 || len(p.Events) != 3 {
		t.Fatalf("filtered audit = %d %s", r.status, r.body)
	}
	for _, ev := range p.Events {
		if ev.Action != "account.create" || ev.ActorID != e.tokA.ID || ev.OrgID != e.orgA.ID {
			t.Errorf("filter let through %+v", ev)
		}
	}
	if p.NextAfter != nil {
		t.Errorf("next_after = %d on the only page", *p.NextAfter)
	}
	// A prefix filter, and one that matches nothing.
	if p, _ := get("?action=account.*"); len(p.Events) != 4 { // the owner + 3
		t.Errorf("account.* matched %d events, want 4", len(p.Events))
	}
	if p, _ := get("?action=login.success"); len(p.Events) != 0 {
		t.Errorf("login.success matched %d events", len(p.Events))
	}

	// Paging with limit and the cursor walks every event exactly once.
	all, _ := get("")
	var walked []int64
	after := int64(0)
	for i := 0; i < 20; i++ {
		p, r := get("?limit=2&after=" + itoa(after))
		if r.status != 200 {
			t.Fatalf("page = %d %s", r.status, r.body)
		}
		for _, ev := range p.Events {
			walked = append(walked, ev.Seq)
		}
		if p.NextAfter == nil {
			break
		}
		after = *p.NextAfter
	}
	if len(walked) != len(all.Events) || len(walked) < 5 {
		t.Errorf("paging walked %v, want %d events", walked, len(all.Events))
	}
	for i := 1; i < len(walked); i++ {
		if walked[i] != walked[i-1]+1 {
			t.Errorf("paging skipped or repeated: %v", walked)
		}
	}

	// Time window.
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if p, r := get("?since=" + future); r.status != 200 || len(p.Events) != 0 {
		t.Errorf("since the future = %d, %d events", r.status, len(p.Events))
	}
	if p, _ := get("?until=" + future); len(p.Events) != len(all.Events) {
		t.Errorf("until the future = %d events, want %d", len(p.Events), len(all.Events))
	}

	// Bad parameters.
	for _, q := range []string{"?since=yesterday", "?until=2030-13-01T00:00:00Z", "?limit=0", "?limit=1001", "?limit=x",
		"?after=-1", "?acton=login.success", "?action=a&action=b", "?action=%ff", "?since=" + future + "&until=2000-01-01T00:00:00Z"} {
		if _, r := get(q); r.status != 400 || r.errCode(t) != "invalid_request" {
			t.Errorf("GET /audit%s = %d %s, want 400", q, r.status, r.body)
		}
	}

	// Export: NDJSON with the same events, one object per line.
	r = e.do("GET", "/api/v1/audit/export?action=account.create", e.tokenA, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export = %d %q", r.status, r.header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	lines := 0
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %d: %v", lines+1, err)
		}
		if ev["action"] != "account.create" || ev["org_id"] != e.orgA.ID || ev["hash"] == "" {
			t.Errorf("export line %v", ev)
		}
		lines++
	}
	if lines != 4 {
		t.Errorf("export has %d lines, want 4", lines)
	}
	if r := e.do("GET", "/api/v1/audit/export?limit=5", e.tokenA, nil); r.status != 400 {
		t.Errorf("export with limit = %d", r.status)
	}

	// Verify.
	r = e.do("GET", "/api/v1/audit/verify", e.tokenA, nil)
	var v apiview.VerifyResult
	r.json(t, &v)
	if r.status != 200 || !v.OK || v.Events != int64(len(all.Events)) {
		t.Errorf("verify = %d %s", r.status, r.body)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The API runs on PostgreSQL the same way; one smoke path proves the
// handler does nothing dialect-specific.
func TestPostgresSmoke(t *testing.T) {
	store := sqltest.NewPostgres(t)
	log := slog.New(slog.DiscardHandler)
	accounts := account.New(store, &mail.Outbox{Dir: t.TempDir(), Log: log}, account.Config{PublicURL: "https://gatehouse.test"}, log, time.Now)
	t.Cleanup(accounts.Wait)
	ctx := authz.AsCLI(context.Background(), "test")
	o, err := accounts.CreateOrganization(ctx, "Pg", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := accounts.CreateAPITokenWithScope(ctx, o.ID, "pg", storage.TokenScopeOwner) // adds an owner below
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&adminapi.Handler{Accounts: accounts, Sessions: session.New(store, session.Config{}, log, time.Now), Audit: audit.NewService(store), Log: log}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if r := send(t, srv.URL+"/api/v1/members", "POST", "Bearer "+secret, []byte(`{"email":"pg@pg.test","role":"owner"}`)); r.status != 201 {
		t.Fatalf("POST /members on PostgreSQL = %d %s", r.status, r.body)
	}
	var v apiview.VerifyResult
	send(t, srv.URL+"/api/v1/audit/verify", "GET", "Bearer "+secret, nil).json(t, &v)
	if !v.OK || v.Events < 3 {
		t.Errorf("verify on PostgreSQL = %+v", v)
	}
}

// A path value that is not text (invalid UTF-8, NUL, other control
// characters) names nothing: 404, on both backends. PostgreSQL refuses such
// bytes in a query, which used to surface as a 500.
func TestPathValueNotText(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, store storage.Store) {
		e := newEnvOn(t, store)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/idps/%ff"},
			{"GET", "/api/v1/idps/a%00b"},
			{"GET", "/api/v1/domains/%ff"},
			{"DELETE", "/api/v1/domains/%ff"},
			{"GET", "/api/v1/policies/%ff"},
			{"PATCH", "/api/v1/policies/%00"},
			{"GET", "/api/v1/members/%ff"},
			{"GET", "/api/v1/members/a%0Ab/sessions"},
			{"DELETE", "/api/v1/tokens/%ff"},
			{"DELETE", "/api/v1/idps/x/certificates/%ff"},
			{"PUT", "/api/v1/policies/default/members/a%ff@acme.test"},
		} {
			var body []byte
			if c.method == "PATCH" {
				body = []byte(`{"sso":"off"}`)
			}
			r := e.do(c.method, c.path, e.tokenA, body)
			if r.status != 404 || r.errCode(t) != "not_found" {
				t.Errorf("%s %s = %d %s, want 404 not_found", c.method, c.path, r.status, r.body)
			}
		}
		// Still 401 without a token: authentication comes first.
		if r := e.do("GET", "/api/v1/idps/%ff", "", nil); r.status != 401 {
			t.Errorf("GET /api/v1/idps/%%ff without a token = %d, want 401", r.status)
		}
	})
}

// TestMembersRefuseLookalikeAddress: through the API, an address that looks
// like an existing member's (a whole-word Cyrillic lookalike, a zero for an
// o) is refused as invalid input on the email field, without quoting the
// other address and without creating anything; a mixed-script one is
// refused by the address rules themselves.
func TestMembersRefuseLookalikeAddress(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"scope@acme.test"}`)); r.status != http.StatusCreated {
		t.Fatalf("POST scope@ = %d %s", r.status, r.body)
	}
	before := e.auditCount()
	for _, email := range []string{"\u0455\u0441\u043e\u0440\u0435@acme.test", "sc0pe@acme.test", "sc\u043epe@acme.test"} {
		body, _ := json.Marshal(map[string]string{"email": email})
		r := e.do("POST", "/api/v1/members", e.tokenA, body)
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		r.json(t, &eb)
		if r.status != http.StatusBadRequest || eb.Error.Code != adminapi.CodeInvalidRequest || eb.Error.Field != "email" {
			t.Errorf("POST %+q = %d %s, want 400 invalid_request on email", email, r.status, r.body)
		}
		if strings.Contains(eb.Error.Message, "scope@") {
			t.Errorf("POST %+q: message %q quotes the other address", email, eb.Error.Message)
		}
	}
	if e.auditCount() != before {
		t.Errorf("refused additions wrote %d audit events", e.auditCount()-before)
	}
}
