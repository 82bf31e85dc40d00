package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func TestEligibility(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	enforced := storage.Policy{SSO: storage.SSOEnforced}
	jit := storage.Account{Status: storage.StatusActive, Origin: storage.OriginJIT}
	cases := []struct {
		name    string
		acct    storage.Account
		pol     storage.Policy
		lastSSO time.Time
		ok      bool
		reason  string
	}{
		{"JIT account, SSO yesterday", jit, enforced, now.Add(-day), true, ""},
		{"JIT account, SSO 29 days ago", jit, enforced, now.Add(-29 * day), true, ""},
		{"JIT account, SSO 31 days ago", jit, enforced, now.Add(-31 * day), false, IneligibleNoRecentSSO},
		{"JIT account, never signed in", jit, enforced, time.Time{}, false, IneligibleNoRecentSSO},
		{"JIT account, window of 7 days", jit, storage.Policy{SSO: storage.SSOEnforced, FailbackWindowDays: 7}, now.Add(-8 * day), false, IneligibleNoRecentSSO},
		{"admin-created, never used SSO", storage.Account{Status: storage.StatusActive, Origin: storage.OriginAdmin}, enforced, time.Time{}, true, ""},
		{"set-up owner", storage.Account{Status: storage.StatusActive, Origin: storage.OriginSetup}, enforced, time.Time{}, true, ""},
		{"suspended admin-created", storage.Account{Status: storage.StatusSuspended, Origin: storage.OriginAdmin}, enforced, now, false, IneligibleSuspended},
		{"suspended, recent SSO", storage.Account{Status: storage.StatusSuspended, Origin: storage.OriginJIT}, enforced, now, false, IneligibleSuspended},
		{"failback denied", jit, storage.Policy{SSO: storage.SSOEnforced, Failback: storage.FailbackDenied}, now, false, IneligibleFailbackDenied},
		{"policy without SSO", jit, storage.Policy{SSO: storage.SSOOptional}, now, false, IneligibleNotSSO},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, reason := Eligibility(c.acct, c.pol, c.lastSSO, now)
			if ok != c.ok || reason != c.reason {
				t.Errorf("Eligibility = %v %q, want %v %q", ok, reason, c.ok, c.reason)
			}
		})
	}
}

func TestIsBreakGlass(t *testing.T) {
	bg := storage.Policy{SSO: storage.SSOOff, MFA: storage.MFARequired}
	for _, c := range []struct {
		name string
		acct storage.Account
		pol  storage.Policy
		want bool
	}{
		{"owner, SSO off, MFA required", storage.Account{Role: storage.RoleOwner, Status: storage.StatusActive}, bg, true},
		{"admin, SSO off, MFA required", storage.Account{Role: storage.RoleAdmin, Status: storage.StatusActive}, bg, true},
		{"member", storage.Account{Role: storage.RoleMember, Status: storage.StatusActive}, bg, false},
		{"suspended owner", storage.Account{Role: storage.RoleOwner, Status: storage.StatusSuspended}, bg, false},
		{"MFA optional", storage.Account{Role: storage.RoleOwner, Status: storage.StatusActive}, storage.Policy{SSO: storage.SSOOff}, false},
		{"SSO optional", storage.Account{Role: storage.RoleOwner, Status: storage.StatusActive}, storage.Policy{SSO: storage.SSOOptional, MFA: storage.MFARequired}, false},
	} {
		if got := IsBreakGlass(c.acct, c.pol); got != c.want {
			t.Errorf("%s: IsBreakGlass = %v, want %v", c.name, got, c.want)
		}
	}
}
