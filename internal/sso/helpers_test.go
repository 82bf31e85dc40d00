package sso

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"io"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	idpEntity = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
	idpSSO    = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2"
)

var (
	keyOnce sync.Once
	idpKey  *samltest.Keypair
)

func testIdPKey(t testing.TB) *samltest.Keypair {
	keyOnce.Do(func() {
		k, err := samltest.NewKeypair("test-idp", t0.Add(-24*time.Hour), t0.Add(3*365*24*time.Hour))
		if err != nil {
			panic(err)
		}
		idpKey = k
	})
	return idpKey
}

type clock = testenv.Clock

type env struct {
	t      testing.TB
	ctx    context.Context
	st     storage.Store
	clock  *clock
	idps   *idp.Service
	svc    *Service
	signer *samltest.IdP
	orgA   string // verifies corp.example
	orgB   string // verifies b.example
	conn   storage.IdPConnection
	admin  storage.Account
}

func newEnv(t testing.TB, st storage.Store) *env {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	box, err := secretbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.NewClock(t0)
	// The development IdP of TestDevIdPRoundTrip serves its metadata on
	// loopback, which the metadata fetch guard refuses unless allowed.
	idps := idp.New(st, box, idp.Config{PublicURL: "https://gatehouse.test", MetadataAllowedNetworks: idp.LoopbackNetworks}, nil, c.Now)
	e := &env{
		t: t, ctx: context.Background(), st: st, clock: c, idps: idps,
		svc:    New(st, idps, nil, c.Now, Options{}),
		signer: &samltest.IdP{Flavor: samltest.Entra, EntityID: idpEntity, Key: testIdPKey(t)},
	}
	e.orgA, e.orgB = e.org("a"), e.org("b")
	e.verify(e.orgA, "corp.example")
	e.verify(e.orgB, "b.example")
	e.conn = e.connection(e.orgA, nil)
	return e
}

func (e *env) org(slug string) string {
	e.t.Helper()
	o := storage.Organization{ID: uuid.NewString(), Slug: slug + "-" + uuid.NewString()[:8], Name: slug, CreatedAt: t0}
	if err := e.st.CreateOrganization(e.ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

func (e *env) verify(orgID, name string) {
	e.t.Helper()
	d := storage.Domain{ID: uuid.NewString(), OrgID: orgID, Name: name, VerificationToken: "tok", CreatedAt: t0}
	if err := e.st.CreateDomain(e.ctx, d); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.RecordDomainCheck(e.ctx, orgID, d.ID, t0, t0, ""); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) connection(orgID string, edit func(*idp.CreateInput)) storage.IdPConnection {
	e.t.Helper()
	in := idp.CreateInput{Name: "Corp Entra", EntityID: idpEntity, SSOURL: idpSSO, CertificatesPEM: []string{string(testIdPKey(e.t).CertPEM())}}
	if edit != nil {
		edit(&in)
	}
	c, err := e.idps.Create(authz.AsCLI(e.ctx, "test"), orgID, in) // set up by the operator
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) update(fn func(c *storage.IdPConnection)) {
	e.t.Helper()
	c, err := e.st.UpdateIdPConnection(e.ctx, e.conn.ID, func(c *storage.IdPConnection) error { fn(c); return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	e.conn = c
}

func (e *env) account(orgID, email string, status storage.AccountStatus) storage.Account {
	e.t.Helper()
	a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: email, Role: storage.RoleMember,
		Status: status, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := e.st.CreateAccount(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// adminCtx is a request context acting as an admin of org A (created on
// first use).
func (e *env) adminCtx() context.Context {
	e.t.Helper()
	if e.admin.ID == "" {
		e.admin = e.account(e.orgA, "admin@corp.example", storage.StatusActive)
		var err error
		e.admin, err = e.st.UpdateAccount(e.ctx, e.admin.ID, func(a *storage.Account) error { a.Role = storage.RoleAdmin; return nil })
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return reqctx.WithActor(e.ctx, "account", e.admin.ID, e.admin.Email)
}

// user is what the test IdP asserts.
type user struct {
	email    string
	oid      string
	groups   []string
	overage  bool
	noGroups bool
}

func (u user) attributes() []samltest.Attribute {
	attrs := []samltest.Attribute{
		{Name: samltest.ClaimTenantID, Values: []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{Name: samltest.ClaimObjectID, Values: []string{u.oid}},
		{Name: saml.ClaimDisplayName, Values: []string{"Alice Liddell"}},
	}
	switch {
	case u.overage:
		attrs = append(attrs, samltest.Attribute{Name: saml.ClaimGroupsLink, Values: []string{"https://graph.windows.net/tenant/users/" + u.oid + "/getMemberObjects"}})
	case !u.noGroups:
		attrs = append(attrs, samltest.Attribute{Name: samltest.ClaimGroups, Values: u.groups})
	}
	return append(attrs,
		samltest.Attribute{Name: samltest.ClaimGivenName, Values: []string{"Alice"}},
		samltest.Attribute{Name: samltest.ClaimSurname, Values: []string{"Liddell"}},
		samltest.Attribute{Name: samltest.ClaimEmail, Values: []string{u.email}},
		samltest.Attribute{Name: samltest.ClaimName, Values: []string{u.email}},
	)
}

var alice = user{email: "alice@corp.example", oid: "0b5a1f3c-8c1e-4a57-9d4e-5a3f1e2d7c90", groups: []string{"engineering", "everyone"}}

// login is one browser's SP-initiated attempt.
type login struct {
	redirect, secret, requestID, relay string
}

func (e *env) begin(returnTo string, test bool) login {
	e.t.Helper()
	ctx := e.ctx
	if test {
		ctx = e.adminCtx()
	}
	u, secret, err := e.svc.Begin(ctx, e.conn.Slug, returnTo, test)
	if err != nil {
		e.t.Fatal(err)
	}
	id, relay := requestID(e.t, u)
	return login{redirect: u, secret: secret, requestID: id, relay: relay}
}

var idRE = regexp.MustCompile(`ID="([^"]+)"`)

// requestID inflates the SAMLRequest of a redirect URL and returns its ID
// and the RelayState.
func requestID(t testing.TB, redirect string) (string, string) {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	m := idRE.FindSubmatch(xml)
	if m == nil {
		t.Fatalf("no ID in %s", xml)
	}
	return string(m[1]), u.Query().Get("RelayState")
}

// response builds a signed Entra-shaped Response for u answering
// inResponseTo ("" for unsolicited), issued now.
func (e *env) response(u user, inResponseTo string, edit func(*samltest.Options)) string {
	e.t.Helper()
	o := samltest.Options{
		Audience: e.idps.SPEntityID(e.conn), ACSURL: e.idps.ACSURL(e.conn), InResponseTo: inResponseTo,
		NameID: u.email, Attributes: u.attributes(), IssueInstant: e.clock.Now(),
	}
	if edit != nil {
		edit(&o)
	}
	xml, err := e.signer.Response(o, samltest.Signing{})
	if err != nil {
		e.t.Fatal(err)
	}
	return samltest.Encode(xml)
}

func (e *env) complete(resp, relay, secret string) (Result, error) {
	return e.svc.Complete(e.ctx, e.conn.Slug, resp, relay, secret)
}

// loginAs runs a whole SP-initiated sign-in and fails the test on error.
func (e *env) loginAs(u user) Result {
	e.t.Helper()
	l := e.begin("/apps/wiki", false)
	res, err := e.complete(e.response(u, l.requestID, nil), l.relay, l.secret)
	if err != nil {
		e.t.Fatalf("login as %s: %v", u.email, err)
	}
	return res
}

func (e *env) events(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) groups(accountID string) []string {
	e.t.Helper()
	g, err := e.st.ListAccountGroups(e.ctx, accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// snapshot is what a rejected response must leave unchanged.
type snapshot struct {
	accounts []storage.Account
	events   int
	conn     storage.IdPConnection
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	for _, org := range []string{e.orgA, e.orgB} {
		as, err := e.st.ListAccounts(e.ctx, org)
		if err != nil {
			e.t.Fatal(err)
		}
		s.accounts = append(s.accounts, as...)
		s.events += len(e.events(org, ""))
	}
	c, err := e.st.GetIdPConnection(e.ctx, e.conn.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	s.conn = c
	return s
}
