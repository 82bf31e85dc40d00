package health_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/health"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type fixture struct {
	st     storage.Store
	svc    *health.Service
	outbox string
	conn   storage.IdPConnection
	lis    *recorder
}

// recorder is a real IncidentListener that remembers what it heard.
type recorder struct {
	mu                      sync.Mutex
	opened, ongoing, closed int
}

func (r *recorder) IncidentOpened(context.Context, storage.SSOIncident) {
	r.mu.Lock()
	r.opened++
	r.mu.Unlock()
}
func (r *recorder) IncidentOngoing(context.Context, storage.SSOIncident, time.Time) {
	r.mu.Lock()
	r.ongoing++
	r.mu.Unlock()
}
func (r *recorder) IncidentClosed(context.Context, storage.SSOIncident) {
	r.mu.Lock()
	r.closed++
	r.mu.Unlock()
}

func setup(t *testing.T, st storage.Store, cfg health.Config, certs ...string) *fixture {
	t.Helper()
	ctx := t.Context()
	must(t, st.CreateOrganization(ctx, storage.Organization{ID: "o1", Slug: "acme", Name: "Acme", CreatedAt: t0}))
	must(t, st.CreateAccount(ctx, storage.Account{ID: "a1", OrgID: "o1", Email: "boss@acme.example", DisplayName: "Bo Boss",
		Role: storage.RoleOwner, Status: storage.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}))
	conn := storage.IdPConnection{ID: "c1", OrgID: "o1", Slug: "okta", Name: "Acme Okta", EntityID: "https://idp.example/",
		SSOURL: "https://idp.example/sso", SigningCertsPEM: certs, AttributeMap: map[string]string{},
		CreatedAt: t0, UpdatedAt: t0, Version: 1}
	must(t, st.CreateIdPConnection(ctx, conn))
	dir := t.TempDir()
	n := notify.New(st, &mail.Outbox{Dir: dir}, nil)
	// Each reading of the clock is a millisecond later, so checks made
	// one after another are ordered.
	var mu sync.Mutex
	tick := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Millisecond)
		return tick
	}
	svc := health.New(st, n, nil, cfg, nil, clock)
	lis := &recorder{}
	svc.SetListener(lis)
	return &fixture{st: st, svc: svc, outbox: dir, conn: conn, lis: lis}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) mails(t *testing.T) []mail.Message {
	t.Helper()
	msgs, err := mail.ReadOutbox(f.outbox)
	must(t, err)
	return msgs
}

func (f *fixture) outcome(t *testing.T, kind string, at time.Time, n int) {
	t.Helper()
	must(t, f.st.RecordSSOOutcome(t.Context(), f.conn.ID, kind, at, n))
}

func TestFailureBurstOpensAndRecoveryClosesIncident(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := setup(t, st, health.Config{})
		ctx := t.Context()
		f.outcome(t, storage.OutcomeSucceeded, t0.Add(-5*time.Minute), 2)
		f.outcome(t, storage.OutcomeIdPError, t0.Add(-2*time.Minute), 3)
		f.outcome(t, storage.OutcomeInvalid, t0.Add(-time.Minute), 2)
		// Two nodes evaluating the same minute: one incident, one mail.
		must(t, f.svc.Evaluate(ctx, t0))
		must(t, f.svc.Evaluate(ctx, t0))
		inc, err := st.GetOpenSSOIncident(ctx, f.conn.ID)
		must(t, err)
		if inc.Cause != health.CauseFailureRatio || !strings.Contains(inc.Details, "5 of 7") {
			t.Fatalf("incident = %+v", inc)
		}
		msgs := f.mails(t)
		if len(msgs) != 1 || msgs[0].To != "boss@acme.example" || !strings.Contains(msgs[0].Subject, "Acme Okta") {
			t.Fatalf("mails after opening = %+v", msgs)
		}
		if f.lis.opened != 1 || f.lis.ongoing != 1 {
			t.Fatalf("listener opened=%d ongoing=%d, want 1 and 1", f.lis.opened, f.lis.ongoing)
		}
		need, reason, err := f.svc.NeedsFreshTest(ctx, f.conn.ID)
		must(t, err)
		if !need || !strings.Contains(reason, "incident") {
			t.Fatalf("NeedsFreshTest during the incident = %v %q", need, reason)
		}
		st2, err := f.svc.StatusBySlug(ctx, "acme", t0)
		must(t, err)
		if st2.Connections[0].State != health.StateDown {
			t.Fatalf("state = %s, want down", st2.Connections[0].State)
		}

		// Recovery: sign-ins succeed; the window still holds the burst for
		// a while, then the cause must stay clear for a whole window.
		for i := 1; i <= 30; i++ {
			now := t0.Add(time.Duration(i) * time.Minute)
			f.outcome(t, storage.OutcomeSucceeded, now, 1)
			must(t, f.svc.Evaluate(ctx, now))
			_, err := st.GetOpenSSOIncident(ctx, f.conn.ID)
			if i < 15 && err != nil {
				t.Fatalf("incident closed after %d minutes: %v", i, err)
			}
		}
		if _, err := st.GetOpenSSOIncident(ctx, f.conn.ID); err == nil {
			t.Fatal("incident still open after 30 clear minutes")
		}
		hist, err := st.ListSSOIncidents(ctx, "o1", t0.Add(-time.Hour))
		must(t, err)
		if len(hist) != 1 || hist[0].EndedAt.IsZero() {
			t.Fatalf("history = %+v", hist)
		}
		msgs = f.mails(t)
		if len(msgs) != 2 || !strings.Contains(msgs[1].Subject+msgs[0].Subject, "over") {
			t.Fatalf("mails after closing = %d", len(msgs))
		}
		if f.lis.closed != 1 {
			t.Fatalf("listener closed = %d", f.lis.closed)
		}
		ev, err := st.ListAudit(ctx, storage.AuditFilter{OrgID: "o1", Action: "sso.incident_*"})
		must(t, err)
		if len(ev) != 2 || ev[0].ActorType != "system" || ev[1].Action != "sso.incident_closed" {
			t.Fatalf("audit = %+v", ev)
		}
	})
}

func TestFewAttemptsDoNotOpenAnIncident(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := setup(t, st, health.Config{})
		f.outcome(t, storage.OutcomeIdPError, t0, 4) // below the minimum of 5
		must(t, f.svc.Evaluate(t.Context(), t0))
		if _, err := st.GetOpenSSOIncident(t.Context(), f.conn.ID); err == nil {
			t.Fatal("an incident opened on 4 attempts")
		}
		if len(f.mails(t)) != 0 {
			t.Fatal("admins mailed without an incident")
		}
	})
}

func TestAbandonedSignInsAreCountedOnce(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := setup(t, st, health.Config{})
		ctx := t.Context()
		for i, id := range []string{"r1", "r2", "r3", "r4", "r5", "r6"} {
			must(t, st.CreateAuthnRequest(ctx, storage.AuthnRequest{ID: id, ConnectionID: f.conn.ID, BrowserHash: "b",
				CreatedAt: t0.Add(-20 * time.Minute), ExpiresAt: t0.Add(time.Duration(i-6) * time.Minute)}))
		}
		_, err := st.UseAuthnRequest(ctx, "r6", t0.Add(-5*time.Minute)) // answered
		must(t, err)
		// r5's answer was refused: counted invalid, not abandoned as well.
		f.svc.SSOEnded(ctx, f.conn, "r5", "signature_invalid")
		must(t, f.svc.CountAbandoned(ctx, t0))
		must(t, f.svc.Evaluate(ctx, t0)) // counts again: nothing new
		sum, err := st.SumSSOOutcomes(ctx, f.conn.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
		must(t, err)
		if sum.Abandoned != 4 || sum.Invalid != 1 {
			t.Fatalf("abandoned = %d, invalid = %d, want 4 and 1", sum.Abandoned, sum.Invalid)
		}
		inc, err := st.GetOpenSSOIncident(ctx, f.conn.ID)
		must(t, err)
		if !strings.Contains(inc.Details, "4 abandoned") {
			t.Fatalf("incident details = %q", inc.Details)
		}
	})
}

func TestProbeOfAnIdPThatGoesDown(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusMethodNotAllowed) // an answer below 500: reachable
		}))
		f := setup(t, st, health.Config{ProbeInterval: time.Minute, HTTPClient: idp.Client()})
		ctx := t.Context()
		conn := f.conn
		conn.SSOURL = idp.URL + "/sso"
		c, err := f.svc.Probe(ctx, conn)
		must(t, err)
		if !c.OK || c.Detail != "HTTP 405" {
			t.Fatalf("probe of a live IdP = %+v", c)
		}
		idp.Close()
		for i := 0; i < 3; i++ {
			c, err = f.svc.Probe(ctx, conn)
			must(t, err)
			if c.OK {
				t.Fatalf("probe of a stopped IdP = %+v", c)
			}
		}
		must(t, f.svc.Evaluate(ctx, t0))
		inc, err := st.GetOpenSSOIncident(ctx, conn.ID)
		must(t, err)
		if inc.Cause != health.CauseUnreachable {
			t.Fatalf("cause = %q", inc.Cause)
		}
	})
}

func certExpiring(t *testing.T, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp signing"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestCertificateExpiryMailedOncePerThreshold(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		expiry := t0.Add(40 * 24 * time.Hour)
		f := setup(t, st, health.Config{}, certExpiring(t, expiry))
		ctx := t.Context()
		want := 0
		for day := 0; day < 42; day++ {
			now := t0.Add(time.Duration(day) * 24 * time.Hour)
			// Twice a day, as two nodes would.
			must(t, f.svc.CheckCertificates(ctx, now))
			must(t, f.svc.CheckCertificates(ctx, now.Add(time.Hour)))
			switch day {
			case 10, 33, 39:
				want++
			}
			if got := len(f.mails(t)); got != want {
				t.Fatalf("day %d: %d mails, want %d", day, got, want)
			}
		}
		msgs := f.mails(t)
		for i, days := range []string{"30 days", "7 days", "1 day"} {
			if !strings.Contains(msgs[i].Subject, days) {
				t.Errorf("mail %d subject %q, want %q", i, msgs[i].Subject, days)
			}
		}
	})
}

func TestNeedsFreshTestAfterAFailedSignIn(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := setup(t, st, health.Config{})
		ctx := t.Context()
		need, _, err := f.svc.NeedsFreshTest(ctx, f.conn.ID)
		must(t, err)
		if need {
			t.Fatal("a connection with no history needs a fresh test")
		}
		f.svc.SSOEnded(ctx, f.conn, "", "signature_invalid")
		need, reason, err := f.svc.NeedsFreshTest(ctx, f.conn.ID)
		must(t, err)
		if !need || !strings.Contains(reason, "failed") {
			t.Fatalf("after a failure: %v %q", need, reason)
		}
		_, err = st.UpdateIdPConnection(ctx, f.conn.ID, func(c *storage.IdPConnection) error {
			c.TestedAt = t0.Add(time.Minute)
			return nil
		})
		must(t, err)
		need, _, err = f.svc.NeedsFreshTest(ctx, f.conn.ID)
		must(t, err)
		if need {
			t.Fatal("a test sign-in after the failure did not satisfy it")
		}
		// A refusal about the person says nothing about the IdP.
		f.svc.SSOEnded(ctx, f.conn, "", "account_suspended")
		if last, _ := st.LastSSOOutcome(ctx, f.conn.ID); last.Kind != storage.OutcomeInvalid {
			t.Fatalf("last outcome = %q", last.Kind)
		}
	})
}

// Starts and successes are counted in the node's buffer, not written by
// the sign-in itself (every sign-in of a connection in a minute shares one
// row); Flush, which Evaluate and Run do, writes them. A failure is
// written at once.
func TestOutcomesBufferedUntilFlush(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		f := setup(t, st, health.Config{})
		ctx := t.Context()
		for range 3 {
			f.svc.SSOStarted(ctx, f.conn)
			f.svc.SSOEnded(ctx, f.conn, "", "")
		}
		f.svc.SSOEnded(ctx, f.conn, "", "signature_invalid")
		sum, err := st.SumSSOOutcomes(ctx, f.conn.ID, time.Time{}, time.Now().Add(24*time.Hour))
		must(t, err)
		if sum.Started != 0 || sum.Succeeded != 0 || sum.Invalid != 1 {
			t.Fatalf("before the flush: %+v, want only the failure written", sum)
		}
		f.svc.Flush(ctx)
		sum, err = st.SumSSOOutcomes(ctx, f.conn.ID, time.Time{}, time.Now().Add(24*time.Hour))
		must(t, err)
		if sum.Started != 3 || sum.Succeeded != 3 || sum.Invalid != 1 {
			t.Fatalf("after the flush: %+v, want 3 started, 3 succeeded, 1 invalid", sum)
		}
	})
}
