package breakglass

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// lockout restates policy.IsBreakGlass (it cannot import policy); the two
// must agree for every role, status, SSO mode and MFA setting.
func TestLockoutAgreesOnBreakGlass(t *testing.T) {
	for _, role := range []storage.Role{storage.RoleOwner, storage.RoleAdmin, storage.RoleMember} {
		for _, status := range []storage.AccountStatus{storage.StatusActive, storage.StatusSuspended} {
			for _, sso := range []string{storage.SSOOff, storage.SSOOptional, storage.SSOEnforced} {
				for _, mfa := range []string{"", storage.MFAOptional, storage.MFARequired} {
					a := storage.Account{ID: "a", OrgID: "o", Email: "a@x.example", Role: role, Status: status}
					p := storage.Policy{ID: "p", OrgID: "o", SSO: sso, MFA: mfa}
					c := lockout.Config{OrgID: "o", Accounts: []storage.Account{a}, Policies: []storage.Policy{p}, Members: map[string]string{"a": "p"}}
					if got, want := c.IsBreakGlass(a), policy.IsBreakGlass(a, p); got != want {
						t.Errorf("%s %s sso=%s mfa=%q: lockout %v, policy %v", role, status, sso, mfa, got, want)
					}
				}
			}
		}
	}
}

// The warnings, most serious first, for the sets an organization passes
// through.
func TestWarnings(t *testing.T) {
	owner := func(f string) Admin { return Admin{Role: storage.RoleOwner, SecondFactor: f} }
	admin := func(f string) Admin { return Admin{Role: storage.RoleAdmin, SecondFactor: f} }
	for _, c := range []struct {
		name   string
		admins []Admin
		known  bool
		want   []string
	}{
		{"nobody", nil, true, []string{WarnNone}},
		{"one owner enrolled", []Admin{owner(FactorEnrolled)}, true, []string{WarnFewerThanTwo}},
		{"one owner, nothing", []Admin{owner(FactorNone)}, true, []string{WarnNoOwner, WarnFewerThanTwo, WarnNoSecondFactor}},
		{"two admins enrolled, no owner", []Admin{admin(FactorEnrolled), admin(FactorEnrolled)}, true, []string{WarnNoOwner}},
		{"owner and admin without", []Admin{owner(FactorEnrolled), admin(FactorNone)}, true, []string{WarnNoSecondFactor}},
		{"all well", []Admin{owner(FactorEnrolled), admin(FactorEnrolled)}, true, nil},
		{"unknown", []Admin{owner(FactorUnknown), admin(FactorUnknown)}, false, []string{WarnFactorUnknown}},
	} {
		got := warnings(c.admins, c.known)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] || Words(got[i]) == got[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
}
