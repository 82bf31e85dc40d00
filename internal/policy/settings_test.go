package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func ptr[T any](v T) *T { return &v }

func TestSettingsAndGroups(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("acme")
		p, err := e.svc.CreateWith(e.ctx, org, CreateInput{Name: "Admins", SSO: storage.SSOOff, Settings: Settings{
			MFA: ptr(storage.MFARequired), IdleTimeout: ptr(15 * time.Minute), MaxLifetime: ptr(8 * time.Hour),
			AddGroups: []string{"gh-admins"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if p.MFA != storage.MFARequired || p.IdleTimeout != 15*time.Minute || p.MaxLifetime != 8*time.Hour || p.Failback != storage.FailbackAllowed {
			t.Fatalf("created %+v", p)
		}
		ev := e.events(org, "policy.create")
		if d := ev[len(ev)-1].Details; d["mfa"] != "required" || d["idle_timeout"] != "15m0s" || d["groups_added"] != "gh-admins" {
			t.Fatalf("policy.create details %v", d)
		}

		// A person synced into the group falls under the policy; an explicit
		// membership elsewhere wins.
		a := e.account(org, "ann@acme.example")
		if err := st.SetAccountGroups(e.ctx, a.ID, []string{"gh-admins"}); err != nil {
			t.Fatal(err)
		}
		got, err := st.PolicyFor(e.ctx, org, a.ID)
		if err != nil || got.ID != p.ID {
			t.Fatalf("PolicyFor by group = %v, %v; want Admins", got.Name, err)
		}

		// Update: the changed settings only are audited.
		up, err := e.svc.Update(e.ctx, org, "Admins", UpdateInput{Settings: Settings{
			Failback: ptr(storage.FailbackDenied), MFA: ptr(storage.MFARequired), FailbackWindowDays: ptr(7),
			AutoFailbackAfter: ptr(20 * time.Minute), RemoveGroups: []string{"gh-admins"}, AddGroups: []string{"ops"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if up.Failback != storage.FailbackDenied || up.FailbackWindowDays != 7 || up.AutoFailbackAfter != 20*time.Minute {
			t.Fatalf("updated %+v", up)
		}
		ev = e.events(org, "policy.update")
		d := ev[len(ev)-1].Details
		if d["failback"] != "denied" || d["failback_window_days"] != "7" || d["groups_removed"] != "gh-admins" || d["groups_added"] != "ops" {
			t.Fatalf("policy.update details %v", d)
		}
		if _, ok := d["mfa"]; ok {
			t.Fatalf("an unchanged setting was audited: %v", d)
		}
		groups, err := e.svc.Groups(e.ctx, org, "Admins")
		if err != nil || len(groups) != 1 || groups[0] != "ops" {
			t.Fatalf("Groups = %v, %v", groups, err)
		}
		got, err = st.PolicyFor(e.ctx, org, a.ID)
		if err != nil || !got.IsDefault {
			t.Fatalf("after removing the group, PolicyFor = %v, %v; want the default", got.Name, err)
		}

		// Validation.
		for name, in := range map[string]Settings{
			"idle > max":        {IdleTimeout: ptr(9 * time.Hour)},
			"idle too short":    {IdleTimeout: ptr(time.Second)},
			"lifetime too long": {MaxLifetime: ptr(400 * 24 * time.Hour)},
			"window zero":       {FailbackWindowDays: ptr(0)},
			"auto too long":     {AutoFailbackAfter: ptr(48 * time.Hour)},
			"mfa odd":           {MFA: ptr("sometimes")},
			"failback odd":      {Failback: ptr("maybe")},
			"empty group":       {AddGroups: []string{" "}},
			"unknown group":     {RemoveGroups: []string{"nope"}},
		} {
			_, err := e.svc.Update(e.ctx, org, "Admins", UpdateInput{Settings: in})
			if _, ok := errors.AsType[*account.InvalidInputError](err); !ok {
				t.Errorf("%s: err = %v, want invalid input", name, err)
			}
		}
		if _, err := e.svc.Update(e.ctx, org, DefaultRef, UpdateInput{Settings: Settings{AddGroups: []string{"x"}}}); err == nil {
			t.Error("the default policy took a group")
		}
	})
}

// Covering an owner by IdP group is a change the lockout check sees: an
// enforced policy may not take in the only owner through a group, and the
// route of a grouped account follows the group's policy.
func TestGroupsAgreeWithLockoutAndRoute(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		org := e.org("grp")
		e.verify(org, "grp.example")
		c := e.conn(org, "grp-idp", true)
		owner := e.account(org, "olive@grp.example")
		if _, err := st.UpdateAccount(e.ctx, owner.ID, func(a *storage.Account) error {
			a.Role, a.PasswordHash = storage.RoleOwner, "$argon2id$x"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.EnsureDefault(e.ctx, org); err != nil {
			t.Fatal(err)
		}
		// Created with a reason: olive is the only owner, and no break-glass
		// owner with a second factor exists.
		if _, err := e.svc.Create(e.ctx, org, "Eng", storage.SSOEnforced, c.Slug, lockout.Force{Reason: "setting up the test"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetAccountGroups(e.ctx, owner.ID, []string{"eng"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Update(e.ctx, org, "Eng", UpdateInput{Settings: Settings{AddGroups: []string{"eng"}}})
		if !errors.Is(err, lockout.ErrLockout) {
			t.Fatalf("covering the only owner by group under enforced SSO: %v, want a lockout refusal", err)
		}
		if gs, _ := e.svc.Groups(e.ctx, org, "Eng"); len(gs) != 0 {
			t.Fatalf("the refused change stored groups %v", gs)
		}
		member := e.account(org, "max@grp.example")
		if err := st.SetAccountGroups(e.ctx, member.ID, []string{"eng"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Update(e.ctx, org, "Eng", UpdateInput{ForceReason: "test", Settings: Settings{AddGroups: []string{"eng"}}}); err != nil {
			t.Fatal(err)
		}
		if d := e.route(member.Email); d.Method != MethodSSO {
			t.Fatalf("a member grouped into an enforced policy routes to %s", d.Method)
		}
	})
}
