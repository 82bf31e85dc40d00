package readiness_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/readiness"
	"github.com/gatehouse-id/gatehouse/internal/readiness/readinesstest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func emails(ps []readiness.Person) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Email)
	}
	return out
}

func outboxTo(t *testing.T, dir string) []string {
	t.Helper()
	msgs, err := mail.ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.To)
	}
	slices.Sort(out)
	return out
}

// The console's question: who under a policy that enforces SSO and allows
// failback could sign in with a passkey if SSO went down.
func TestListShowsWhoIsCoveredAndWhoHasAPasskey(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := readinesstest.Seed(t, st, "acme", t0)
		readinesstest.Seed(t, st, "other", t0)
		svc := readiness.New(st, nil, "https://login.example", nil, func() time.Time { return t0 })
		ctx := authz.AsAccount(t.Context(), f.Admin)

		sum, err := svc.Summary(ctx, f.Org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Covered != 5 || sum.WithPasskey != 2 || sum.WithEmergency != 1 || sum.Without != 3 {
			t.Errorf("summary %+v, want 5 covered, 2 with a passkey, 1 emergency, 3 without", sum)
		}
		if len(sum.Policies) != 1 || sum.Policies[0].Name != "Engineers" {
			t.Errorf("covering policies %+v, want Engineers only", sum.Policies)
		}

		page, err := svc.List(ctx, f.Org.ID, readiness.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{f.Emergency.Email, f.Member.Email, f.NoKey1.Email, f.NoKey2.Email, f.Ordinary.Email}
		if got := emails(page.People); !slices.Equal(got, want) {
			t.Errorf("covered %v, want %v", got, want)
		}
		for _, p := range page.People {
			switch p.Email {
			case f.Emergency.Email:
				if p.Passkeys != 1 || p.EmergencyPasskeys != 1 {
					t.Errorf("%s: %+v", p.Email, p)
				}
			case f.Ordinary.Email:
				if p.Passkeys != 1 || p.EmergencyPasskeys != 0 {
					t.Errorf("%s: %+v", p.Email, p)
				}
			}
			if p.PolicyName != "Engineers" {
				t.Errorf("%s: policy %q", p.Email, p.PolicyName)
			}
		}

		// Those without, two per page.
		var got []string
		opt := readiness.ListOptions{WithoutOnly: true, Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			page, err := svc.List(ctx, f.Org.ID, opt)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, emails(page.People)...)
			if page.Next == "" {
				break
			}
			opt.After = page.Next
		}
		if want := []string{f.Member.Email, f.NoKey1.Email, f.NoKey2.Email}; !slices.Equal(got, want) {
			t.Errorf("without a passkey %v, want %v", got, want)
		}
	})
}

// Reminders: everyone without a passkey is mailed once, audited as one
// batch; a second batch within 7 days mails nobody; a week later they are
// mailed again. A chosen set mails only those of it who need it.
func TestRemindMailsOncePerWeek(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := readinesstest.Seed(t, st, "acme", t0)
		dir := t.TempDir()
		now := t0
		svc := readiness.New(st, &mail.Outbox{Dir: dir}, "https://login.example", nil, func() time.Time { return now })
		ctx := authz.AsAccount(t.Context(), f.Owner)
		without := []string{f.Member.Email, f.NoKey1.Email, f.NoKey2.Email}

		plan, err := svc.Preview(ctx, f.Org.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(plan.ToMail, without) || len(plan.Skipped) != 0 {
			t.Errorf("preview %+v, want to mail %v", plan, without)
		}
		res, err := svc.Remind(ctx, f.Org.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc.Wait()
		if !slices.Equal(res.Mailed, without) {
			t.Errorf("mailed %v, want %v", res.Mailed, without)
		}
		if got := outboxTo(t, dir); !slices.Equal(got, without) {
			t.Errorf("outbox %v, want %v", got, without)
		}
		msgs, _ := mail.ReadOutbox(dir)
		for _, m := range msgs {
			if !containsAll(m.Text, "https://login.example/account", "single sign-on is ever down", "without email") {
				t.Errorf("reminder text lacks the link or the reason:\n%s", m.Text)
			}
		}
		evs, err := st.ListAudit(t.Context(), storage.AuditFilter{OrgID: f.Org.ID, Action: readiness.ActionReminderSent})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Details["count"] != "3" || evs[0].ActorID != f.Owner.ID ||
			evs[0].Details["emails"] != f.Member.Email+","+f.NoKey1.Email+","+f.NoKey2.Email {
			t.Fatalf("audit %+v, want one batch of 3 by the owner", evs)
		}

		// Six days later: nobody is mailed again, whoever asks.
		now = t0.Add(6 * 24 * time.Hour)
		res, err = svc.Remind(authz.AsAccount(t.Context(), f.Admin), f.Org.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc.Wait()
		if len(res.Mailed) != 0 || !slices.Equal(res.Skipped, without) {
			t.Errorf("within a week: %+v, want all skipped", res)
		}
		if n := len(outboxTo(t, dir)); n != 3 {
			t.Errorf("%d mails after the second batch, want still 3", n)
		}

		// Eight days later, a chosen set: only who needs it is mailed.
		now = t0.Add(8 * 24 * time.Hour)
		res, err = svc.Remind(ctx, f.Org.ID, []string{" NoKey1@ACME.example ", f.Emergency.Email, f.Denied.Email, "nobody@acme.example"})
		if err != nil {
			t.Fatal(err)
		}
		svc.Wait()
		if !slices.Equal(res.Mailed, []string{f.NoKey1.Email}) ||
			!slices.Equal(res.NotCovered, []string{f.Denied.Email, f.Emergency.Email, "nobody@acme.example"}) {
			t.Errorf("chosen set: %+v", res)
		}
		if n := len(outboxTo(t, dir)); n != 4 {
			t.Errorf("%d mails, want 4", n)
		}
		if _, err := svc.Remind(ctx, f.Org.ID, []string{"not an address"}); err == nil {
			t.Error("a malformed address was accepted")
		}
	})
}

// Members and read-only tokens may not send reminders; a read token may
// read the list, a member may not.
func TestRemindRefusedForMembersAndReadTokens(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := readinesstest.Seed(t, st, "acme", t0)
		dir := t.TempDir()
		svc := readiness.New(st, &mail.Outbox{Dir: dir}, "https://login.example", nil, func() time.Time { return t0 })
		tok := storage.APIToken{ID: "tok", OrgID: f.Org.ID, Name: "dashboard", TokenHash: "ab", CreatedBy: f.Owner.ID,
			Scope: storage.TokenScopeRead, CreatedAt: t0}
		if err := st.CreateAPIToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		member := authz.AsAccount(t.Context(), f.Member)
		read := authz.AsToken(t.Context(), tok)
		other := readinesstest.Seed(t, st, "other", t0)
		foreign := authz.AsAccount(t.Context(), other.Owner)
		if _, err := svc.Remind(member, f.Org.ID, nil); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("member reminded: %v", err)
		}
		if _, err := svc.Remind(read, f.Org.ID, nil); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("read token reminded: %v", err)
		}
		if _, err := svc.Remind(foreign, f.Org.ID, nil); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("another organization's owner reminded: %v", err)
		}
		if _, err := svc.Preview(read, f.Org.ID, nil); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("read token previewed: %v", err)
		}
		if _, err := svc.List(member, f.Org.ID, readiness.ListOptions{}); !errors.Is(err, authz.ErrForbidden) {
			t.Errorf("member listed: %v", err)
		}
		if _, err := svc.List(read, f.Org.ID, readiness.ListOptions{}); err != nil {
			t.Errorf("read token cannot list: %v", err)
		}
		svc.Wait()
		if got := outboxTo(t, dir); len(got) != 0 {
			t.Errorf("refused reminders mailed %v", got)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
