package emergency_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want %v", what, err, target)
	}
}

func TestStartExtendEnd(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := e.as(e.owner)
		member := e.account("grace@acme.example", storage.RoleMember, storage.OriginAdmin)

		_, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "  "})
		wantErr(t, "no reason", err, emergency.ErrReasonRequired)
		_, err = e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "IdP down", For: 73 * time.Hour})
		wantErr(t, "over the maximum", err, emergency.ErrDuration)
		_, err = e.svc.Start(e.as(member), e.org.ID, emergency.StartInput{Reason: "IdP down"})
		wantErr(t, "member", err, authz.ErrForbidden)
		_, err = e.svc.Start(e.token(storage.TokenScopeRead), e.org.ID, emergency.StartInput{Reason: "IdP down"})
		wantErr(t, "read token", err, authz.ErrForbidden)
		if len(e.events("emergency.*")) != 0 {
			t.Fatal("a refused start left an audit event")
		}

		now := e.clk.Now()
		em, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "Entra ID outage"})
		must(t, err)
		if !em.EndsAt.Equal(now.Add(4*time.Hour)) || em.Scoped || em.StartedByEmail != e.owner.Email {
			t.Fatalf("started %+v", em)
		}
		got, ok, err := e.svc.ActiveFor(context.Background(), e.org.ID, e.pol.ID, now)
		if err != nil || !ok || got.ID != em.ID || got.Reason != "Entra ID outage" {
			t.Fatalf("ActiveFor = %+v, %v, %v", got, ok, err)
		}
		if ev := e.lastEvent("emergency.start"); ev.ActorID != e.owner.ID || ev.Reason != "Entra ID outage" || ev.Details["scope"] != "whole organization" {
			t.Fatalf("start event %+v", ev)
		}
		to := mailsTo(e.mails(), "Emergency sign-in started in Acme")
		slices.Sort(to)
		if !slices.Equal(to, []string{"admin@acme.example", "owner@acme.example"}) {
			t.Fatalf("start mailed to %v", to)
		}

		_, err = e.svc.Start(e.as(e.admin), e.org.ID, emergency.StartInput{Reason: "again"})
		wantErr(t, "second emergency", err, emergency.ErrActive)

		// Extending: admins may; the end stays within 72 hours of the start.
		_, err = e.svc.Extend(e.as(member), e.org.ID, em.ID, emergency.ExtendInput{For: 2 * time.Hour})
		wantErr(t, "member extends", err, authz.ErrForbidden)
		ext, err := e.svc.Extend(e.as(e.admin), e.org.ID, em.ID, emergency.ExtendInput{For: 2 * time.Hour})
		must(t, err)
		if !ext.EndsAt.Equal(now.Add(6 * time.Hour)) {
			t.Fatalf("extended to %v", ext.EndsAt)
		}
		_, err = e.svc.Extend(ctx, e.org.ID, em.ID, emergency.ExtendInput{Until: now.Add(73 * time.Hour)})
		wantErr(t, "extend past the maximum", err, emergency.ErrDuration)
		if ev := e.lastEvent("emergency.extend"); ev.ActorID != e.admin.ID || ev.Details["ends_at"] != now.Add(6*time.Hour).Format(time.RFC3339) {
			t.Fatalf("extend event %+v", ev)
		}

		_, err = e.svc.End(e.token(storage.TokenScopeRead), e.org.ID, em.ID, emergency.EndInput{})
		wantErr(t, "read token ends", err, authz.ErrForbidden)
		e.mails()
		res, err := e.svc.End(e.token(storage.TokenScopeAdmin), e.org.ID, em.ID, emergency.EndInput{})
		must(t, err)
		if res.Emergency.EndReason != storage.EmergencyEnded || res.Emergency.EndedByType != "api_token" {
			t.Fatalf("ended %+v", res.Emergency)
		}
		if _, ok, _ := e.svc.ActiveFor(context.Background(), e.org.ID, e.pol.ID, e.clk.Now()); ok {
			t.Fatal("still in force after End")
		}
		if len(mailsTo(e.mails(), "Emergency sign-in ended in Acme")) != 2 {
			t.Fatal("end not mailed to both admins")
		}
		_, err = e.svc.End(ctx, e.org.ID, em.ID, emergency.EndInput{})
		wantErr(t, "end twice", err, emergency.ErrNotActive)
		_, err = e.svc.Extend(ctx, e.org.ID, em.ID, emergency.ExtendInput{For: time.Hour})
		wantErr(t, "extend an ended one", err, emergency.ErrNotActive)
		_, err = e.svc.End(ctx, e.org.ID, "nope", emergency.EndInput{})
		wantErr(t, "unknown", err, emergency.ErrNotFound)

		// After the end another may start, and the history lists both.
		_, err = e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "again", For: time.Hour})
		must(t, err)
		hist, err := e.svc.History(e.token(storage.TokenScopeRead), e.org.ID)
		if err != nil || len(hist) != 2 {
			t.Fatalf("History = %d, %v", len(hist), err)
		}
	})
}

func TestScope(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := e.as(e.owner)
		now := e.clk.Now()
		eng := storage.Policy{ID: "pol-eng", OrgID: e.org.ID, Name: "Engineers", SSO: storage.SSOEnforced,
			ConnectionID: e.conn.ID, CreatedAt: now, UpdatedAt: now, Version: 1}
		must(t, st.CreatePolicy(context.Background(), eng))

		_, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "x", Policies: []string{"Nobody"}})
		wantErr(t, "unknown policy", err, emergency.ErrUnknownPolicy)
		em, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "Engineers' IdP app broken", Policies: []string{"Engineers"}})
		must(t, err)
		if !em.Scoped || !slices.Equal(em.PolicyIDs, []string{"pol-eng"}) {
			t.Fatalf("scope %+v", em)
		}
		if _, ok, _ := e.svc.ActiveFor(context.Background(), e.org.ID, "pol-eng", now); !ok {
			t.Fatal("not in force for the policy in scope")
		}
		if _, ok, _ := e.svc.ActiveFor(context.Background(), e.org.ID, e.pol.ID, now); ok {
			t.Fatal("in force for a policy out of scope")
		}
		if ok, _ := e.svc.ActiveInOrg(context.Background(), e.org.ID, now); !ok {
			t.Fatal("ActiveInOrg false")
		}
		if ev := e.lastEvent("emergency.start"); ev.Details["scope"] != "Engineers" {
			t.Fatalf("scope in the event: %+v", ev.Details)
		}
	})
}

// The end of an emergency: passwords set during it (through the reset
// mail) are cleared, and with "sign out" its sessions end on every node.
func TestEndEffects(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := e.as(e.owner)
		bg := context.Background()
		grace := e.account("grace@acme.example", storage.RoleMember, storage.OriginAdmin) // never had a password
		e.verifyDomain("acme.example")

		// Outside an emergency a password set under enforced SSO is "enforced".
		must(t, e.acct.RequestReset(bg, grace.Email, "192.0.2.1"))
		_, err := e.acct.CompleteReset(bg, resetToken(t, e.mails(), grace.Email), "correct horse battery staple")
		must(t, err)
		a, _ := st.GetAccount(bg, grace.ID)
		if a.PasswordOrigin != storage.PasswordEnforced {
			t.Fatalf("origin outside an emergency = %q", a.PasswordOrigin)
		}

		em, err := e.svc.Start(ctx, e.org.ID, emergency.StartInput{Reason: "IdP down"})
		must(t, err)
		e.mails()
		must(t, e.acct.RequestReset(bg, grace.Email, "192.0.2.1"))
		_, err = e.acct.CompleteReset(bg, resetToken(t, e.mails(), grace.Email), "another horse battery staple")
		must(t, err)
		a, _ = st.GetAccount(bg, grace.ID)
		if a.PasswordOrigin != storage.PasswordEmergency || a.PasswordEmergencyID != em.ID || a.PasswordHash == "" {
			t.Fatalf("password set during the emergency: origin %q id %q", a.PasswordOrigin, a.PasswordEmergencyID)
		}
		s1 := e.session(grace, em.ID)
		ordinary := e.session(e.admin, "")

		signIns, err := e.svc.SignIns(ctx, e.org.ID, em.ID)
		if err != nil || len(signIns) != 1 || signIns[0].Email != grace.Email {
			t.Fatalf("SignIns = %+v, %v", signIns, err)
		}

		e.clk.Advance(time.Hour)
		since := e.clk.Now()
		res, err := e.svc.End(ctx, e.org.ID, em.ID, emergency.EndInput{SignOutSessions: true})
		must(t, err)
		if res.PasswordsCleared != 1 || res.SessionsRevoked != 1 {
			t.Fatalf("EndResult %+v", res)
		}
		a, _ = st.GetAccount(bg, grace.ID)
		if a.PasswordHash != "" || a.PasswordOrigin != "" {
			t.Fatalf("password survived the emergency: %+v", a)
		}
		if x, _ := st.GetSession(bg, s1.ID); x.RevokedAt.IsZero() || x.RevokeReason != "emergency_end" {
			t.Fatalf("emergency session %+v", x)
		}
		if x, _ := st.GetSession(bg, ordinary.ID); !x.RevokedAt.IsZero() {
			t.Fatal("an ordinary session was revoked")
		}
		invs, err := st.InvalidationsSince(bg, since)
		must(t, err)
		if !slices.ContainsFunc(invs, func(i storage.Invalidation) bool { return i.Kind == "session" && i.Key == s1.ID }) {
			t.Fatalf("no invalidation for the revoked session: %+v", invs)
		}
		ev := e.lastEvent("emergency.end")
		if ev.Details["passwords_cleared"] != "1" || ev.Details["sessions_revoked"] != "1" || ev.Details["signed_out"] != "true" {
			t.Fatalf("end event %+v", ev.Details)
		}
		text := e.mails()
		if len(text) == 0 || !containsText(text, "Passwords set during it, which no longer work: 1") {
			t.Fatalf("end mail %+v", text)
		}
	})
}

func containsText(ms []mailMsg, s string) bool {
	for _, m := range ms {
		if contains(m.Text, s) {
			return true
		}
	}
	return false
}

// An emergency that runs out is ended once, by whichever node sweeps
// first; its passwords are cleared and its sessions run on.
func TestExpiry(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		em, err := e.svc.Start(e.as(e.admin), e.org.ID, emergency.StartInput{Reason: "IdP down", For: time.Hour})
		must(t, err)
		grace := e.account("grace@acme.example", storage.RoleMember, storage.OriginAdmin)
		e.verifyDomain("acme.example")
		must(t, e.acct.RequestReset(bg, grace.Email, "192.0.2.1"))
		_, err = e.acct.CompleteReset(bg, resetToken(t, e.mails(), grace.Email), "correct horse battery staple")
		must(t, err)
		s1 := e.session(grace, em.ID)

		if n, err := e.svc.Sweep(bg); err != nil || n != 0 {
			t.Fatalf("sweep before the end = %d, %v", n, err)
		}
		e.clk.Advance(61 * time.Minute)
		if _, ok, _ := e.svc.ActiveFor(bg, e.org.ID, e.pol.ID, e.clk.Now()); ok {
			t.Fatal("in force past its end")
		}
		other := newEnvSameStore(t, e) // a second node
		errs := make(chan error, 2)
		counts := make(chan int, 2)
		for _, svc := range []*emergency.Service{e.svc, other} {
			go func() {
				n, err := svc.Sweep(bg)
				counts <- n
				errs <- err
			}()
		}
		total := 0
		for range 2 {
			must(t, <-errs)
			total += <-counts
		}
		if total != 1 || len(e.events("emergency.expired")) != 1 {
			t.Fatalf("swept %d, %d expired events", total, len(e.events("emergency.expired")))
		}
		got, _ := st.GetEmergency(bg, e.org.ID, em.ID)
		if got.EndReason != storage.EmergencyExpired || !got.EndedAt.Equal(em.EndsAt) || got.EndedByType != "system" {
			t.Fatalf("expired emergency %+v", got)
		}
		if a, _ := st.GetAccount(bg, grace.ID); a.PasswordHash != "" {
			t.Fatal("password set during an expired emergency still there")
		}
		if x, _ := st.GetSession(bg, s1.ID); !x.RevokedAt.IsZero() {
			t.Fatal("expiry revoked a session nobody chose to end")
		}
		if len(mailsTo(e.mails(), "Emergency sign-in ended in Acme")) != 2 {
			t.Fatal("expiry not mailed to the admins")
		}
		// Sessions can still be signed out afterwards.
		n, err := e.svc.SignOut(e.as(e.owner), e.org.ID, em.ID)
		if err != nil || n != 1 {
			t.Fatalf("SignOut = %d, %v", n, err)
		}
	})
}

func TestAutomaticFailback(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		incident := e.clk.Now()
		ok, err := e.svc.StartAutomatic(bg, e.org.ID, e.pol.ID, "incident-1", incident, e.clk.Now().Add(time.Hour))
		if err != nil || ok {
			t.Fatalf("policy not opted in: %v, %v", ok, err)
		}
		_, err = st.UpdatePolicy(bg, e.org.ID, e.pol.ID, func(p *storage.Policy) error { p.AutoFailbackAfter = 10 * time.Minute; return nil })
		must(t, err)
		e.clk.Advance(5 * time.Minute)
		if ok, _ := e.svc.StartAutomatic(bg, e.org.ID, e.pol.ID, "incident-1", incident, e.clk.Now()); ok {
			t.Fatal("started before the threshold")
		}
		e.clk.Advance(6 * time.Minute)
		ok, err = e.svc.StartAutomatic(bg, e.org.ID, e.pol.ID, "incident-1", incident, e.clk.Now())
		if err != nil || !ok {
			t.Fatalf("StartAutomatic = %v, %v", ok, err)
		}
		act, found, _ := e.svc.ActiveFor(bg, e.org.ID, e.pol.ID, e.clk.Now())
		if !found || act.Reason != "automatic: incident-1" {
			t.Fatalf("automatic emergency %+v", act)
		}
		if ev := e.lastEvent("emergency.start"); ev.ActorType != "system" || ev.Details["cause"] != "incident-1" {
			t.Fatalf("start event %+v", ev)
		}
		if len(mailsTo(e.mails(), "Emergency sign-in started")) != 2 {
			t.Fatal("automatic start not mailed")
		}
		// Another incident's end does not end it.
		if ok, _ := e.svc.EndAutomatic(bg, e.org.ID, "incident-2", e.clk.Now()); ok {
			t.Fatal("another cause ended it")
		}
		e.clk.Advance(30 * time.Minute)
		over := e.clk.Now()
		ok, err = e.svc.EndAutomatic(bg, e.org.ID, "incident-1", over)
		if err != nil || !ok {
			t.Fatalf("EndAutomatic = %v, %v", ok, err)
		}
		e.clk.Advance(14 * time.Minute)
		if n, _ := e.svc.Sweep(bg); n != 0 {
			t.Fatal("ended within the grace period")
		}
		e.clk.Advance(2 * time.Minute)
		if n, _ := e.svc.Sweep(bg); n != 1 {
			t.Fatal("not ended after the grace period")
		}
		if len(mailsTo(e.mails(), "Emergency sign-in ended")) != 2 {
			t.Fatal("automatic end not mailed")
		}
	})
}

// A person's emergency is not ended by automatic failback.
func TestAutomaticLeavesManualAlone(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		em, err := e.svc.Start(e.as(e.owner), e.org.ID, emergency.StartInput{Reason: "IdP down"})
		must(t, err)
		if ok, _ := e.svc.EndAutomatic(bg, e.org.ID, "incident-1", e.clk.Now().Add(-time.Hour)); ok {
			t.Fatal("EndAutomatic touched a manual emergency")
		}
		got, _ := st.GetEmergency(bg, e.org.ID, em.ID)
		if !got.EndsAt.Equal(em.EndsAt) {
			t.Fatal("manual emergency's end moved")
		}
	})
}

// Incidents are per connection: every opted-in policy through it is covered.
func TestAutomaticForConnection(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		now := e.clk.Now()
		eng := storage.Policy{ID: "pol-eng", OrgID: e.org.ID, Name: "Engineers", SSO: storage.SSOEnforced, ConnectionID: e.conn.ID,
			AutoFailbackAfter: 5 * time.Minute, CreatedAt: now, UpdatedAt: now, Version: 1}
		must(t, st.CreatePolicy(bg, eng))
		ok, err := e.svc.StartAutomaticForConnection(bg, e.org.ID, e.conn.ID, "incident-9", now, now.Add(6*time.Minute))
		if err != nil || !ok {
			t.Fatalf("StartAutomaticForConnection = %v, %v", ok, err)
		}
		e.clk.Advance(6 * time.Minute)
		if _, in, _ := e.svc.ActiveFor(bg, e.org.ID, "pol-eng", e.clk.Now()); !in {
			t.Fatal("the opted-in policy is not covered")
		}
		if _, in, _ := e.svc.ActiveFor(bg, e.org.ID, e.pol.ID, e.clk.Now()); in {
			t.Fatal("a policy that did not opt in is covered")
		}
	})
}

// SSO health's incidents drive automatic failback through Incidents: an
// incident younger than the policy's threshold starts nothing, one that
// has lasted it starts emergency mode with a reason naming the connection,
// and closing the incident lets the emergency end after the grace period.
func TestIncidentsDriveAutomaticFailback(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		now := e.clk.Now()
		eng := storage.Policy{ID: "pol-eng", OrgID: e.org.ID, Name: "Engineers", SSO: storage.SSOEnforced, ConnectionID: e.conn.ID,
			AutoFailbackAfter: 10 * time.Minute, CreatedAt: now, UpdatedAt: now, Version: 1}
		must(t, st.CreatePolicy(bg, eng))
		l := emergency.Incidents{S: e.svc}
		inc := storage.SSOIncident{ID: "incident-0123456789", OrgID: e.org.ID, ConnectionID: e.conn.ID, Cause: "unreachable", StartedAt: now}

		l.IncidentOpened(bg, inc)
		e.clk.Advance(5 * time.Minute)
		l.IncidentOngoing(bg, inc, e.clk.Now())
		if _, in, _ := e.svc.ActiveFor(bg, e.org.ID, eng.ID, e.clk.Now()); in {
			t.Fatal("emergency mode started before the policy's threshold")
		}
		e.clk.Advance(6 * time.Minute)
		l.IncidentOngoing(bg, inc, e.clk.Now())
		active, in, err := e.svc.ActiveFor(bg, e.org.ID, eng.ID, e.clk.Now())
		if err != nil || !in {
			t.Fatalf("no emergency after the threshold: %v", err)
		}
		if !contains(active.Reason, "automatic") || !contains(active.Reason, "IdP unreachable") {
			t.Errorf("reason %q does not say it is automatic and why", active.Reason)
		}
		l.IncidentOngoing(bg, inc, e.clk.Now()) // every node, every evaluation: still one emergency
		if got := len(e.events("emergency.start")); got != 1 {
			t.Fatalf("%d emergency.start events, want 1", got)
		}

		inc.EndedAt = e.clk.Now()
		l.IncidentClosed(bg, inc)
		grace := e.svc.Config().AutoEndGrace
		e.clk.Advance(grace - time.Minute)
		if _, in, _ := e.svc.ActiveFor(bg, e.org.ID, eng.ID, e.clk.Now()); !in {
			t.Fatal("the emergency ended before the grace period")
		}
		e.clk.Advance(2 * time.Minute)
		if _, err := e.svc.Sweep(bg); err != nil {
			t.Fatal(err)
		}
		if _, in, _ := e.svc.ActiveFor(bg, e.org.ID, eng.ID, e.clk.Now()); in {
			t.Fatal("the emergency outlived the incident's grace period")
		}
	})
}

// An account whose address is in a domain its organization has not
// verified is never routed to SSO, so a password set for it is an ordinary
// one, even under an enforced policy and during an emergency: otherwise an
// admin adding such a person with a password would give them one that
// never signs in.
func TestPasswordOriginOutsideVerifiedDomains(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		outside := e.account("contractor@elsewhere.example", storage.RoleMember, storage.OriginAdmin)
		inside := e.account("staff@acme.example", storage.RoleMember, storage.OriginAdmin)
		e.verifyDomain("acme.example")
		for _, during := range []bool{false, true} {
			if during {
				_, err := e.svc.Start(e.as(e.owner), e.org.ID, emergency.StartInput{Reason: "IdP down"})
				must(t, err)
			}
			var origins [2]string
			err := st.InTx(bg, func(tx storage.Store) error {
				var err error
				if origins[0], _, err = e.svc.PasswordOrigin(bg, tx, outside, e.clk.Now()); err != nil {
					return err
				}
				origins[1], _, err = e.svc.PasswordOrigin(bg, tx, inside, e.clk.Now())
				return err
			})
			must(t, err)
			want := storage.PasswordEnforced
			if during {
				want = storage.PasswordEmergency
			}
			if origins[0] != storage.PasswordOpen || origins[1] != want {
				t.Errorf("emergency %v: origins %q (unverified domain), %q (verified); want open, %s", during, origins[0], origins[1], want)
			}
		}
	})
}

// The readiness report places each person under the policy sign-in would
// apply, IdP groups included: someone covered by a named policy through a
// group is counted there, not under the default.
func TestReadinessFollowsIdPGroups(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		bg := context.Background()
		now := e.clk.Now()
		eng := storage.Policy{ID: "pol-eng", OrgID: e.org.ID, Name: "Engineers", SSO: storage.SSOEnforced, ConnectionID: e.conn.ID,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		must(t, st.CreatePolicy(bg, eng))
		must(t, st.AddPolicyGroup(bg, e.org.ID, eng.ID, "eng"))
		dev := e.jit("dev@acme.example", now.Add(-24*time.Hour))
		must(t, st.SetAccountGroups(bg, dev.ID, []string{"eng"}))
		report, err := e.svc.Readiness(e.as(e.owner), e.org.ID)
		must(t, err)
		where := map[string]string{}
		for _, r := range report {
			for _, p := range append(r.Eligible, r.Ineligible...) {
				where[p.Account.Email] = r.Policy.Name
			}
		}
		if where[dev.Email] != "Engineers" {
			t.Fatalf("a member of the eng group is reported under %q, want Engineers", where[dev.Email])
		}
	})
}
