package account_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestLastOwner(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, ada := e.setup()

		_, err := e.svc.SetRole(e.ctx, org.ID, ada.ID, storage.RoleAdmin)
		wantErr(t, "demote the only owner", err, account.ErrLastOwner)
		_, err = e.svc.SetStatus(e.ctx, org.ID, ada.ID, storage.StatusSuspended)
		wantErr(t, "suspend the only owner", err, account.ErrLastOwner)

		// A suspended second owner does not count.
		bob := e.member(org, "bob@acme.example", "bob builds bridges", storage.RoleOwner)
		if _, err := e.svc.SetStatus(e.ctx, org.ID, bob.ID, storage.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SetRole(e.ctx, org.ID, ada.ID, storage.RoleMember)
		wantErr(t, "demote while the other owner is suspended", err, account.ErrLastOwner)

		if _, err := e.svc.SetStatus(e.ctx, org.ID, bob.ID, storage.StatusActive); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.SetRole(e.ctx, org.ID, ada.ID, storage.RoleAdmin)
		if err != nil || got.Role != storage.RoleAdmin {
			t.Fatalf("demote with another owner = %+v, %v", got, err)
		}
		_, err = e.svc.SetRole(e.ctx, org.ID, bob.ID, storage.RoleMember)
		wantErr(t, "demote the new only owner", err, account.ErrLastOwner)

		ev := e.lastEvent(org.ID, "account.role_change")
		if ev.TargetID != ada.ID || ev.Details["from"] != "owner" || ev.Details["to"] != "admin" {
			t.Fatalf("role_change event = %+v", ev)
		}
		if ev := e.lastEvent(org.ID, "account.reactivate"); ev.TargetID != bob.ID {
			t.Fatalf("reactivate event = %+v", ev)
		}
	})
}

func TestLastOwnerConcurrent(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, ada := e.setup()
		bob := e.member(org, "bob@acme.example", "bob builds bridges", storage.RoleOwner)
		// Two admins each demote one of the two owners at the same moment:
		// at most one may succeed. Repeated, since the race is narrow.
		for round := range 10 {
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, id := range []string{ada.ID, bob.ID} {
				wg.Go(func() {
					<-start
					_, errs[i] = e.svc.SetRole(e.ctx, org.ID, id, storage.RoleAdmin)
				})
			}
			close(start)
			wg.Wait()
			members, err := e.svc.ListMembers(e.ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			owners := 0
			for _, m := range members {
				if m.Role == storage.RoleOwner {
					owners++
				}
			}
			if owners != 1 {
				t.Fatalf("round %d: %d owners left after concurrent demotions (errors %v)", round, owners, errs)
			}
			for _, id := range []string{ada.ID, bob.ID} {
				if _, err := e.svc.SetRole(e.ctx, org.ID, id, storage.RoleOwner); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestCrossOrgIsolation(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		orgA, _ := e.setup()
		orgB, err := e.svc.CreateOrganization(e.ctx, "Globex", "")
		if err != nil {
			t.Fatal(err)
		}
		bMember := e.member(orgB, "hank@globex.example", "hank scorpio rules", storage.RoleMember)
		e.session(bMember)

		_, err = e.svc.GetMember(e.ctx, orgA.ID, bMember.ID)
		wantErr(t, "get by ID", err, account.ErrNotFound)
		_, err = e.svc.GetMember(e.ctx, orgA.ID, bMember.Email)
		wantErr(t, "get by email", err, account.ErrNotFound)
		_, err = e.svc.SetRole(e.ctx, orgA.ID, bMember.ID, storage.RoleAdmin)
		wantErr(t, "set role", err, account.ErrNotFound)
		_, err = e.svc.SetStatus(e.ctx, orgA.ID, bMember.ID, storage.StatusSuspended)
		wantErr(t, "suspend", err, account.ErrNotFound)
		_, err = e.svc.RevokeSessions(e.ctx, orgA.ID, bMember.ID)
		wantErr(t, "revoke sessions", err, account.ErrNotFound)

		members, err := e.svc.ListMembers(e.ctx, orgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.ID == bMember.ID {
				t.Fatal("org A lists org B's member")
			}
		}
		got, err := e.svc.GetMember(e.ctx, orgB.ID, bMember.ID)
		if err != nil || got.Role != storage.RoleMember || got.Status != storage.StatusActive {
			t.Fatalf("org B's member was changed: %+v, %v", got, err)
		}
		if e.liveSessions(bMember) != 1 {
			t.Fatal("org B's member lost a session")
		}

		// API tokens do not cross either.
		_, tok, err := e.svc.CreateAPIToken(e.ctx, orgB.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "revoke another org's token", e.svc.RevokeAPIToken(e.ctx, orgA.ID, tok.ID), account.ErrNotFound)
	})
}

func TestMembers(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()

		tests := []struct {
			name string
			in   account.MemberInput
			want string // "" ok, "!field" invalid input, "exists"
		}{
			{"plain member", account.MemberInput{Email: "Zoe@Acme.example", DisplayName: " Zoe "}, ""},
			{"admin with password", account.MemberInput{Email: "max@acme.example", Role: storage.RoleAdmin, Password: "max power max power"}, ""},
			{"duplicate email", account.MemberInput{Email: "zoe@acme.example"}, "exists"},
			{"the owner's email", account.MemberInput{Email: ownerEmail}, "exists"},
			{"bad role", account.MemberInput{Email: "x@acme.example", Role: "root"}, "!role"},
			{"bad email", account.MemberInput{Email: "x@@acme.example"}, "!email"},
			{"weak password", account.MemberInput{Email: "x@acme.example", Password: "password"}, "!password"},
			{"control characters in name", account.MemberInput{Email: "x@acme.example", DisplayName: "a\nb"}, "!display_name"},
			{"invalid UTF-8 name", account.MemberInput{Email: "x@acme.example", DisplayName: "\xff"}, "!display_name"},
		}
		for _, tt := range tests {
			a, err := e.svc.AddMember(e.ctx, org.ID, tt.in)
			switch {
			case tt.want == "exists":
				wantErr(t, tt.name, err, account.ErrExists)
			case strings.HasPrefix(tt.want, "!"):
				wantInvalid(t, tt.name, err, tt.want[1:])
			case err != nil:
				t.Fatalf("%s: %v", tt.name, err)
			case a.OrgID != org.ID || a.Status != storage.StatusActive:
				t.Fatalf("%s: %+v", tt.name, a)
			}
		}
		zoe, err := e.svc.GetMember(e.ctx, org.ID, "ZOE@acme.example")
		if err != nil || zoe.DisplayName != "Zoe" || zoe.Role != storage.RoleMember {
			t.Fatalf("GetMember = %+v, %v", zoe, err)
		}
		members, err := e.svc.ListMembers(e.ctx, org.ID)
		if err != nil || len(members) != 3 || members[0].Email != ownerEmail || members[2].Email != "zoe@acme.example" {
			t.Fatalf("ListMembers = %+v, %v", members, err)
		}
		_, err = e.svc.AddMember(e.ctx, "no-such-org", account.MemberInput{Email: "y@acme.example"})
		wantErr(t, "unknown organization", err, account.ErrNotFound)
		_, err = e.svc.ListMembers(e.ctx, "no-such-org")
		wantErr(t, "list unknown organization", err, account.ErrNotFound)
		_, err = e.svc.GetMember(e.ctx, org.ID, "no-such-id")
		wantErr(t, "unknown member", err, account.ErrNotFound)
		if ev := e.lastEvent(org.ID, "account.create"); ev.Details["email"] != "max@acme.example" || ev.Details["role"] != "admin" {
			t.Fatalf("account.create event = %+v", ev)
		}
	})
}

func TestSuspendAndRevokeSessions(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		const pw = "grace under pressure"
		grace := e.member(org, "grace@acme.example", pw, storage.RoleMember)
		e.session(grace)
		e.session(grace)

		n, err := e.svc.RevokeSessions(e.ctx, org.ID, grace.ID)
		if err != nil || n != 2 || e.liveSessions(grace) != 0 {
			t.Fatalf("RevokeSessions = %d, %v; %d still live", n, err, e.liveSessions(grace))
		}
		if ev := e.lastEvent(org.ID, "session.revoke_all"); ev.Details["sessions_revoked"] != "2" || ev.ActorType != "cli" {
			t.Fatalf("session.revoke_all event = %+v", ev)
		}

		e.session(grace)
		a, err := e.svc.SetStatus(e.ctx, org.ID, grace.ID, storage.StatusSuspended)
		if err != nil || a.Status != storage.StatusSuspended {
			t.Fatalf("suspend = %+v, %v", a, err)
		}
		if e.liveSessions(grace) != 0 {
			t.Fatal("a suspended account keeps its sessions")
		}
		invs, _ := st.InvalidationsSince(e.ctx, time.Time{})
		if !containsInvalidation(invs, "account", grace.ID) {
			t.Fatal("suspension published no invalidation")
		}
		if ev := e.lastEvent(org.ID, "account.suspend"); ev.Details["sessions_revoked"] != "1" {
			t.Fatalf("account.suspend event = %+v", ev)
		}
		_, err = e.signIn("grace@acme.example", pw, testIP)
		wantErr(t, "suspended sign-in", err, account.ErrBadCredentials)

		if _, err := e.svc.SetStatus(e.ctx, org.ID, grace.ID, storage.StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, err := e.signIn("grace@acme.example", pw, testIP); err != nil {
			t.Fatalf("reactivated sign-in: %v", err)
		}
		_, err = e.svc.SetStatus(e.ctx, org.ID, grace.ID, "deleted")
		wantInvalid(t, "unknown status", err, "status")
	})
}

func TestInvitation(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, _ := e.setup()
		inv, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: "new@acme.example", DisplayName: "Newt", Invite: true})
		if err != nil {
			t.Fatal(err)
		}
		mails := e.mails()
		if len(mails) != 1 || mails[0].To != "new@acme.example" || !strings.Contains(mails[0].Text, "7 days") {
			t.Fatalf("invitation mails = %+v", mails)
		}
		link := linkIn(t, mails[0])
		if !strings.HasPrefix(link, publicURL+"/reset?token=") || !strings.HasSuffix(link, "&invite=1") {
			t.Fatalf("invitation link %q", link)
		}
		e.clk.Advance(6 * 24 * time.Hour)
		a, err := e.svc.CheckResetToken(e.ctx, tokenOf(t, link))
		if err != nil || a.ID != inv.ID {
			t.Fatalf("CheckResetToken on a 6-day-old invitation = %+v, %v", a, err)
		}
		if _, err := e.svc.CompleteReset(e.ctx, tokenOf(t, link), newPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := e.signIn("new@acme.example", newPassword, testIP); err != nil {
			t.Fatal(err)
		}
		if ev := e.lastEvent(org.ID, "invitation.accept"); ev.TargetID != inv.ID {
			t.Fatalf("invitation.accept event = %+v", ev)
		}

		// Invitations expire after 7 days.
		if _, err := e.svc.AddMember(e.ctx, org.ID, account.MemberInput{Email: "late@acme.example", Invite: true}); err != nil {
			t.Fatal(err)
		}
		mails = e.mails()
		e.clk.Advance(7 * 24 * time.Hour)
		_, err = e.svc.CompleteReset(e.ctx, tokenOf(t, linkIn(t, mails[len(mails)-1])), newPassword)
		wantErr(t, "7-day-old invitation", err, account.ErrInvalidLink)
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, ada := e.setup()
		ctx := reqctx.WithActor(e.ctx, "account", ada.ID, ada.Email)

		secret, tok, err := e.svc.CreateAPIToken(ctx, org.ID, "terraform")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "gh_") || len(secret) != 3+43 {
			t.Fatalf("secret %q is not gh_ + 43 base64url characters", secret)
		}
		sum := sha256.Sum256([]byte(secret))
		if tok.TokenHash != hex.EncodeToString(sum[:]) || tok.CreatedBy != ada.ID {
			t.Fatalf("token record = %+v", tok)
		}
		_, _, err = e.svc.CreateAPIToken(ctx, org.ID, "terraform")
		wantErr(t, "duplicate name", err, account.ErrExists)
		_, _, err = e.svc.CreateAPIToken(ctx, org.ID, "")
		wantInvalid(t, "empty name", err, "name")

		// Only the hash is stored.
		list, err := e.svc.ListAPITokens(e.ctx, org.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListAPITokens = %+v, %v", list, err)
		}
		for _, field := range []string{list[0].ID, list[0].Name, list[0].TokenHash, list[0].CreatedBy} {
			if strings.Contains(field, secret[3:]) {
				t.Fatal("the secret is stored in the clear")
			}
		}

		got, err := e.svc.AuthenticateAPIToken(e.ctx, secret)
		if err != nil || got.ID != tok.ID || got.OrgID != org.ID {
			t.Fatalf("AuthenticateAPIToken = %+v, %v", got, err)
		}
		first := got.LastUsedAt
		if !first.Equal(e.clk.Now()) {
			t.Fatalf("LastUsedAt = %v, want %v", first, e.clk.Now())
		}
		e.clk.Advance(30 * time.Second)
		if got, _ := e.svc.AuthenticateAPIToken(e.ctx, secret); !got.LastUsedAt.Equal(first) {
			t.Fatal("LastUsedAt moved within a minute")
		}
		e.clk.Advance(30 * time.Second)
		if got, _ := e.svc.AuthenticateAPIToken(e.ctx, secret); !got.LastUsedAt.After(first) {
			t.Fatal("LastUsedAt did not move after a minute")
		}

		for _, bad := range []string{"", "gh_", secret + "x", secret[3:], "Bearer " + secret} {
			_, err := e.svc.AuthenticateAPIToken(e.ctx, bad)
			wantErr(t, "bad secret "+bad, err, account.ErrBadCredentials)
		}

		if err := e.svc.RevokeAPIToken(ctx, org.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AuthenticateAPIToken(e.ctx, secret)
		wantErr(t, "revoked token", err, account.ErrBadCredentials)
		if err := e.svc.RevokeAPIToken(ctx, org.ID, tok.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		wantErr(t, "unknown token", e.svc.RevokeAPIToken(ctx, org.ID, "nope"), account.ErrNotFound)
		if n := len(e.events(org.ID, "api_token.revoke")); n != 1 {
			t.Fatalf("%d api_token.revoke events, want 1", n)
		}
		if ev := e.lastEvent(org.ID, "api_token.create"); ev.ActorID != ada.ID || ev.TargetID != tok.ID {
			t.Fatalf("api_token.create event = %+v", ev)
		}
	})
}

func TestRecoveryLink(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, ada := e.setup()
		e.member(org, "grace@acme.example", "grace under pressure", storage.RoleMember)
		e.member(org, "ivy@acme.example", "ivy climbs the walls", storage.RoleAdmin)

		_, err := e.svc.IssueRecoveryLink(e.ctx, "grace@acme.example")
		wantErr(t, "member", err, account.ErrNotFound)
		_, err = e.svc.IssueRecoveryLink(e.ctx, "nobody@acme.example")
		wantErr(t, "unknown", err, account.ErrNotFound)

		older, err := e.svc.IssueRecoveryLink(e.ctx, ownerEmail)
		if err != nil {
			t.Fatal(err)
		}
		link, err := e.svc.IssueRecoveryLink(e.ctx, ownerEmail)
		if err != nil || !strings.HasPrefix(link, publicURL+"/recover?token=") {
			t.Fatalf("IssueRecoveryLink = %q, %v", link, err)
		}
		if ev := e.lastEvent(org.ID, "recovery.link_issued"); ev.TargetID != ada.ID || ev.ActorType != "cli" {
			t.Fatalf("recovery.link_issued event = %+v", ev)
		}
		// Every active owner and admin hears of it by mail: who, when, from
		// the command line; never the link itself.
		var told []string
		for _, m := range e.mails() {
			if m.Subject != "A recovery sign-in link was issued for "+ownerEmail {
				continue
			}
			if strings.Contains(m.Text, "token=") || !strings.Contains(m.Text, "from the server's command line") ||
				!strings.Contains(m.Text, "A one-time sign-in link for "+ownerEmail+" was issued at ") {
				t.Errorf("mail to %s:\n%s", m.To, m.Text)
			}
			told = append(told, m.To)
		}
		if len(told) != 4 || told[0] != ownerEmail || told[1] != "ivy@acme.example" {
			t.Errorf("recovery mails went to %v, want the owner and ivy, once per link", told)
		}
		_, err = e.svc.RedeemRecoveryLink(e.ctx, tokenOf(t, older))
		wantErr(t, "superseded link", err, account.ErrInvalidLink)

		a, err := e.svc.RedeemRecoveryLink(e.ctx, tokenOf(t, link))
		if err != nil || a.ID != ada.ID {
			t.Fatalf("RedeemRecoveryLink = %+v, %v", a, err)
		}
		_, err = e.svc.RedeemRecoveryLink(e.ctx, tokenOf(t, link))
		wantErr(t, "second use", err, account.ErrInvalidLink)
		if ev := e.lastEvent(org.ID, "recovery.redeem"); ev.TargetID != ada.ID {
			t.Fatalf("recovery.redeem event = %+v", ev)
		}

		expiring, err := e.svc.IssueRecoveryLink(e.ctx, ownerEmail)
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Hour)
		_, err = e.svc.RedeemRecoveryLink(e.ctx, tokenOf(t, expiring))
		wantErr(t, "expired link", err, account.ErrInvalidLink)
	})
}

// An admin who is not an owner cannot promote anyone (themselves included)
// to owner, nor demote or suspend an owner; an owner can.
func TestOnlyOwnersChangeOwnership(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org, ada := e.setup()
		mallory := e.member(org, "mallory@acme.example", "mallory wants more", storage.RoleAdmin)
		asMallory := reqctx.WithActor(e.ctx, "account", mallory.ID, mallory.Email)
		asAda := reqctx.WithActor(e.ctx, "account", ada.ID, ada.Email)
		before := len(e.events(org.ID, "account.*"))

		_, err := e.svc.SetRole(asMallory, org.ID, mallory.ID, storage.RoleOwner)
		wantErr(t, "admin promotes themselves", err, account.ErrOwnerOnly)
		_, err = e.svc.SetRole(asMallory, org.ID, ada.ID, storage.RoleMember)
		wantErr(t, "admin demotes the owner", err, account.ErrOwnerOnly)
		_, err = e.svc.SetStatus(asMallory, org.ID, ada.ID, storage.StatusSuspended)
		wantErr(t, "admin suspends the owner", err, account.ErrOwnerOnly)
		_, err = e.svc.AddMember(asMallory, org.ID, account.MemberInput{Email: "mallory2@acme.example", Role: storage.RoleOwner})
		wantErr(t, "admin invites a second self as owner", err, account.ErrOwnerOnly)
		if got := len(e.events(org.ID, "account.*")); got != before {
			t.Fatalf("refused changes wrote %d audit events", got-before)
		}
		// Admins still manage members; owners manage ownership.
		bob := e.member(org, "bob@acme.example", "bob builds bridges", storage.RoleMember)
		if _, err := e.svc.SetRole(asMallory, org.ID, bob.ID, storage.RoleAdmin); err != nil {
			t.Fatalf("admin grants admin: %v", err)
		}
		if got, err := e.svc.SetRole(asAda, org.ID, mallory.ID, storage.RoleOwner); err != nil || got.Role != storage.RoleOwner {
			t.Fatalf("owner grants ownership = %+v, %v", got, err)
		}
	})
}
