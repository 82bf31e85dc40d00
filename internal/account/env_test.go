package account_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	gmail "github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

const (
	publicURL     = "https://gatehouse.test"
	ownerEmail    = "ada@acme.example"
	ownerPassword = "analytical engine 1843"
	testIP        = "192.0.2.10"
)

type clock = testenv.Clock

// env is one account service on a fresh store, with a fake clock and a
// development outbox in a temporary directory.
type env struct {
	t      *testing.T
	ctx    context.Context
	st     storage.Store
	clk    *clock
	svc    *account.Service
	outbox string
}

func newEnv(t *testing.T, st storage.Store, tweak ...func(*account.Config)) *env {
	t.Helper()
	cfg := account.Config{PublicURL: publicURL}
	for _, f := range tweak {
		f(&cfg)
	}
	e := &env{
		t:      t,
		ctx:    reqctx.With(context.Background(), reqctx.Info{RequestID: "req-test", ActorType: "cli"}),
		st:     st,
		clk:    testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		outbox: t.TempDir(),
	}
	e.svc = account.New(st, &gmail.Outbox{Dir: e.outbox}, cfg, slog.New(slog.DiscardHandler), e.clk.Now)
	t.Cleanup(e.svc.Wait)
	return e
}

// setup runs first-start set-up and returns the organization and its owner.
func (e *env) setup() (storage.Organization, storage.Account) {
	e.t.Helper()
	link, err := e.svc.EnsureSetupLink(e.ctx)
	if err != nil || link == "" {
		e.t.Fatalf("EnsureSetupLink = %q, %v", link, err)
	}
	org, owner, err := e.svc.CompleteSetup(e.ctx, tokenOf(e.t, link), account.SetupInput{
		OrgName: "Acme Corp", Email: ownerEmail, DisplayName: "Ada", Password: ownerPassword,
	})
	if err != nil {
		e.t.Fatalf("CompleteSetup: %v", err)
	}
	return org, owner
}

// member adds an account with a password to org.
func (e *env) member(org storage.Organization, email, password string, role storage.Role) storage.Account {
	e.t.Helper()
	a, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: email, Password: password, Role: role})
	if err != nil {
		e.t.Fatalf("AddMember(%s): %v", email, err)
	}
	return a
}

// session creates a live session for a directly through the store.
func (e *env) session(a storage.Account) storage.Session {
	e.t.Helper()
	now := storage.Truncate(e.clk.Now())
	s := storage.Session{
		ID: uuid.NewString(), TokenHash: uuid.NewString(), AccountID: a.ID, OrgID: a.OrgID,
		Method: "password", CreatedAt: now, LastSeenAt: now, IdleTimeout: 8 * time.Hour,
		ExpiresAt: now.Add(7 * 24 * time.Hour), IP: testIP,
	}
	if err := e.st.CreateSession(e.ctx, s); err != nil {
		e.t.Fatalf("CreateSession: %v", err)
	}
	return s
}

func (e *env) liveSessions(a storage.Account) int {
	e.t.Helper()
	ss, err := e.st.ListSessions(e.ctx, a.ID, e.clk.Now())
	if err != nil {
		e.t.Fatalf("ListSessions: %v", err)
	}
	return len(ss)
}

// events returns orgID's audit events with action.
func (e *env) events(orgID, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.ctx, storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

// lastEvent returns the newest audit event of orgID with action, failing
// the test if there is none.
func (e *env) lastEvent(orgID, action string) storage.AuditEvent {
	e.t.Helper()
	evs := e.events(orgID, action)
	if len(evs) == 0 {
		e.t.Fatalf("no %q audit event in org %q", action, orgID)
	}
	return evs[len(evs)-1]
}

// sentMail is a message read back from the outbox.
type sentMail struct {
	To, Subject, Text string
}

// mails waits for background sends and returns every message in the
// outbox, oldest first.
func (e *env) mails() []sentMail {
	e.t.Helper()
	e.svc.Wait()
	msgs, err := gmail.ReadOutbox(e.outbox)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]sentMail, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, sentMail{To: m.To, Subject: m.Subject, Text: m.Text})
	}
	return out
}

var linkRE = regexp.MustCompile(`https://\S+`)

// linkIn returns the only link in a mail's text.
func linkIn(t *testing.T, m sentMail) string {
	t.Helper()
	links := linkRE.FindAllString(m.Text, -1)
	if len(links) != 1 {
		t.Fatalf("mail %q has %d links, want 1:\n%s", m.Subject, len(links), m.Text)
	}
	return links[0]
}

// tokenOf returns the token query parameter of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse link %q: %v", link, err)
	}
	tok := u.Query().Get("token")
	if tok == "" {
		t.Fatalf("link %q has no token", link)
	}
	return tok
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func wantInvalid(t *testing.T, what string, err error, field string) *account.InvalidInputError {
	t.Helper()
	var inv *account.InvalidInputError
	if !errors.As(err, &inv) {
		t.Fatalf("%s: err = %v (%T), want *InvalidInputError", what, err, err)
	}
	if field != "" && inv.Field != field {
		t.Fatalf("%s: field = %q, want %q (%s)", what, inv.Field, field, inv.Message)
	}
	return inv
}

func wantThrottled(t *testing.T, what string, err error, retry time.Duration) {
	t.Helper()
	var th *account.ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("%s: err = %v, want *ThrottledError", what, err)
	}
	if th.RetryAfter != retry {
		t.Fatalf("%s: RetryAfter = %v, want %v", what, th.RetryAfter, retry)
	}
}

// signIn is a password sign-in without a device cookie.
func (e *env) signIn(email, password, ip string) (storage.Account, error) {
	r, err := e.svc.Authenticate(e.ctx, account.PasswordAttempt{Email: email, Password: password, IP: ip})
	return r.Account, err
}
