package orgrecovery_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

type env struct {
	t      *testing.T
	st     storage.Store
	svc    *orgrecovery.Service
	outbox string
	org    string
	owner  storage.Account
	owner2 storage.Account
	admin  storage.Account
	member storage.Account
}

func newEnv(t *testing.T, st storage.Store) *env {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	outbox := filepath.Join(t.TempDir(), "outbox")
	log := slog.New(slog.DiscardHandler)
	n := notify.New(st, &mail.Outbox{Dir: outbox, Log: log}, log)
	e := &env{t: t, st: st, svc: orgrecovery.New(st, n, log, clk.Now), outbox: outbox, org: uuid.NewString()}
	ctx := context.Background()
	if err := st.CreateOrganization(ctx, storage.Organization{ID: e.org, Slug: "acme-" + e.org[:6], Name: "Acme", CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	mk := func(email string, role storage.Role, status storage.AccountStatus) storage.Account {
		a := storage.Account{ID: uuid.NewString(), OrgID: e.org, Email: email, Role: role, Status: status,
			CreatedAt: clk.Now(), UpdatedAt: clk.Now(), Version: 1}
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	e.owner = mk("olive@acme.example", storage.RoleOwner, storage.StatusActive)
	e.owner2 = mk("otto@acme.example", storage.RoleOwner, storage.StatusActive)
	e.admin = mk("ada@acme.example", storage.RoleAdmin, storage.StatusActive)
	e.member = mk("mel@acme.example", storage.RoleMember, storage.StatusActive)
	mk("sue@acme.example", storage.RoleOwner, storage.StatusSuspended)
	return e
}

// from is a browser's request context: no actor, an address.
func from(ip string) context.Context {
	return reqctx.With(context.Background(), reqctx.Info{IP: ip, ActorType: "anonymous"})
}

func (e *env) events(outcome string) []storage.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(context.Background(), storage.AuditFilter{OrgID: e.org, Action: "recovery_codes.*", Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storage.AuditEvent
	for _, ev := range evs {
		if outcome == "" || ev.Outcome == outcome {
			out = append(out, ev)
		}
	}
	return out
}

var codeRE = regexp.MustCompile(`^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)

func TestRecoveryCodes(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		asOwner := authz.AsAccount(context.Background(), e.owner)

		// Only owners generate; admins are told so.
		if _, err := e.svc.Generate(authz.AsAccount(context.Background(), e.admin), e.org); !errors.Is(err, orgrecovery.ErrOwnerOnly) {
			t.Fatalf("admin generates: %v", err)
		}
		codes, err := e.svc.Generate(asOwner, e.org)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !codeRE.MatchString(c) || seen[c] {
				t.Fatalf("codes = %v", codes)
			}
			seen[c] = true
		}
		if len(codes) != 10 {
			t.Fatalf("%d codes", len(codes))
		}
		stored, _ := st.ListOrgRecoveryCodes(context.Background(), e.org)
		for _, c := range stored {
			if seen[c.CodeHash] || strings.Contains(c.CodeHash, codes[0][:4]) && len(c.CodeHash) != 64 {
				t.Fatalf("a code is stored in the clear: %+v", c)
			}
		}
		if ev := e.events("success"); len(ev) != 1 || ev[0].Action != "recovery_codes.generate" || ev[0].ActorID != e.owner.ID {
			t.Fatalf("generate events = %+v", ev)
		}

		// An owner signs in with a code typed loosely (lower case, spaces).
		ctx := from("198.51.100.7")
		typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))
		acct, err := e.svc.Redeem(ctx, "Otto@Acme.example", typed)
		if err != nil || acct.ID != e.owner2.ID {
			t.Fatalf("redeem = %+v, %v", acct, err)
		}
		uses := e.events("success")
		last := uses[len(uses)-1]
		if last.Action != "recovery_codes.use" || last.ActorID != e.owner2.ID || last.Details["codes_left"] != "9" || last.IP != "198.51.100.7" {
			t.Errorf("use event = %+v", last)
		}
		msgs, err := mail.ReadOutbox(e.outbox)
		if err != nil {
			t.Fatal(err)
		}
		to := map[string]bool{}
		for _, m := range msgs {
			if m.Subject != "An organization recovery code was used" || !strings.Contains(m.Text, "otto@acme.example signed in with an organization recovery code") ||
				!strings.Contains(m.Text, "198.51.100.7") || !strings.Contains(m.Text, "9 of the organization's recovery codes are left") {
				t.Errorf("mail = %+v", m)
			}
			to[m.To] = true
		}
		if len(msgs) != 3 || !to["olive@acme.example"] || !to["otto@acme.example"] || !to["ada@acme.example"] {
			t.Errorf("mailed %v, want the three active owners and admins", to)
		}
		st2, _ := e.svc.Status(asOwner, e.org)
		if st2.Left != 9 || st2.Used != 1 || !st2.Generated {
			t.Errorf("status = %+v", st2)
		}

		// The same code again, a wrong code, a member, a suspended owner, an
		// unknown address: one answer, each audited with its reason.
		for _, c := range []struct{ email, code, reason string }{
			{"otto@acme.example", codes[3], "wrong_code"},
			{"olive@acme.example", "2222-3333-4444-5555", "wrong_code"},
			{"mel@acme.example", codes[4], "not_owner"},
			{"ada@acme.example", codes[4], "not_owner"},
			{"sue@acme.example", codes[4], "suspended"},
			{"nobody@acme.example", codes[4], "unknown_account"},
		} {
			if _, err := e.svc.Redeem(from("203.0.113.9"), c.email, c.code); !errors.Is(err, orgrecovery.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", c.email, err)
			}
			if c.reason == "unknown_account" {
				continue // audited on the no-organization chain
			}
			f := e.events("failure")
			if f[len(f)-1].Reason != c.reason {
				t.Errorf("%s: audited %q, want %q", c.email, f[len(f)-1].Reason, c.reason)
			}
		}

		// Regenerating voids the old set.
		fresh, err := e.svc.Generate(asOwner, e.org)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Redeem(from("198.51.100.7"), "olive@acme.example", codes[5]); !errors.Is(err, orgrecovery.ErrInvalid) {
			t.Errorf("old code after regenerating: %v", err)
		}
		if ev := e.events("success"); ev[len(ev)-1].Action != "recovery_codes.generate" || ev[len(ev)-1].Details["voided"] != "9" {
			t.Errorf("regenerate event = %+v", ev[len(ev)-1])
		}

		// Browsers submit the same code at once: exactly one signs in. (A
		// fresh owner: olive's email has used up most of its attempts.)
		oona := storage.Account{ID: uuid.NewString(), OrgID: e.org, Email: "oona@acme.example", Role: storage.RoleOwner,
			Status: storage.StatusActive, CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1}
		if err := st.CreateAccount(context.Background(), oona); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = e.svc.Redeem(from("192.0.2."+string(rune('1'+i))), "oona@acme.example", fresh[0]) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, orgrecovery.ErrInvalid):
				t.Fatalf("concurrent use: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent uses of one code signed in", wins, len(errs))
		}
	})
}

// Guessing is throttled per email (and per address): after five wrong
// tries an owner's email is refused for a while, even with a right code.
func TestRecoveryCodesThrottle(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		codes, err := e.svc.Generate(authz.AsAccount(context.Background(), e.owner), e.org)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := e.svc.Redeem(from("203.0.113.9"), "olive@acme.example", "2222-2222-2222-222"+string(rune('2'+i))); !errors.Is(err, orgrecovery.ErrInvalid) {
				t.Fatalf("try %d: %v", i, err)
			}
		}
		_, err = e.svc.Redeem(from("198.51.100.1"), "olive@acme.example", codes[0])
		var th *account.ThrottledError
		if !errors.As(err, &th) || th.RetryAfter <= 0 {
			t.Fatalf("sixth try = %v, want throttled", err)
		}
		if f := e.events("failure"); f[len(f)-1].Reason != "throttled" {
			t.Errorf("throttled attempt audited as %q", f[len(f)-1].Reason)
		}
	})
}

// Whatever a browser types as the email is refused like any wrong code,
// but something that is not an address never becomes a throttle key or
// an audit detail: a flood of junk must not grow storage with it.
func TestRedeemKeepsJunkOutOfStorage(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		junk := strings.Repeat("x", 4000) + "<script>"
		if _, err := e.svc.Redeem(from("203.0.113.7"), junk, "2222-2222-2222-2222"); !errors.Is(err, orgrecovery.ErrInvalid) {
			t.Fatalf("junk email: %v, want the generic refusal", err)
		}
		th, err := st.GetThrottle(context.Background(), "orgrec:acct:"+junk)
		if err != nil {
			t.Fatal(err)
		}
		if th.Failures != 0 || !th.BlockedUntil.IsZero() {
			t.Error("the junk email became a throttle key")
		}
		evs, err := st.ListAudit(context.Background(), storage.AuditFilter{OrgID: "", Action: "recovery_codes.*", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if strings.Contains(ev.Details["email"], "xxxx") {
				t.Error("the junk email was written to the audit log")
			}
		}
	})
}
