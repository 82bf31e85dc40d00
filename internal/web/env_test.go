package web_test

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signin"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
	"github.com/gatehouse-id/gatehouse/internal/web"
	"github.com/gatehouse-id/gatehouse/internal/web/console"
)

// Passwords that pass the account service's rules.
const (
	ownerEmail    = "owner@acme.example"
	ownerPassword = "violet-harbor-lantern-42"
	newPassword   = "quiet-meadow-copper-77"
	orgName       = "Acme Corp"
)

type clock = testenv.Clock

// env is a complete web stack: real account and session services on a
// fresh SQLite store, the real middleware, and an httptest server.
type env struct {
	t     *testing.T
	store storage.Store
	// factors are the second factors the services' lockout checks see.
	factors  *lockouttest.Factors
	accounts *account.Service
	sessions *session.Service
	domains  *domain.Service
	idps     *idp.Service
	policies *policy.Service
	sso      *sso.Service
	metrics  *metrics.Metrics
	health   *health.Service
	// readiness sends passkey reminders through the same outbox.
	readiness *readiness.Service
	// apps registers the applications of the console's apps pages.
	apps    *apps.Service
	handler *web.Handler
	srv     *httptest.Server
	outbox  string
	clock   *clock

	// publicURL is Gatehouse's public URL: srv.URL, or with localhost
	// for 127.0.0.1 when envOptions.localhost asks for it.
	publicURL string
	passkeys  *mfa.Passkeys // nil when the public URL is an IP address
	mfa       *mfa.Service
	// emergencies serves the console's emergency page.
	emergencies *emergency.Service
	orgRec      *orgrecovery.Service
}

type envOptions struct {
	mailer func(publicURL string) mail.Sender // default: an outbox in t.TempDir()
	store  storage.Store                      // default: a fresh SQLite store
	// dnsResolver is the DNS server (host:port) domain verification asks;
	// default the system's.
	dnsResolver string
	// localhost serves Gatehouse as http://localhost:PORT, a domain name,
	// so passkeys work (WebAuthn refuses IP addresses).
	localhost bool
	// routes mounts a test's own routes beside the pages, behind the
	// same middleware (CSRF, headers).
	routes func(e *env, mux *http.ServeMux)
	// passkeys wires passkey sign-in into the engine (default: the real mfa.Passkeys when the public URL is a name).
	passkeys      signin.Passkeys
	finishPasskey func(ctx context.Context, challengeID string, response []byte) (string, error)
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	st := o.store
	if st == nil {
		st = sqltest.NewSQLite(t)
	}
	e := &env{t: t, store: st, clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second))}

	// The server must exist before the services, which put its URL in links.
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.publicURL = e.srv.URL
	if o.localhost {
		e.publicURL = strings.Replace(e.srv.URL, "://127.0.0.1:", "://localhost:", 1)
	}

	var mailer mail.Sender
	if o.mailer != nil {
		mailer = o.mailer(e.srv.URL)
	} else {
		e.outbox = filepath.Join(t.TempDir(), "outbox")
		mailer = &mail.Outbox{Dir: e.outbox}
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.accounts = account.New(e.store, mailer, account.Config{PublicURL: e.publicURL}, log, e.clock.Now)
	t.Cleanup(e.accounts.Wait)
	e.sessions = session.New(e.store, session.Config{}, log, e.clock.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.sessions.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e.mfa = mfa.NewService(e.store, box, "Gatehouse", log, e.clock.Now)
	e.mfa.SetMailer(mailer) // an admin's reset of someone's factors is mailed
	t.Cleanup(e.mfa.Wait)
	e.domains = domain.New(e.store, o.dnsResolver, log, e.clock.Now)
	e.idps = idp.New(e.store, box, idp.Config{PublicURL: e.publicURL}, log, e.clock.Now)
	e.policies = policy.New(e.store, log, e.clock.Now)
	e.sso = sso.New(e.store, e.idps, log, e.clock.Now, sso.Options{})

	e.metrics = metrics.New(prometheus.NewRegistry())
	e.health = health.New(e.store, notify.New(e.store, mailer, log), e.metrics, health.Config{}, log, e.clock.Now)
	e.sso.SetOutcomes(e.health)
	e.readiness = readiness.New(e.store, mailer, e.publicURL, log, e.clock.Now)
	e.apps = apps.New(e.store, e.publicURL, log, e.clock.Now)
	t.Cleanup(e.readiness.Wait)
	// The real second factors and emergency mode, wired as internal/app
	// wires them.
	if cfg, err := mfa.PasskeyConfigFromURL(e.publicURL, orgName); err == nil {
		if e.passkeys, err = mfa.NewPasskeys(e.store, cfg, log, e.clock.Now); err != nil {
			t.Fatal(err)
		}
	}
	e.emergencies = emergency.NewService(e.store, notify.New(e.store, mailer, log), config.Default().Emergency, log, e.clock.Now)
	e.policies.SetEmergencies(e.emergencies)
	e.emergencies.SetSessionCache(e.sessions.Forget)
	e.policies.SetFactors(mfa.HasSecondFactor(e.mfa, e.passkeys))
	// The lockout checks see lockouttest's factors: enrolment is not
	// what most of these tests are about.
	e.factors = new(lockouttest.Factors)
	e.factors.Wire(e.accounts, e.domains, e.idps, e.policies, e.mfa)
	if e.passkeys != nil {
		e.factors.Wire(e.passkeys)
	}
	e.accounts.SetPasswordOrigin(e.emergencies.PasswordOrigin)
	e.accounts.SetResetGate(e.emergencies.ResetGate)
	deps := signin.Deps{Store: e.store, Accounts: e.accounts, Policies: e.policies,
		Sessions: e.sessions, SSO: e.sso, Metrics: e.metrics, Log: log, Now: e.clock.Now,
		Notify: notify.New(e.store, mailer, log)}
	mfa.WireSignIn(&deps, e.mfa, e.passkeys)
	if o.passkeys != nil {
		deps.Passkeys, deps.FinishPasskey = o.passkeys, o.finishPasskey
	}
	engine, err := signin.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(e.store, e.clock.Now)
	e.orgRec = orgrecovery.New(e.store, notify.New(e.store, mailer, log), log, e.clock.Now)
	e.handler = &web.Handler{
		Accounts: e.accounts, Sessions: e.sessions, SignIn: engine, Metrics: e.metrics,
		Log: log, Now: e.clock.Now,
		Domains: e.domains, SSO: e.sso, IdPs: e.idps, Health: e.health,
		Limiter: limiter, OrgRecovery: e.orgRec,
		MFA: e.mfa,
	}
	if e.passkeys != nil {
		e.handler.Passkeys = e.passkeys
	}
	// Return URLs on registered apps' hosts are accepted, as the server
	// wires it.
	e.handler.Returns = e.apps
	appsCtx, appsStop := context.WithCancel(context.Background())
	appsDone := make(chan struct{})
	go func() { e.apps.Run(appsCtx); close(appsDone) }()
	t.Cleanup(func() { appsStop(); <-appsDone })
	admin := &console.Handler{
		Accounts: e.accounts, Sessions: e.sessions, Log: log, Now: e.clock.Now,
		Members: members.New(e.store, e.accounts, e.policies, log),
		Domains: e.domains, Policies: e.policies, SSO: e.sso, IdPs: e.idps, Audit: audit.NewService(e.store),
		Limiter: limiter, Health: e.health, Emergencies: e.emergencies, Readiness: e.readiness,
		BreakGlass: breakglass.New(e.store, e.factors.Lookup), OrgRecovery: e.orgRec,
		MFA: e.mfa, Apps: e.apps,
	}
	mux := http.NewServeMux()
	if err := e.handler.Register(mux); err != nil {
		t.Fatal(err)
	}
	if err := admin.Register(mux); err != nil {
		t.Fatal(err)
	}
	if o.routes != nil {
		o.routes(e, mux)
	}
	hs, err := httpserver.New(httpserver.Options{
		Log: log, Metrics: e.metrics, PublicURL: e.publicURL, ErrorPage: e.handler.ErrorPage, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler = hs.Handler(mux)
	return e
}

// setupOwner creates the organization and its owner through the service
// and returns them.
func (e *env) setupOwner() (storage.Organization, storage.Account) {
	e.t.Helper()
	ctx := context.Background()
	link, err := e.accounts.EnsureSetupLink(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	org, acct, err := e.accounts.CompleteSetup(ctx, tokenOf(e.t, link), account.SetupInput{
		OrgName: orgName, Email: ownerEmail, DisplayName: "Olivia Owner", Password: ownerPassword,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return org, acct
}

// auditCount counts every audit event, in every chain.
func (e *env) auditCount() int {
	e.t.Helper()
	ctx := context.Background()
	chains := []string{""}
	orgs, err := e.store.ListOrganizations(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range orgs {
		chains = append(chains, o.ID)
	}
	n := 0
	for _, c := range chains {
		var after int64
		for {
			evs, err := e.store.ListAudit(ctx, storage.AuditFilter{OrgID: c, AfterSeq: after, Limit: 1000})
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

func (e *env) signIns(method, result string) float64 {
	var m dto.Metric
	if err := e.metrics.SignIns.WithLabelValues(method, result).Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// lastMail waits for background sends and returns the newest outbox message.
func (e *env) mails() []mail.Message {
	e.t.Helper()
	e.accounts.Wait()
	e.mfa.Wait()
	msgs, err := mail.ReadOutbox(e.outbox)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// linkIn returns the first URL in text.
func linkIn(t testing.TB, text string) string {
	t.Helper()
	l := linkRE.FindString(text)
	if l == "" {
		t.Fatalf("no link in %q", text)
	}
	return l
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no token in link %q", link)
	}
	return u.Query().Get("token")
}

// pathOf strips the origin from an absolute link.
func pathOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// --- a browser-like client ---

type client struct {
	t   *testing.T
	e   *env
	hc  *http.Client
	jar *cookiejar.Jar
	ua  string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	req.Header.Set("User-Agent", c.ua)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// csrf returns the CSRF cookie's value, visiting /login first if needed.
func (c *client) csrf() string {
	c.t.Helper()
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "gatehouse_csrf" {
			return ck.Value
		}
	}
	c.get("/login")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "gatehouse_csrf" {
			return ck.Value
		}
	}
	c.t.Fatal("no CSRF cookie")
	return ""
}

// post sends form with the CSRF token added (unless form sets the field).
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[httpserver.CSRFField]; !ok {
		form.Set(httpserver.CSRFField, c.csrf())
	}
	if path == "/login/password" && !form.Has("flow") && form.Get("email") != "" {
		// A test that posts a password "directly" first takes the email
		// step (asking for the password form), as a browser must: the
		// password step continues a flow.
		form.Set("flow", c.flowFor(form.Get("email"), form.Get("return_to")))
	}
	return c.postRaw(path, form.Encode(), nil)
}

// flowRe finds the sign-in flow a password page continues.
var flowRe = regexp.MustCompile(`name="flow" value="([^"]+)"`)

// flowIDRe finds every flow ID on a page (the form field and the
// /login/sso links), which differ from page to page by design.
var flowIDRe = regexp.MustCompile(`(name="flow" value="|flow=)[A-Za-z0-9_-]{43}`)

// flowFor takes the email step for email, choosing the password form, and
// returns the flow it started.
func (c *client) flowFor(email, returnTo string) string {
	c.t.Helper()
	r := c.post("/login", url.Values{"email": {email}, "method": {"password"}, "return_to": {returnTo}})
	m := flowRe.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("the email step for %q showed no password form: status %d\n%s", email, r.status, text(r.body))
	}
	return html.UnescapeString(m[1])
}

func (c *client) postRaw(path, body string, header http.Header) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return c.do(req)
}

func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == c.e.sessions.CookieName() {
			return ck.Value
		}
	}
	return ""
}

func (c *client) setSessionCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: c.e.sessions.CookieName(), Value: v, Path: "/"}})
}

// signIn goes through both sign-in steps and expects success.
func (c *client) signIn(email, password string) response {
	c.t.Helper()
	c.get("/login")
	if r := c.post("/login", url.Values{"email": {email}}); r.status != http.StatusOK {
		c.t.Fatalf("email step: status %d", r.status)
	}
	r := c.post("/login/password", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("password step: status %d, want 303; body:\n%s", r.status, text(r.body))
	}
	return r
}

// expect fails unless r has status and its visible text contains every want.
func expect(t *testing.T, r response, status int, wants ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; page text:\n%s", r.status, status, text(r.body))
	}
	body := text(r.body)
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page text lacks %q:\n%s", w, body)
		}
	}
}

var (
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// text is a page's visible text with entities decoded and spaces collapsed.
func text(html string) string {
	s := strings.ReplaceAll(html, "<wbr>", "")
	s = tagRE.ReplaceAllString(s, " ")
	s = strings.NewReplacer("&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#34;", `"`).Replace(s)
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// eventually polls cond until it holds or a 5-second deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withoutEmail returns body with email (plain, query-escaped, and with the
// <wbr> hints the templates add) replaced by a placeholder, so two pages
// for two addresses can be compared byte for byte.
func withoutEmail(body, email string) string {
	body = strings.ReplaceAll(body, "<wbr>", "")
	body = flowIDRe.ReplaceAllString(body, "${1}FLOW")
	body = strings.ReplaceAll(body, url.QueryEscape(email), "EMAIL")
	return strings.ReplaceAll(body, email, "EMAIL")
}

// auditEvents lists orgID's events with action, oldest first.
func (e *env) auditEvents(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
