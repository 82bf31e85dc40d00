package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var activityTests = []namedTest{
	{"CountSignInsByDayActionMethod", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		day0 := time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)
		ev := func(org, action, method string, at time.Time) {
			e := storage.AuditEvent{OrgID: org, ID: fmt.Sprintf("e-%s-%d", org, at.UnixNano()), Action: action, Time: at,
				ActorType: "account", Outcome: "success"}
			if method != "" {
				e.Details = map[string]string{"method": method, "amr": "pwd"}
			}
			mustAppend(t, s, e)
		}
		n := 0
		tick := func(d time.Duration) time.Time { n++; return day0.Add(d + time.Duration(n)*time.Millisecond) }
		ev("o", "login.success", "password", tick(0))
		ev("o", "login.success", "password", tick(23*time.Hour))
		ev("o", "login.success", "sso", tick(time.Hour))
		ev("o", "login.failure", "", tick(2*time.Hour))
		ev("o", "login.success", "emergency", tick(24*time.Hour+time.Hour))
		ev("o", "session.revoke", "", tick(time.Hour))        // not a sign-in
		ev("o", "login.success", "sso", tick(-time.Hour))     // before the window
		ev("o", "login.success", "sso", tick(3*24*time.Hour)) // at until: outside
		ev("p", "login.success", "password", tick(time.Hour)) // another organization
		got, err := s.CountSignIns(ctx, "o", day0, day0.Add(3*24*time.Hour))
		wantErr(t, "CountSignIns", err, nil)
		want := []storage.SignInCount{
			{Day: day0, Action: "login.failure", Method: "", Count: 1},
			{Day: day0, Action: "login.success", Method: "password", Count: 2},
			{Day: day0, Action: "login.success", Method: "sso", Count: 1},
			{Day: day0.Add(24 * time.Hour), Action: "login.success", Method: "emergency", Count: 1},
		}
		wantEqual(t, "counts", got, want)
		_, err = s.CountSignIns(ctx, "o", day0.Add(time.Hour), day0.Add(24*time.Hour))
		if err == nil {
			t.Fatal("CountSignIns from a time that is not a midnight: no error")
		}
		got, err = s.CountSignIns(ctx, "nobody", day0, day0.Add(24*time.Hour))
		wantErr(t, "CountSignIns(no events)", err, nil)
		wantEqual(t, "no events", len(got), 0)
	}},
	{"CountAttention", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		acct := func(org, id string, mutate func(*storage.Account)) storage.Account {
			a := newAccount(org, id)
			if mutate != nil {
				mutate(&a)
			}
			wantErr(t, "CreateAccount "+id, s.CreateAccount(ctx, a), nil)
			return a
		}
		noPassword := func(a *storage.Account) { a.PasswordHash, a.PasswordChangedAt = "", time.Time{} }
		invite := func(a storage.Account, hash string, expires time.Time, used bool) {
			tok := storage.OneTimeToken{TokenHash: hash, Purpose: storage.PurposeInvite, AccountID: a.ID, OrgID: a.OrgID,
				CreatedAt: base.Add(-time.Hour), ExpiresAt: expires}
			wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
			if used {
				wantErr(t, "UseToken", s.UseToken(ctx, hash, base.Add(-time.Minute)), nil)
			}
		}
		// Pending: no password, a live invitation.
		invite(acct("o", "inv1", noPassword), "h1", base.Add(time.Hour), false)
		invite(acct("o", "inv2", noPassword), "h2", base.Add(time.Hour), false)
		// Not pending: expired, used, suspended, another organization.
		invite(acct("o", "old", noPassword), "h3", base.Add(-time.Second), false)
		invite(acct("o", "used", noPassword), "h4", base.Add(time.Hour), true)
		invite(acct("o", "susp", func(a *storage.Account) { noPassword(a); a.Status = storage.StatusSuspended }), "h5", base.Add(time.Hour), false)
		invite(acct("p", "other", noPassword), "h6", base.Add(time.Hour), false)

		// Second factors: an app (confirmed), a passkey; a pending app does not count.
		withApp := acct("o", "app", nil)
		wantErr(t, "SetPendingTOTP", s.SetPendingTOTP(ctx, withApp.ID, "sealed", base), nil)
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(ctx, withApp.ID, "sealed", 10, base), nil)
		pending := acct("o", "pending", nil)
		wantErr(t, "SetPendingTOTP", s.SetPendingTOTP(ctx, pending.ID, "sealed", base), nil)
		withKey := acct("o", "key", nil)
		wantErr(t, "CreatePasskey", s.CreatePasskey(ctx, newPasskey("o", withKey.ID, "pk1", 1)), nil)

		got, err := s.CountAttention(ctx, "o", base)
		wantErr(t, "CountAttention", err, nil)
		// Active in o: inv1, inv2, old, used, app, pending, key; without
		// a second factor: all but app and key.
		wantEqual(t, "attention", got, storage.Attention{InvitationsPending: 2, WithoutSecondFactor: 5})
	}},
}
