package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var memberRecordTests = []namedTest{
	{"LastSessionIsTheNewestWhateverItsState", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustAccount(t, s, "o", "b")
		_, err := s.LastSession(ctx, "a")
		wantErr(t, "LastSession without sessions", err, storage.ErrNotFound)
		mustSession(t, s, newSession("a", "old", base))
		newest := mustSession(t, s, newSession("a", "new", base.Add(time.Hour)))
		mustSession(t, s, newSession("b", "other", base.Add(2*time.Hour)))
		// A revoked session still tells when and how they last signed in.
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, "new", "admin", base.Add(90*time.Minute)), nil)
		got, err := s.LastSession(ctx, "a")
		wantErr(t, "LastSession", err, nil)
		newest.RevokedAt, newest.RevokeReason = base.Add(90*time.Minute), "admin"
		wantEqual(t, "LastSession", got, storedSession(newest))
	}},
	{"LastSignInAtOutlivesPrunedSessions", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		at, err := s.LastSignInAt(ctx, "a")
		wantErr(t, "LastSignInAt before any sign-in", err, nil)
		wantEqual(t, "never", at.IsZero(), true)
		_, err = s.LastSignInAt(ctx, "nobody")
		wantErr(t, "LastSignInAt of nobody", err, storage.ErrNotFound)
		mustSession(t, s, newSession("a", "new", base.Add(time.Hour)))
		mustSession(t, s, newSession("a", "old", base)) // an older one does not move it back
		_, err = s.DeleteExpiredSessions(ctx, base.Add(1000*time.Hour))
		wantErr(t, "DeleteExpiredSessions", err, nil)
		_, err = s.LastSession(ctx, "a")
		wantErr(t, "LastSession after pruning", err, storage.ErrNotFound)
		at, err = s.LastSignInAt(ctx, "a")
		wantErr(t, "LastSignInAt after pruning", err, nil)
		wantEqual(t, "last sign-in", at.UTC(), storage.Truncate(base.Add(time.Hour)).UTC())
	}},
	{"ListAuditAboutTargetOrActorNewestFirst", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		ev := func(org, action, actor, target string) storage.AuditEvent {
			return mustAppend(t, s, storage.AuditEvent{OrgID: org, ID: action + "-" + org + actor + target, Time: base,
				ActorType: "account", ActorID: actor, Action: action, TargetType: "account", TargetID: target, Outcome: "success"})
		}
		ev("o", "account.create", "boss", "a")   // 1: about a
		ev("o", "account.create", "boss", "b")   // 2: not
		ev("o", "login.success", "a", "a")       // 3: both sides: once
		ev("o", "account.suspend", "a", "b")     // 4: a acted
		ev("p", "account.create", "boss", "a")   // another organization's chain
		ev("o", "account.role_change", "x", "a") // 5
		got, err := s.ListAuditAbout(ctx, "o", "a", 0)
		wantErr(t, "ListAuditAbout", err, nil)
		wantEqual(t, "seqs about a", seqs(got), []int64{5, 4, 3, 1})
		wantEqual(t, "first is whole", got[0].Action, "account.role_change")
		got, err = s.ListAuditAbout(ctx, "o", "a", 2)
		wantErr(t, "ListAuditAbout limit 2", err, nil)
		wantEqual(t, "limit 2 keeps the newest", seqs(got), []int64{5, 4})
		got, err = s.ListAuditAbout(ctx, "o", "nobody", 0)
		wantErr(t, "ListAuditAbout nobody", err, nil)
		wantEqual(t, "nobody", len(got), 0)
	}},
	{"ExplicitPolicy", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		id, err := s.ExplicitPolicy(ctx, "o", "a")
		wantErr(t, "ExplicitPolicy none", err, nil)
		wantEqual(t, "none", id, "")
		mustPolicy(t, s, newPolicy("o", "p1", "Contractors"))
		wantErr(t, "SetPolicyMember", s.SetPolicyMember(ctx, "o", "a", "p1"), nil)
		id, err = s.ExplicitPolicy(ctx, "o", "a")
		wantErr(t, "ExplicitPolicy", err, nil)
		wantEqual(t, "explicit", id, "p1")
		id, err = s.ExplicitPolicy(ctx, "other", "a")
		wantErr(t, "ExplicitPolicy other org", err, nil)
		wantEqual(t, "other org sees none", id, "")
	}},
	{"DeleteSSOLink", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustIdP(t, s, "o", "c1")
		wantErr(t, "CreateSSOLink", s.CreateSSOLink(ctx, newLink("c1", "subj", "a")), nil)
		wantErr(t, "CreateSSOLink 2", s.CreateSSOLink(ctx, newLink("c1", "subj2", "a")), nil)
		wantErr(t, "DeleteSSOLink", s.DeleteSSOLink(ctx, "c1", "subj"), nil)
		wantErr(t, "DeleteSSOLink again", s.DeleteSSOLink(ctx, "c1", "subj"), storage.ErrNotFound)
		_, err := s.GetSSOLink(ctx, "c1", "subj")
		wantErr(t, "GetSSOLink deleted", err, storage.ErrNotFound)
		links, err := s.ListAccountSSOLinks(ctx, "a")
		wantErr(t, "ListAccountSSOLinks", err, nil)
		wantEqual(t, "the other link stays", links, []storage.SSOLink{storedLink(newLink("c1", "subj2", "a"))})
	}},
	{"DeleteAccountTakesWhatIsItsOwn", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withAccount(t, s)
		mustAccount(t, s, "o", "b")
		mustOrg(t, s, "p")
		mustIdP(t, s, "o", "c1")
		mustSession(t, s, newSession("a", "s1", base))
		mustSession(t, s, newSession("b", "s2", base))
		mustToken(t, s, newToken("h-a", storage.PurposeInvite, "a"))
		mustToken(t, s, newToken("h-b", storage.PurposeInvite, "b"))
		wantErr(t, "CreateSSOLink", s.CreateSSOLink(ctx, newLink("c1", "subj", "a")), nil)
		wantErr(t, "SetAccountGroups", s.SetAccountGroups(ctx, "a", []string{"eng"}), nil)
		mustPolicy(t, s, newPolicy("o", "p1", "Contractors"))
		wantErr(t, "SetPolicyMember", s.SetPolicyMember(ctx, "o", "a", "p1"), nil)
		mustAppend(t, s, storage.AuditEvent{OrgID: "o", ID: "e1", Time: base, ActorType: "system",
			Action: "account.create", TargetType: "account", TargetID: "a", Outcome: "success"})

		wantErr(t, "DeleteAccount from another org", s.DeleteAccount(ctx, "p", "a"), storage.ErrNotFound)
		wantErr(t, "DeleteAccount", s.DeleteAccount(ctx, "o", "a"), nil)
		wantErr(t, "DeleteAccount again", s.DeleteAccount(ctx, "o", "a"), storage.ErrNotFound)

		_, err := s.GetAccount(ctx, "a")
		wantErr(t, "GetAccount", err, storage.ErrNotFound)
		_, err = s.GetSession(ctx, "s1")
		wantErr(t, "GetSession", err, storage.ErrNotFound)
		_, err = s.GetToken(ctx, "h-a")
		wantErr(t, "GetToken", err, storage.ErrNotFound)
		_, err = s.GetSSOLink(ctx, "c1", "subj")
		wantErr(t, "GetSSOLink", err, storage.ErrNotFound)
		id, err := s.ExplicitPolicy(ctx, "o", "a")
		wantErr(t, "ExplicitPolicy", err, nil)
		wantEqual(t, "policy membership gone", id, "")
		// Another account keeps everything; the audit log is untouched.
		_, err = s.GetSession(ctx, "s2")
		wantErr(t, "GetSession b", err, nil)
		_, err = s.GetToken(ctx, "h-b")
		wantErr(t, "GetToken b", err, nil)
		evs := listAudit(t, s, storage.AuditFilter{OrgID: "o"})
		wantEqual(t, "audit kept", len(evs), 1)
		verifyChain(t, evs)
	}},
}
