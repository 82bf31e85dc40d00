package domain_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/devdns"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

type clock = testenv.Clock

type env struct {
	store storage.Store
	dns   *devdns.Server
	clk   *clock
	svc   *domain.Service
}

func newEnv(t *testing.T, s storage.Store) *env {
	t.Helper()
	dns, err := devdns.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	e := &env{store: s, dns: dns, clk: testenv.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	e.svc = domain.New(s, dns.Addr(), slog.New(slog.DiscardHandler), e.clk.Now)
	return e
}

func (e *env) org(t *testing.T, id string) {
	t.Helper()
	if err := e.store.CreateOrganization(t.Context(), storage.Organization{ID: id, Slug: id, Name: "Org " + id, CreatedAt: e.clk.Now()}); err != nil {
		t.Fatalf("CreateOrganization(%s): %v", id, err)
	}
	// The admin adminCtx acts as: the service resolves the actor.
	now := e.clk.Now()
	if err := e.store.CreateAccount(t.Context(), storage.Account{ID: "admin-" + id, OrgID: id, Email: "admin@" + id + ".example",
		Role: storage.RoleAdmin, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatalf("CreateAccount(admin of %s): %v", id, err)
	}
}

// adminCtx is a request by an admin of org, as the console would make it.
func adminCtx(t *testing.T, org string) context.Context {
	return reqctx.With(t.Context(), reqctx.Info{
		RequestID: "req-" + org, IP: "203.0.113.9", UserAgent: "test",
		ActorType: "account", ActorID: "admin-" + org, ActorEmail: "admin@" + org + ".example",
	})
}

func (e *env) add(t *testing.T, org, name string) storage.Domain {
	t.Helper()
	d, err := e.svc.Add(adminCtx(t, org), org, name)
	if err != nil {
		t.Fatalf("Add(%s, %s): %v", org, name, err)
	}
	return d
}

// events returns org's audit events with the action prefix "domain.".
func (e *env) events(t *testing.T, org string) []storage.AuditEvent {
	t.Helper()
	evs, err := e.store.ListAudit(t.Context(), storage.AuditFilter{OrgID: org, Action: "domain.*"})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

func (e *env) lastEvent(t *testing.T, org string) storage.AuditEvent {
	t.Helper()
	evs := e.events(t, org)
	if len(evs) == 0 {
		t.Fatalf("no domain audit events for %s", org)
	}
	return evs[len(evs)-1]
}

func wantEvent(t *testing.T, got storage.AuditEvent, action, outcome, reason string, d storage.Domain) {
	t.Helper()
	if got.Action != action || got.Outcome != outcome || got.Reason != reason ||
		got.TargetType != "domain" || got.TargetID != d.ID || got.Details["name"] != d.Name ||
		got.ActorType != "account" || got.ActorID != "admin-"+d.OrgID || got.RequestID != "req-"+d.OrgID {
		t.Fatalf("audit event = %+v\nwant action %s, outcome %s, reason %q, target domain %s (%s), actor admin-%s",
			got, action, outcome, reason, d.ID, d.Name, d.OrgID)
	}
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func TestAdd(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		e.org(t, "a")
		e.org(t, "b")
		d := e.add(t, "a", "  Corp.Example. ")
		if d.Name != "corp.example" || d.OrgID != "a" || d.ID == "" || !d.VerifiedAt.IsZero() {
			t.Fatalf("Add returned %+v", d)
		}
		raw, err := hex.DecodeString(d.VerificationToken)
		if err != nil || len(raw) != 24 {
			t.Fatalf("token %q: want 24 random bytes in hex (%v)", d.VerificationToken, err)
		}
		if got, want := e.svc.TXTRecord(d), "gatehouse-verification="+d.VerificationToken; got != want {
			t.Fatalf("TXTRecord = %q, want %q", got, want)
		}
		if got := e.svc.RecordName(d); got != "corp.example" {
			t.Fatalf("RecordName = %q", got)
		}
		wantEvent(t, e.lastEvent(t, "a"), "domain.add", "success", "", d)

		stored, err := e.svc.Get(t.Context(), "a", d.ID)
		if err != nil || stored != d {
			t.Fatalf("Get = %+v, %v; want %+v", stored, err, d)
		}

		_, err = e.svc.Add(adminCtx(t, "a"), "a", "CORP.example")
		wantErrIs(t, "adding the same name twice", err, domain.ErrAlreadyAdded)
		if err.Error() != "This organization has already added corp.example." {
			t.Fatalf("duplicate error text = %q", err)
		}
		// Another organization may claim it too; only verification is exclusive.
		db := e.add(t, "b", "corp.example")
		if db.VerificationToken == d.VerificationToken {
			t.Fatal("two claims share a token")
		}
		e.add(t, "a", "b.example")
		list, err := e.svc.List(t.Context(), "a")
		if err != nil || len(list) != 2 || list[0].Name != "b.example" || list[1].Name != "corp.example" {
			t.Fatalf("List(a) = %+v, %v", list, err)
		}
	})
}

func TestAddInvalidNamesChangeNothing(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		e.org(t, "a")
		for _, tc := range []struct{ in, wantMsg string }{
			{"", "Enter a domain name"},
			{"   ", "Enter a domain name"},
			{"corp", "not a full domain name"},
			{"corp.", "not a full domain name"},
			{"bob@corp.example", "the part after the @"},
			{"https://corp.example/", "without https://"},
			{"bücher.example", "ASCII (punycode) form"},
			{"\u212Aorp.example", "ASCII (punycode) form"}, // Kelvin sign: lowercases to an ASCII k
			{"corp..example", "empty part"},
			{".corp.example", "empty part"},
			{"-corp.example", "cannot start or end with a hyphen"},
			{"corp-.example", "cannot start or end with a hyphen"},
			{"corp_mail.example", "only letters a–z, digits and hyphens"},
			{"corp example.com", "only letters a–z, digits and hyphens"},
			{"*.corp.example", "only letters a–z, digits and hyphens"},
			{strings.Repeat("a", 64) + ".example", "at most 63 characters"},
			{strings.Repeat(strings.Repeat("a", 60)+".", 5) + "example", "at most 253 characters"},
			{"192.168.1.1", "looks like an IP address"},
			{"corp.example\x00", "only letters"},
			{"\xff.example", "not text"},
		} {
			_, err := e.svc.Add(adminCtx(t, "a"), "a", tc.in)
			var inv *domain.InvalidInputError
			if !errors.As(err, &inv) || !errors.Is(err, domain.ErrInvalidDomain) || !strings.Contains(inv.Message, tc.wantMsg) {
				t.Errorf("Add(%q) = %v; want an InvalidInputError containing %q", tc.in, err, tc.wantMsg)
			}
		}
		list, err := e.svc.List(t.Context(), "a")
		if err != nil || len(list) != 0 {
			t.Fatalf("invalid names stored: %+v, %v", list, err)
		}
		if evs := e.events(t, "a"); len(evs) != 0 {
			t.Fatalf("invalid names audited: %+v", evs)
		}
		// The longest legal name is accepted.
		longest := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61) // 253
		if _, err := e.svc.Add(adminCtx(t, "a"), "a", longest); err != nil {
			t.Fatalf("Add(253 characters): %v", err)
		}
	})
}

func TestVerify(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		e.org(t, "a")
		ctx := adminCtx(t, "a")

		t.Run("Success", func(t *testing.T) {
			d := e.add(t, "a", "ok.example")
			e.dns.Add("ok.example", "v=spf1 include:spf.protection.outlook.com -all")
			e.dns.Add("ok.example", "  "+e.svc.TXTRecord(d)+" ") // stray spaces are forgiven
			e.clk.Advance(time.Minute)
			got, err := e.svc.Verify(ctx, "a", d.ID)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.VerifiedAt.Equal(e.clk.Now()) || !got.LastCheckedAt.Equal(e.clk.Now()) || got.LastError != "" {
				t.Fatalf("verified domain = %+v", got)
			}
			wantEvent(t, e.lastEvent(t, "a"), "domain.verify", "success", "", d)
			org, ok, err := e.svc.ManagedBy(t.Context(), "Bob.Smith@OK.Example")
			if err != nil || !ok || org != "a" {
				t.Fatalf("ManagedBy(bob@ok.example) = %q, %v, %v", org, ok, err)
			}
			for _, email := range []string{"bob@eu.ok.example", "bob@other.example", "no-at-sign", "bob@", "bob@ok.example.evil"} {
				if org, ok, err := e.svc.ManagedBy(t.Context(), email); err != nil || ok {
					t.Fatalf("ManagedBy(%q) = %q, %v, %v; want not managed", email, org, ok, err)
				}
			}
			// Verifying again is a no-op: no lookup, no event, same time.
			q, n := e.dns.Queries(), len(e.events(t, "a"))
			e.clk.Advance(time.Minute)
			again, err := e.svc.Verify(ctx, "a", d.ID)
			if err != nil || again != got || e.dns.Queries() != q || len(e.events(t, "a")) != n {
				t.Fatalf("second Verify = %+v, %v (queries %d→%d)", again, err, q, e.dns.Queries())
			}
		})

		t.Run("WrongToken", func(t *testing.T) {
			d := e.add(t, "a", "wrong.example")
			e.dns.Add("wrong.example", "gatehouse-verification=not-this-one")
			got, err := e.svc.Verify(ctx, "a", d.ID)
			wantErrIs(t, "Verify", err, domain.ErrNotVerified)
			want := "The gatehouse-verification TXT record at wrong.example does not match this organization's. Publish exactly " +
				e.svc.TXTRecord(d) + ". DNS changes can take a while to appear."
			if err.Error() != want || got.LastError != want || !got.VerifiedAt.IsZero() || !got.LastCheckedAt.Equal(e.clk.Now()) {
				t.Fatalf("Verify = %+v, %q; want LastError and error %q", got, err, want)
			}
			wantEvent(t, e.lastEvent(t, "a"), "domain.verify", "failure", "txt_mismatch", d)
		})

		t.Run("MissingRecordThenAdded", func(t *testing.T) {
			d := e.add(t, "a", "later.example")
			e.dns.Add("later.example", "google-site-verification=abc")
			got, err := e.svc.Verify(ctx, "a", d.ID)
			wantErrIs(t, "Verify before publishing", err, domain.ErrNotVerified)
			want := "No TXT record " + e.svc.TXTRecord(d) + " found at later.example. DNS changes can take a while to appear."
			if err.Error() != want || got.LastError != want {
				t.Fatalf("Verify = %+v, %q; want %q", got, err, want)
			}
			wantEvent(t, e.lastEvent(t, "a"), "domain.verify", "failure", "txt_not_found", d)
			stored, _ := e.svc.Get(t.Context(), "a", d.ID)
			if stored.LastError != want {
				t.Fatalf("stored LastError = %q", stored.LastError)
			}

			e.dns.Add("later.example", e.svc.TXTRecord(d))
			e.clk.Advance(time.Hour)
			got, err = e.svc.Verify(ctx, "a", d.ID)
			if err != nil || got.VerifiedAt.IsZero() || got.LastError != "" {
				t.Fatalf("Verify after publishing = %+v, %v", got, err)
			}
		})

		t.Run("NoSuchName", func(t *testing.T) {
			d := e.add(t, "a", "nxdomain.example")
			_, err := e.svc.Verify(ctx, "a", d.ID)
			wantErrIs(t, "Verify", err, domain.ErrNotVerified)
			if !strings.HasPrefix(err.Error(), "No TXT record gatehouse-verification=") {
				t.Fatalf("error = %q", err)
			}
		})

		t.Run("LongRecordsInChunksOverTCP", func(t *testing.T) {
			d := e.add(t, "a", "long.example")
			// Our value split mid-way, as some DNS consoles store it, among
			// long records split into 255-byte strings: together more than
			// a UDP answer holds, so the resolver must retry over TCP.
			want := e.svc.TXTRecord(d)
			records := [][]string{{want[:10], want[10:]}}
			for i := range 4 {
				records = append(records, devdns.SplitTXT(fmt.Sprintf("v=DKIM1; k=rsa; p=%d", i)+strings.Repeat("M", 600)))
			}
			e.dns.SetRecords("long.example", records...)
			tcp := e.dns.TCPQueries()
			if _, err := e.svc.Verify(ctx, "a", d.ID); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if e.dns.TCPQueries() == tcp {
				t.Fatal("the answer did not need TCP; make the records longer")
			}
		})

		t.Run("DNSFailure", func(t *testing.T) {
			d := e.add(t, "a", "broken.example")
			e.dns.SetServfail("broken.example", true)
			got, err := e.svc.Verify(ctx, "a", d.ID)
			wantErrIs(t, "Verify", err, domain.ErrNotVerified)
			want := "Could not look up the TXT records of broken.example: the DNS server did not answer properly. Try again in a few minutes."
			if err.Error() != want || got.LastError != want {
				t.Fatalf("Verify = %+v, %q", got, err)
			}
			wantEvent(t, e.lastEvent(t, "a"), "domain.verify", "failure", "dns_error", d)
		})
	})
}

func TestSecondOrgToVerifyIsRefused(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		e.org(t, "a")
		e.org(t, "b")
		da := e.add(t, "a", "corp.example")
		db := e.add(t, "b", "corp.example")
		// Both publish their records; a verifies first.
		e.dns.Add("corp.example", e.svc.TXTRecord(da))
		e.dns.Add("corp.example", e.svc.TXTRecord(db))
		if _, err := e.svc.Verify(adminCtx(t, "a"), "a", da.ID); err != nil {
			t.Fatalf("a verifies: %v", err)
		}
		got, err := e.svc.Verify(adminCtx(t, "b"), "b", db.ID)
		wantErrIs(t, "b verifies", err, domain.ErrTakenByOtherOrg)
		const want = "corp.example is already verified by another organization."
		if err.Error() != want || got.LastError != want || !got.VerifiedAt.IsZero() {
			t.Fatalf("b's Verify = %+v, %q; want %q", got, err, want)
		}
		wantEvent(t, e.lastEvent(t, "b"), "domain.verify", "failure", "taken_by_other_org", db)
		if org, ok, _ := e.svc.ManagedBy(t.Context(), "bob@corp.example"); !ok || org != "a" {
			t.Fatalf("ManagedBy = %q, %v; want a", org, ok)
		}

		// When a lets go, b's waiting claim verifies.
		if err := e.svc.Remove(adminCtx(t, "a"), "a", da.ID); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		wantEvent(t, e.lastEvent(t, "a"), "domain.remove", "success", "", da)
		if _, ok, _ := e.svc.ManagedBy(t.Context(), "bob@corp.example"); ok {
			t.Fatal("still managed after Remove")
		}
		if _, err := e.svc.Verify(adminCtx(t, "b"), "b", db.ID); err != nil {
			t.Fatalf("b verifies after a removed: %v", err)
		}
		if org, ok, _ := e.svc.ManagedBy(t.Context(), "bob@corp.example"); !ok || org != "b" {
			t.Fatalf("ManagedBy = %q, %v; want b", org, ok)
		}
	})
}

func TestConcurrentVerifyOneWinner(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		const n = 6
		ds := make([]storage.Domain, n)
		for i := range n {
			org := fmt.Sprintf("org%d", i)
			e.org(t, org)
			ds[i] = e.add(t, org, "contested.example")
			e.dns.Add("contested.example", e.svc.TXTRecord(ds[i]))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = e.svc.Verify(adminCtx(t, ds[i].OrgID), ds[i].OrgID, ds[i].ID)
			})
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner == "":
				winner = ds[i].OrgID
			case err == nil:
				t.Fatalf("both %s and %s verified contested.example", winner, ds[i].OrgID)
			case !errors.Is(err, domain.ErrTakenByOtherOrg):
				t.Fatalf("%s: got %v, want ErrTakenByOtherOrg", ds[i].OrgID, err)
			}
		}
		if winner == "" {
			t.Fatal("nobody verified contested.example")
		}
		if org, ok, err := e.svc.ManagedBy(t.Context(), "x@contested.example"); err != nil || !ok || org != winner {
			t.Fatalf("ManagedBy = %q, %v, %v; want %s", org, ok, err, winner)
		}
		for _, d := range ds {
			ev := e.lastEvent(t, d.OrgID)
			if (d.OrgID == winner) != (ev.Outcome == "success") {
				t.Fatalf("%s's last event = %s %s", d.OrgID, ev.Action, ev.Outcome)
			}
		}
	})
}

func TestOrgIsolation(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		e.org(t, "a")
		e.org(t, "b")
		da := e.add(t, "a", "a-corp.example")
		e.dns.Add("a-corp.example", e.svc.TXTRecord(da))
		before := len(e.events(t, "a"))
		bctx := adminCtx(t, "b")

		// b knows a's domain ID (say, from a leaked URL): every call says not found.
		_, err := e.svc.Verify(bctx, "b", da.ID)
		wantErrIs(t, "b verifies a's domain", err, domain.ErrNotFound)
		wantErrIs(t, "b removes a's domain", e.svc.Remove(bctx, "b", da.ID), domain.ErrNotFound)
		_, err = e.svc.Get(t.Context(), "b", da.ID)
		wantErrIs(t, "b reads a's domain", err, domain.ErrNotFound)
		if list, _ := e.svc.List(t.Context(), "b"); len(list) != 0 {
			t.Fatalf("b lists %+v", list)
		}
		got, err := e.svc.Get(t.Context(), "a", da.ID)
		if err != nil || got != da {
			t.Fatalf("a's domain after b's attempts = %+v, %v", got, err)
		}
		if n := len(e.events(t, "a")); n != before {
			t.Fatalf("b's attempts wrote %d events into a's log", n-before)
		}
		if evs := e.events(t, "b"); len(evs) != 0 {
			t.Fatalf("b's refused attempts audited as changes: %+v", evs)
		}
		_, err = e.svc.Verify(adminCtx(t, "a"), "a", "no-such-id")
		wantErrIs(t, "Verify(unknown ID)", err, domain.ErrNotFound)
		if err.Error() != "Domain not found." {
			t.Fatalf("not-found text = %q", err)
		}
	})
}
