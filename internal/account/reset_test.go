package account_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

const newPassword = "a brand new passphrase"

func TestResetFlow(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		grace := e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)
		sessions := []storage.Session{e.session(grace), e.session(grace), e.session(grace)}

		if err := e.svc.RequestReset(e.ctx, " GRACE@acme.example", testIP); err != nil {
			t.Fatal(err)
		}
		mails := e.mails()
		if len(mails) != 1 {
			t.Fatalf("%d mails sent, want 1", len(mails))
		}
		m := mails[0]
		if m.To != "grace@acme.example" || m.Subject != "Reset your Acme Corp password" {
			t.Fatalf("mail to %q, subject %q", m.To, m.Subject)
		}
		for _, want := range []string{"30 minutes", "If you didn't ask for this, ignore this message"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("mail text lacks %q:\n%s", want, m.Text)
			}
		}
		link := linkIn(t, m)
		if !strings.HasPrefix(link, publicURL+"/reset?token=") {
			t.Fatalf("reset link %q", link)
		}
		token := tokenOf(t, link)
		if ev := e.lastEvent(org.ID, "password_reset.request"); ev.Outcome != "success" || ev.TargetID != grace.ID {
			t.Fatalf("password_reset.request event = %+v", ev)
		}

		a, err := e.svc.CheckResetToken(e.ctx, token)
		if err != nil || a.ID != grace.ID {
			t.Fatalf("CheckResetToken = %+v, %v", a, err)
		}
		// A password the policy refuses leaves the link usable.
		_, err = e.svc.CompleteReset(e.ctx, token, "grace@acme.example")
		wantInvalid(t, "email as password", err, "password")

		a, err = e.svc.CompleteReset(e.ctx, token, newPassword)
		if err != nil {
			t.Fatalf("CompleteReset: %v", err)
		}
		if a.PasswordChangedAt.IsZero() || a.ID != grace.ID {
			t.Fatalf("account after reset = %+v", a)
		}
		// Every session is gone, on every node (an invalidation is published).
		if n := e.liveSessions(grace); n != 0 {
			t.Fatalf("%d sessions still live after a reset", n)
		}
		for _, s := range sessions {
			got, err := st.GetSession(e.ctx, s.ID)
			if err != nil || got.RevokedAt.IsZero() || got.RevokeReason != "password_reset" {
				t.Fatalf("session after reset = %+v, %v", got, err)
			}
		}
		invs, err := st.InvalidationsSince(e.ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !containsInvalidation(invs, "account", grace.ID) {
			t.Fatalf("no account invalidation for %s in %+v", grace.ID, invs)
		}
		if ev := e.lastEvent(org.ID, "password_reset.complete"); ev.Details["sessions_revoked"] != "3" || ev.ActorID != grace.ID {
			t.Fatalf("password_reset.complete event = %+v", ev)
		}

		_, err = e.signIn("grace@acme.example", "grace under pressure", testIP)
		wantErr(t, "old password", err, account.ErrBadCredentials)
		if _, err := e.signIn("grace@acme.example", newPassword, testIP); err != nil {
			t.Fatalf("new password: %v", err)
		}

		// Single use.
		_, err = e.svc.CompleteReset(e.ctx, token, "yet another passphrase")
		wantErr(t, "second use", err, account.ErrInvalidLink)
		_, err = e.svc.CheckResetToken(e.ctx, token)
		wantErr(t, "check after use", err, account.ErrInvalidLink)
	})
}

func containsInvalidation(invs []storage.Invalidation, kind, key string) bool {
	for _, inv := range invs {
		if inv.Kind == kind && inv.Key == key {
			return true
		}
	}
	return false
}

func TestResetWithoutPriorPassword(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		sso, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: "sso@acme.example", DisplayName: "Sso User"})
		if err != nil {
			t.Fatal(err)
		}
		if sso.PasswordHash != "" {
			t.Fatal("member added without a password has a hash")
		}
		_, err = e.signIn("sso@acme.example", "", testIP)
		wantErr(t, "no password yet", err, account.ErrBadCredentials)

		if err := e.svc.RequestReset(e.ctx, "sso@acme.example", testIP); err != nil {
			t.Fatal(err)
		}
		mails := e.mails()
		if len(mails) != 1 || !strings.Contains(mails[0].Text, "Hello Sso User,") {
			t.Fatalf("mails = %+v", mails)
		}
		if _, err := e.svc.CompleteReset(e.ctx, tokenOf(t, linkIn(t, mails[0])), newPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := e.signIn("sso@acme.example", newPassword, testIP); err != nil {
			t.Fatalf("sign-in with the first password: %v", err)
		}
	})
}

func TestResetLinks(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)
		request := func() string {
			t.Helper()
			before := len(e.mails())
			if err := e.svc.RequestReset(e.ctx, "grace@acme.example", testIP); err != nil {
				t.Fatal(err)
			}
			mails := e.mails()
			if len(mails) != before+1 {
				t.Fatalf("%d new mails, want 1", len(mails)-before)
			}
			return tokenOf(t, linkIn(t, mails[len(mails)-1]))
		}

		t.Run("a newer request supersedes older links", func(t *testing.T) {
			older := request()
			e.clk.Advance(time.Minute)
			newer := request()
			_, err := e.svc.CompleteReset(e.ctx, older, newPassword)
			wantErr(t, "older link", err, account.ErrInvalidLink)
			if _, err := e.svc.CompleteReset(e.ctx, newer, newPassword); err != nil {
				t.Fatalf("newer link: %v", err)
			}
		})

		t.Run("expires after 30 minutes", func(t *testing.T) {
			e.clk.Advance(time.Hour) // past the mail rate limit's window
			tok := request()
			e.clk.Advance(29*time.Minute + 59*time.Second)
			if _, err := e.svc.CheckResetToken(e.ctx, tok); err != nil {
				t.Fatalf("link at 29m59s: %v", err)
			}
			e.clk.Advance(time.Second)
			_, err := e.svc.CheckResetToken(e.ctx, tok)
			wantErr(t, "link at 30m", err, account.ErrInvalidLink)
			_, err = e.svc.CompleteReset(e.ctx, tok, newPassword)
			wantErr(t, "complete at 30m", err, account.ErrInvalidLink)
		})

		t.Run("a suspended account's link stops working", func(t *testing.T) {
			e.clk.Advance(time.Hour)
			tok := request()
			a, _ := e.svc.GetMember(e.ctx, org.ID, "grace@acme.example")
			if _, err := e.svc.SetStatus(e.ctx, org.ID, a.ID, storage.StatusSuspended); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.CompleteReset(e.ctx, tok, newPassword)
			wantErr(t, "suspended", err, account.ErrInvalidLink)
			if _, err := e.svc.SetStatus(e.ctx, org.ID, a.ID, storage.StatusActive); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.CompleteReset(e.ctx, tok, newPassword)
			wantErr(t, "reactivated, old link", err, account.ErrInvalidLink)
		})

		t.Run("garbage tokens", func(t *testing.T) {
			for _, tok := range []string{"", "x", strings.Repeat("A", 43), "\xff\xfe"} {
				_, err := e.svc.CheckResetToken(e.ctx, tok)
				wantErr(t, "token "+tok, err, account.ErrInvalidLink)
			}
		})
	})
}

func TestResetRequestsRevealNothing(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		susp := e.member(org, "sam@acme.example", "sam sam sam sam", storage.RoleMember)
		if _, err := e.svc.SetStatus(e.ctx, org.ID, susp.ID, storage.StatusSuspended); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			email, reason, org string
		}{
			{"nobody@acme.example", "unknown_account", ""},
			{"sam@acme.example", "suspended", org.ID},
		}
		for _, tt := range tests {
			if err := e.svc.RequestReset(e.ctx, tt.email, testIP); err != nil {
				t.Fatalf("RequestReset(%s) = %v, want nil", tt.email, err)
			}
			ev := e.lastEvent(tt.org, "password_reset.request")
			if ev.Outcome != "failure" || ev.Reason != tt.reason {
				t.Errorf("%s: audit %s/%s, want failure/%s", tt.email, ev.Outcome, ev.Reason, tt.reason)
			}
		}
		if n := len(e.mails()); n != 0 {
			t.Fatalf("%d mails sent for unknown or suspended accounts", n)
		}
		err := e.svc.RequestReset(e.ctx, "not an email", testIP)
		wantInvalid(t, "malformed email", err, "email")
	})
}

func TestResetRateLimit(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)

		for i := range 5 {
			if err := e.svc.RequestReset(e.ctx, "grace@acme.example", testIP); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if n := len(e.mails()); n != 3 {
			t.Fatalf("%d mails for 5 requests in a minute, want 3", n)
		}
		if ev := e.lastEvent(org.ID, "password_reset.request"); ev.Reason != "rate_limited" {
			t.Fatalf("over-limit request audited as %s/%s", ev.Outcome, ev.Reason)
		}
		e.clk.Advance(15*time.Minute + time.Second)
		if err := e.svc.RequestReset(e.ctx, "grace@acme.example", testIP); err != nil {
			t.Fatal(err)
		}
		if n := len(e.mails()); n != 4 {
			t.Fatalf("%d mails after the window, want 4", n)
		}

		// 20 per address, whatever the emails.
		const ip = "198.51.100.200"
		for i := range 25 {
			email := "nobody" + string(rune('a'+i)) + "@acme.example"
			if err := e.svc.RequestReset(e.ctx, email, ip); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.RequestReset(e.ctx, "grace@acme.example", ip); err != nil {
			t.Fatal(err)
		}
		if n := len(e.mails()); n != 4 {
			t.Fatalf("a 26th request from one address sent a mail")
		}
	})
}

// rendezvous holds the first n callers of arrive, once armed, until all n
// have arrived, so requests are made to overlap exactly where a race would
// hurt.
type rendezvous struct {
	t       *testing.T
	n       int
	armed   atomic.Bool
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func newRendezvous(t *testing.T, n int) *rendezvous {
	return &rendezvous{t: t, n: n, all: make(chan struct{})}
}

func (r *rendezvous) arrive() {
	if !r.armed.Load() {
		return
	}
	r.mu.Lock()
	r.arrived++
	if r.arrived == r.n {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-time.After(20 * time.Second):
		r.t.Errorf("only %d of %d requests reached the rendezvous", r.arrived, r.n)
	}
}

// tokenReadStore calls meet after each read of a one-time token: inside
// transactions when inTx, else outside them.
type tokenReadStore struct {
	storage.Store
	inTx bool
	meet func()
}

func (s tokenReadStore) GetToken(ctx context.Context, hash string) (storage.OneTimeToken, error) {
	tok, err := s.Store.GetToken(ctx, hash)
	if !s.inTx {
		s.meet()
	}
	return tok, err
}

func (s tokenReadStore) InTx(ctx context.Context, fn func(tx storage.Store) error) error {
	return s.Store.InTx(ctx, func(tx storage.Store) error {
		if !s.inTx {
			return fn(tx)
		}
		return fn(tokenReadStore{Store: tx, inTx: false, meet: s.meet})
	})
}

// Two submissions of one reset link that both found it unused: exactly one
// sets the password. The submissions are made to overlap deterministically:
// on PostgreSQL both transactions have read the link as unused before
// either goes on; on SQLite, whose write transactions cannot overlap, both
// have passed the check before the transaction.
func TestConcurrentCompleteReset(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		const n = 2
		meet := newRendezvous(t, n)
		pg := st.(interface{ Dialect() string }).Dialect() == "postgres"
		e := newEnv(t, tokenReadStore{Store: st, inTx: pg, meet: meet.arrive})
		org, _ := e.setup()
		acct := e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)
		if err := e.svc.RequestReset(e.ctx, "grace@acme.example", testIP); err != nil {
			t.Fatal(err)
		}
		token := tokenOf(t, linkIn(t, e.mails()[0]))
		meet.armed.Store(true)

		var wg sync.WaitGroup
		errs := make([]error, n)
		passwords := []string{newPassword + " one", newPassword + " two"}
		for i := range n {
			wg.Go(func() { _, errs[i] = e.svc.CompleteReset(e.ctx, token, passwords[i]) })
		}
		wg.Wait()
		meet.armed.Store(false)
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Errorf("both submissions of one link set a password")
			case err != account.ErrInvalidLink:
				t.Errorf("attempt %d: %v, want nil or ErrInvalidLink", i, err)
			}
		}
		if won < 0 {
			t.Fatalf("no submission succeeded: %v", errs)
		}
		if got := len(e.events(org.ID, "password_reset.complete")); got != 1 {
			t.Fatalf("%d password_reset.complete events, want 1", got)
		}
		// The winner's password is the one that works.
		if _, err := e.svc.Authenticate(e.ctx, account.PasswordAttempt{Email: acct.Email, Password: passwords[won], IP: testIP}); err != nil {
			t.Errorf("the successful submission's password does not sign in: %v", err)
		}
		if _, err := e.svc.CompleteReset(e.ctx, token, newPassword+" three"); err != account.ErrInvalidLink {
			t.Errorf("a third use = %v, want ErrInvalidLink", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		const old = "grace under pressure"
		grace := e.member(org, "grace@acme.example", old, storage.RoleMember)
		current, other := e.session(grace), e.session(grace)

		err := e.svc.ChangePassword(e.ctx, grace.ID, current.ID, "wrong", newPassword)
		wantErr(t, "wrong current password", err, account.ErrBadCredentials)
		err = e.svc.ChangePassword(e.ctx, grace.ID, current.ID, old, "too short")
		wantInvalid(t, "short new password", err, "password")
		if n := e.liveSessions(grace); n != 2 {
			t.Fatalf("failed changes ended sessions: %d live", n)
		}

		if err := e.svc.ChangePassword(e.ctx, grace.ID, current.ID, old, newPassword); err != nil {
			t.Fatal(err)
		}
		if s, _ := st.GetSession(e.ctx, current.ID); !s.RevokedAt.IsZero() {
			t.Fatal("the session that changed the password was signed out")
		}
		if s, _ := st.GetSession(e.ctx, other.ID); s.RevokedAt.IsZero() {
			t.Fatal("another session survived a password change")
		}
		if _, err := e.signIn("grace@acme.example", newPassword, testIP); err != nil {
			t.Fatal(err)
		}
		if ev := e.lastEvent(org.ID, "password.change"); ev.Outcome != "success" || ev.Details["sessions_revoked"] != "1" {
			t.Fatalf("password.change event = %+v", ev)
		}
		if ev := e.events(org.ID, "password.change"); len(ev) != 2 || ev[0].Reason != "bad_password" {
			t.Fatalf("password.change events = %+v", ev)
		}
	})
}
