package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newEmergency(orgID, id string, policyIDs ...string) storage.Emergency {
	return storage.Emergency{
		ID: id, OrgID: orgID, Reason: "IdP down",
		StartedAt: base, EndsAt: base.Add(4 * time.Hour),
		StartedByType: "account", StartedByID: "a1", StartedByEmail: "a1@example.com",
		Scoped: len(policyIDs) > 0, PolicyIDs: policyIDs,
	}
}

func storedEmergency(e storage.Emergency) storage.Emergency {
	e.StartedAt, e.EndsAt, e.EndedAt = storage.Truncate(e.StartedAt), storage.Truncate(e.EndsAt), storage.Truncate(e.EndedAt)
	if e.Version == 0 {
		e.Version = 1
	}
	return e
}

var emergencyTests = []namedTest{
	{"CreateGetOneOpenPerOrg", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "o2")
		mustOrg(t, s, "o3")
		mustPolicy(t, s, newPolicy("o", "p1", "Engineers"))
		mustPolicy(t, s, newPolicy("o", "p2", "Sales"))
		e := newEmergency("o", "e1", "p2", "p1")
		wantErr(t, "CreateEmergency", s.CreateEmergency(ctx, e), nil)
		got, err := s.GetEmergency(ctx, "o", "e1")
		wantErr(t, "GetEmergency", err, nil)
		want := storedEmergency(e)
		want.PolicyIDs = []string{"p1", "p2"}
		wantEqual(t, "GetEmergency", got, want)
		_, err = s.GetEmergency(ctx, "o2", "e1")
		wantErr(t, "another org's emergency", err, storage.ErrNotFound)
		open, err := s.OpenEmergency(ctx, "o")
		wantErr(t, "OpenEmergency", err, nil)
		wantEqual(t, "OpenEmergency", open.ID, "e1")
		_, err = s.OpenEmergency(ctx, "o2")
		wantErr(t, "no open emergency", err, storage.ErrNotFound)

		// One open emergency per organization, whatever the scope.
		wantErr(t, "second open emergency", s.CreateEmergency(ctx, newEmergency("o", "e2")), storage.ErrConflict)
		wantErr(t, "other org", s.CreateEmergency(ctx, newEmergency("o2", "e3")), nil)
		wantErr(t, "unknown policy", s.CreateEmergency(ctx, newEmergency("o3", "e4", "p1")), storage.ErrNotFound)

		// Once ended, another may start.
		ended, err := s.UpdateEmergency(ctx, "o", "e1", func(x *storage.Emergency) error {
			x.EndedAt, x.EndReason, x.EndedByType = base.Add(time.Hour), storage.EmergencyEnded, "cli"
			x.Reason = "not the closure's to change"
			return nil
		})
		wantErr(t, "UpdateEmergency", err, nil)
		want.EndedAt, want.EndReason, want.EndedByType, want.Version = storage.Truncate(base.Add(time.Hour)), storage.EmergencyEnded, "cli", 2
		wantEqual(t, "ended emergency", ended, want)
		wantErr(t, "new after end", s.CreateEmergency(ctx, newEmergency("o", "e2")), nil)
		list, err := s.ListEmergencies(ctx, "o", 0)
		wantErr(t, "ListEmergencies", err, nil)
		if len(list) != 2 || list[0].ID != "e2" && list[1].ID != "e2" {
			t.Fatalf("ListEmergencies = %+v", list)
		}
	}},
	{"SignOutAtEndStoredAndChangeable", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		e := newEmergency("o", "e1")
		e.SignOutAtEnd = true
		wantErr(t, "CreateEmergency", s.CreateEmergency(ctx, e), nil)
		got, err := s.GetEmergency(ctx, "o", "e1")
		wantErr(t, "GetEmergency", err, nil)
		wantEqual(t, "SignOutAtEnd as created", got.SignOutAtEnd, true)
		off, err := s.UpdateEmergency(ctx, "o", "e1", func(x *storage.Emergency) error {
			x.SignOutAtEnd = false
			return nil
		})
		wantErr(t, "UpdateEmergency", err, nil)
		wantEqual(t, "SignOutAtEnd turned off", off.SignOutAtEnd, false)
		due, err := s.ListDueEmergencies(ctx, base.Add(5*time.Hour))
		wantErr(t, "ListDueEmergencies", err, nil)
		if len(due) != 1 || due[0].SignOutAtEnd {
			t.Fatalf("ListDueEmergencies = %+v", due)
		}
	}},
	{"InForceByScopeAndTime", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustPolicy(t, s, newPolicy("o", "p1", "Engineers"))
		mustPolicy(t, s, newPolicy("o", "p2", "Sales"))
		wantErr(t, "CreateEmergency", s.CreateEmergency(ctx, newEmergency("o", "e1", "p1")), nil)
		in := base.Add(time.Hour)
		got, err := s.EmergencyInForce(ctx, "o", "p1", in)
		wantErr(t, "in scope", err, nil)
		if got.ID != "e1" || !got.Scoped || got.Reason != "IdP down" {
			t.Fatalf("EmergencyInForce = %+v", got)
		}
		_, err = s.EmergencyInForce(ctx, "o", "p2", in)
		wantErr(t, "out of scope", err, storage.ErrNotFound)
		_, err = s.EmergencyInForce(ctx, "o", "", in)
		wantErr(t, "any scope", err, nil)
		_, err = s.EmergencyInForce(ctx, "o", "p1", base.Add(4*time.Hour))
		wantErr(t, "at its end", err, storage.ErrNotFound)
		_, err = s.EmergencyInForce(ctx, "o", "p1", base.Add(-time.Second))
		wantErr(t, "before its start", err, storage.ErrNotFound)

		due, err := s.ListDueEmergencies(ctx, base.Add(4*time.Hour))
		wantErr(t, "ListDueEmergencies", err, nil)
		if len(due) != 1 || due[0].ID != "e1" || len(due[0].PolicyIDs) != 1 {
			t.Fatalf("due = %+v", due)
		}
		due, _ = s.ListDueEmergencies(ctx, in)
		wantEqual(t, "nothing due before the end", len(due), 0)
	}},
	{"PasswordsAndSessionsOfAnEmergency", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		a := newAccount("o", "a")
		a.PasswordOrigin, a.PasswordEmergencyID = storage.PasswordEmergency, "e1"
		b := newAccount("o", "b")
		b.PasswordOrigin, b.PasswordEmergencyID = storage.PasswordEmergency, "e0"
		c := newAccount("o", "c") // an open password stays
		for _, x := range []storage.Account{a, b, c} {
			wantErr(t, "CreateAccount", s.CreateAccount(ctx, x), nil)
		}
		ids, err := s.ClearEmergencyPasswords(ctx, "e1", base.Add(time.Hour))
		wantErr(t, "ClearEmergencyPasswords", err, nil)
		wantEqual(t, "cleared", ids, []string{"a"})
		got, _ := s.GetAccount(ctx, "a")
		if got.PasswordHash != "" || got.PasswordOrigin != "" || got.Version != 2 {
			t.Fatalf("cleared account = %+v", got)
		}
		for _, id := range []string{"b", "c"} {
			if got, _ := s.GetAccount(ctx, id); got.PasswordHash == "" || got.Version != 1 {
				t.Fatalf("account %s changed: %+v", id, got)
			}
		}
		ids, _ = s.ClearEmergencyPasswords(ctx, "e1", base.Add(time.Hour))
		wantEqual(t, "cleared twice", len(ids), 0)

		s1 := newSession("a", "s1", base)
		s1.EmergencyID = "e1"
		s2 := newSession("b", "s2", base.Add(time.Minute))
		s2.EmergencyID = "e1"
		s3 := newSession("c", "s3", base) // ordinary
		s4 := newSession("c", "s4", base)
		s4.EmergencyID, s4.ExpiresAt = "e1", base.Add(time.Minute) // expired already
		for _, x := range []storage.Session{s1, s2, s3, s4} {
			mustSession(t, s, x)
		}
		list, err := s.ListEmergencySessions(ctx, "e1")
		wantErr(t, "ListEmergencySessions", err, nil)
		wantEqual(t, "sessions of e1", len(list), 3)
		wantEqual(t, "newest first", list[0].ID, "s2")
		revoked, err := s.RevokeEmergencySessions(ctx, "e1", "emergency_end", base.Add(time.Hour))
		wantErr(t, "RevokeEmergencySessions", err, nil)
		if len(revoked) != 2 || revoked[0].ID != "s1" || revoked[1].ID != "s2" {
			t.Fatalf("revoked = %+v", revoked)
		}
		for id, want := range map[string]bool{"s1": true, "s2": true, "s3": false, "s4": false} {
			x, _ := s.GetSession(ctx, id)
			if (!x.RevokedAt.IsZero()) != want {
				t.Errorf("session %s revoked = %v, want %v", id, !x.RevokedAt.IsZero(), want)
			}
		}
		again, _ := s.RevokeEmergencySessions(ctx, "e1", "emergency_end", base.Add(time.Hour))
		wantEqual(t, "revoked twice", len(again), 0)
	}},
}
