package emergency_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	gmail "github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// env is an organization "Acme" with an SSO-enforced default policy, an
// owner, an admin and members, the emergency service, and an account
// service wired to it the way the app wires them, all mailing into one
// development outbox.
type env struct {
	t      *testing.T
	st     storage.Store
	clk    *testenv.Clock
	svc    *emergency.Service
	acct   *account.Service
	outbox string
	org    storage.Organization
	pol    storage.Policy // default, SSO enforced
	owner  storage.Account
	admin  storage.Account
	conn   storage.IdPConnection
}

func newEnv(t *testing.T, st storage.Store) *env {
	t.Helper()
	e := &env{t: t, st: st, clk: testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), outbox: t.TempDir()}
	ctx := context.Background()
	now := e.clk.Now()
	e.org = storage.Organization{ID: "org-acme", Slug: "acme", Name: "Acme", CreatedAt: now}
	must(t, st.CreateOrganization(ctx, e.org))
	e.conn = storage.IdPConnection{ID: "conn-1", OrgID: e.org.ID, Slug: "acme-entra", Name: "Entra", EntityID: "https://idp.example/acme",
		SSOURL: "https://idp.example/sso", CreatedAt: now, UpdatedAt: now, TestedAt: now}
	must(t, st.CreateIdPConnection(ctx, e.conn))
	e.pol = storage.Policy{ID: "pol-default", OrgID: e.org.ID, Name: "Everyone", IsDefault: true, SSO: storage.SSOEnforced,
		ConnectionID: e.conn.ID, CreatedAt: now, UpdatedAt: now, Version: 1}
	must(t, st.CreatePolicy(ctx, e.pol))
	e.owner = e.account("owner@acme.example", storage.RoleOwner, storage.OriginSetup)
	e.admin = e.account("admin@acme.example", storage.RoleAdmin, storage.OriginAdmin)
	outbox := &gmail.Outbox{Dir: e.outbox}
	log := slog.New(slog.DiscardHandler)
	e.svc = emergency.NewService(st, notify.New(st, outbox, log), config.Default().Emergency, log, e.clk.Now)
	e.acct = account.New(st, outbox, account.Config{PublicURL: "https://gatehouse.test"}, log, e.clk.Now)
	e.acct.SetPasswordOrigin(e.svc.PasswordOrigin)
	e.acct.SetResetGate(e.svc.ResetGate)
	t.Cleanup(e.acct.Wait)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// account creates an active account without a password.
func (e *env) account(email string, role storage.Role, origin string) storage.Account {
	e.t.Helper()
	now := e.clk.Now()
	a := storage.Account{ID: uuid.NewString(), OrgID: e.org.ID, Email: email, DisplayName: email, Role: role,
		Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1, Origin: origin}
	must(e.t, e.st.CreateAccount(context.Background(), a))
	return a
}

// jit creates an account the IdP made, last signed in through SSO at last.
func (e *env) jit(email string, last time.Time) storage.Account {
	e.t.Helper()
	a := e.account(email, storage.RoleMember, storage.OriginJIT)
	must(e.t, e.st.CreateSSOLink(context.Background(), storage.SSOLink{ConnectionID: e.conn.ID, Subject: "sub-" + email,
		AccountID: a.ID, CreatedAt: a.CreatedAt, LastLoginAt: last}))
	return a
}

func (e *env) as(a storage.Account) context.Context {
	return authz.AsAccount(reqctx.With(context.Background(), reqctx.Info{RequestID: "req-test"}), a)
}

func (e *env) token(scope string) context.Context {
	tok := storage.APIToken{ID: uuid.NewString(), OrgID: e.org.ID, Name: "tok-" + scope + "-" + uuid.NewString()[:8], TokenHash: uuid.NewString(),
		CreatedBy: "cli", Scope: scope, CreatedAt: e.clk.Now()}
	must(e.t, e.st.CreateAPIToken(context.Background(), tok))
	return authz.AsToken(context.Background(), tok)
}

func (e *env) events(action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(context.Background(), storage.AuditFilter{OrgID: e.org.ID, Action: action, Limit: 1000})
	must(e.t, err)
	return evs
}

func (e *env) lastEvent(action string) storage.AuditEvent {
	e.t.Helper()
	evs := e.events(action)
	if len(evs) == 0 {
		e.t.Fatalf("no %q event", action)
	}
	return evs[len(evs)-1]
}

// mails returns and empties the outbox.
func (e *env) mails() []gmail.Message {
	e.t.Helper()
	e.acct.Wait()
	msgs, err := gmail.ReadOutbox(e.outbox)
	must(e.t, err)
	entries, err := os.ReadDir(e.outbox)
	must(e.t, err)
	for _, d := range entries {
		must(e.t, os.Remove(filepath.Join(e.outbox, d.Name())))
	}
	return msgs
}

func mailsTo(ms []gmail.Message, subject string) []string {
	var to []string
	for _, m := range ms {
		if strings.Contains(m.Subject, subject) {
			to = append(to, m.To)
		}
	}
	return to
}

var linkRE = regexp.MustCompile(`https://\S+`)

// resetToken returns the token of the reset link in the only mail to addr.
func resetToken(t *testing.T, ms []gmail.Message, addr string) string {
	t.Helper()
	for _, m := range ms {
		if m.To != addr {
			continue
		}
		u, err := url.Parse(linkRE.FindString(m.Text))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("token")
	}
	t.Fatalf("no mail to %s in %d mails", addr, len(ms))
	return ""
}

// session stores a session made under emergencyID for a.
func (e *env) session(a storage.Account, emergencyID string) storage.Session {
	e.t.Helper()
	now := storage.Truncate(e.clk.Now())
	s := storage.Session{ID: uuid.NewString(), TokenHash: uuid.NewString(), AccountID: a.ID, OrgID: a.OrgID,
		Method: "password", CreatedAt: now, LastSeenAt: now, IdleTimeout: 8 * time.Hour,
		ExpiresAt: now.Add(7 * 24 * time.Hour), AMR: []string{"pwd", "emergency"}, EmergencyID: emergencyID}
	must(e.t, e.st.CreateSession(context.Background(), s))
	return s
}

type mailMsg = gmail.Message

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// newEnvSameStore is a second node: another emergency service on e's store.
func newEnvSameStore(t *testing.T, e *env) *emergency.Service {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	return emergency.NewService(e.st, notify.New(e.st, &gmail.Outbox{Dir: e.outbox}, log), config.Default().Emergency, log, e.clk.Now)
}

// verifyDomain records name as verified by the test organization.
func (e *env) verifyDomain(name string) {
	e.t.Helper()
	ctx, now := context.Background(), e.clk.Now()
	id := "dom-" + name
	must(e.t, e.st.CreateDomain(ctx, storage.Domain{ID: id, OrgID: e.org.ID, Name: name, VerificationToken: "t", CreatedAt: now}))
	must(e.t, e.st.RecordDomainCheck(ctx, e.org.ID, id, now, now, ""))
}
