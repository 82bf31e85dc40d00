package emergency_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// During an emergency, "Set or reset your password" mails only people who
// may fail back; everyone else gets the same answer, no mail, and an event
// with the reason in the organization's log. Outside one, nothing changes.
func TestResetDuringEmergency(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		now := e.clk.Now()
		recent := e.jit("recent@acme.example", now.Add(-24*time.Hour))
		stale := e.jit("stale@acme.example", now.Add(-60*24*time.Hour))
		suspended := e.account("gone@acme.example", storage.RoleMember, storage.OriginAdmin)
		_, err := st.UpdateAccount(bg, suspended.ID, func(a *storage.Account) error { a.Status = storage.StatusSuspended; return nil })
		must(t, err)
		must(t, st.CreateDomain(bg, storage.Domain{ID: "d1", OrgID: e.org.ID, Name: "acme.example", VerificationToken: "t", CreatedAt: now}))
		must(t, st.RecordDomainCheck(bg, e.org.ID, "d1", now, now, ""))

		// Outside an emergency: today's behaviour (the stale JIT account gets mail).
		must(t, e.acct.RequestReset(bg, stale.Email, "192.0.2.1"))
		if to := mailsTo(e.mails(), "Reset"); len(to) != 1 {
			t.Fatalf("outside an emergency: mails to %v", to)
		}

		_, err = e.svc.Start(e.as(e.owner), e.org.ID, emergency.StartInput{Reason: "IdP down"})
		must(t, err)
		e.mails()
		for _, addr := range []string{recent.Email, stale.Email, suspended.Email, "nobody@acme.example", "nobody@elsewhere.example"} {
			must(t, e.acct.RequestReset(bg, addr, "192.0.2.2"))
		}
		to := mailsTo(e.mails(), "")
		if len(to) != 1 || to[0] != recent.Email {
			t.Fatalf("during the emergency, reset mail went to %v; want only %s", to, recent.Email)
		}
		refused := map[string]string{}
		for _, ev := range e.events("password.reset_refused") {
			refused[ev.Details["email"]] = ev.Reason
		}
		want := map[string]string{
			stale.Email:           policy.IneligibleNoRecentSSO,
			suspended.Email:       policy.IneligibleSuspended,
			"nobody@acme.example": emergency.ReasonUnknownAccount,
		}
		for addr, reason := range want {
			if refused[addr] != reason {
				t.Errorf("refusal for %s: %q, want %q (all: %v)", addr, refused[addr], reason, refused)
			}
		}
		if len(refused) != len(want) {
			t.Errorf("refusals %v", refused)
		}
		// No account is ever created by a reset.
		if _, err := st.GetAccountByEmail(bg, "nobody@acme.example"); err == nil {
			t.Fatal("a reset created an account")
		}
		// The eligible one that never had a password can set one and it is
		// an emergency password.
		must(t, e.acct.RequestReset(bg, recent.Email, "192.0.2.3"))
		a, err := e.acct.CompleteReset(bg, resetToken(t, e.mails(), recent.Email), "correct horse battery staple")
		must(t, err)
		if a.PasswordOrigin != storage.PasswordEmergency {
			t.Fatalf("origin %q", a.PasswordOrigin)
		}
	})
}

// An address outside the organization's verified domains is never routed
// to SSO, so an emergency does not touch its password reset: a contractor
// the IdP created long ago (and who would not be eligible under the SSO
// rule) still gets the mail.
func TestResetOutsideVerifiedDomainsIsUntouched(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		e.verifyDomain("acme.example")
		contractor := e.jit("contractor@elsewhere.example", e.clk.Now().Add(-90*24*time.Hour))
		_, err := e.svc.Start(e.as(e.owner), e.org.ID, emergency.StartInput{Reason: "IdP down"})
		must(t, err)
		e.mails()
		must(t, e.acct.RequestReset(bg, contractor.Email, "192.0.2.9"))
		if to := mailsTo(e.mails(), "Reset"); len(to) != 1 || to[0] != contractor.Email {
			t.Fatalf("reset mail during the emergency went to %v; want the contractor", to)
		}
	})
}
