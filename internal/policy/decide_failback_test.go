package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The failback decision over policy settings × emergency state × account
// status × eligibility × MFA enrolment × password origin. Each row states
// what the person can do; the page column shows that the page never
// depends on the account.
func TestDecideFailbackTable(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	em := &ActiveEmergency{ID: "em-1", Reason: "IdP down", Until: now.Add(4 * time.Hour)}
	type want struct {
		page                   string
		password, passkey, sso bool
		mfa, emergency         bool
		ineligible             string
	}
	type row struct {
		name     string
		sso      string
		failback string
		mfa      string
		role     string
		status   string
		origin   string // account origin
		lastSSO  time.Duration
		pwOrigin string
		pwEmID   string
		emState  string // "none", "org-only" (another policy's), "covers"
		factor   bool
		want     want
	}
	enforced, optional, off := storage.SSOEnforced, storage.SSOOptional, storage.SSOOff
	rows := []row{
		// No emergency: the policy decides as before.
		{"enforced, no emergency", enforced, "", "", "", "", "jit", 24 * time.Hour, "open", "", "none", false,
			want{page: MethodSSO, sso: true}},
		{"optional, password set openly", optional, "", "", "", "", "admin", 0, "open", "", "none", false,
			want{page: MethodChoice, password: true, passkey: true, sso: true}},
		{"off, MFA required", off, "", "required", "", "", "admin", 0, "open", "", "none", false,
			want{page: MethodPassword, password: true, passkey: true, mfa: true}},
		{"off, MFA optional, factor enrolled", off, "", "", "", "", "admin", 0, "open", "", "none", true,
			want{page: MethodPassword, password: true, passkey: true, mfa: true}},
		{"off, MFA optional, no factor", off, "", "", "", "", "admin", 0, "open", "", "none", false,
			want{page: MethodPassword, password: true, passkey: true}},
		{"break-glass admin (SSO off, MFA required)", off, "", "required", "admin", "", "admin", 0, "open", "", "none", false,
			want{page: MethodPassword, password: true, passkey: true, mfa: true}},
		{"a password from an emergency never works later", off, "", "", "", "", "admin", 0, "emergency", "em-0", "none", false,
			want{page: MethodPassword, passkey: true}},
		// An emergency of the org that does not cover this policy: the page
		// changes, the account's ways do not.
		{"enforced, another policy's emergency", enforced, "", "", "", "", "jit", time.Hour, "open", "", "org-only", false,
			want{page: MethodEmergency, sso: true}},
		// An emergency covers the policy.
		{"eligible by recent SSO, open password", enforced, "", "", "", "", "jit", 24 * time.Hour, "open", "", "covers", false,
			want{page: MethodEmergency, password: true, passkey: true, sso: true, emergency: true}},
		{"eligible, password set during this emergency", enforced, "", "", "", "", "jit", 24 * time.Hour, "emergency", "em-1", "covers", false,
			want{page: MethodEmergency, password: true, passkey: true, sso: true, emergency: true}},
		{"eligible, password from another emergency", enforced, "", "", "", "", "jit", 24 * time.Hour, "emergency", "em-0", "covers", false,
			want{page: MethodEmergency, passkey: true, sso: true, emergency: true}},
		{"eligible, password set under enforced SSO", enforced, "", "", "", "", "admin", 0, "enforced", "", "covers", false,
			want{page: MethodEmergency, passkey: true, sso: true, emergency: true}},
		{"eligible, MFA still applies", enforced, "", "required", "", "", "admin", 0, "open", "", "covers", false,
			want{page: MethodEmergency, password: true, passkey: true, sso: true, mfa: true, emergency: true}},
		{"eligible, enrolled factor applies", enforced, "", "", "", "", "admin", 0, "open", "", "covers", true,
			want{page: MethodEmergency, password: true, passkey: true, sso: true, mfa: true, emergency: true}},
		{"ineligible: no SSO within the window", enforced, "", "", "", "", "jit", 40 * 24 * time.Hour, "open", "", "covers", false,
			want{page: MethodEmergency, sso: true, ineligible: IneligibleNoRecentSSO}},
		{"ineligible: never signed in through SSO", enforced, "", "", "", "", "jit", -1, "open", "", "covers", false,
			want{page: MethodEmergency, sso: true, ineligible: IneligibleNoRecentSSO}},
		{"ineligible: failback denied", enforced, storage.FailbackDenied, "", "", "", "admin", 0, "open", "", "covers", false,
			want{page: MethodEmergency, sso: true, ineligible: IneligibleFailbackDenied}},
		{"ineligible: suspended", enforced, "", "", "", string(storage.StatusSuspended), "admin", 0, "open", "", "covers", false,
			want{page: MethodEmergency, ineligible: IneligibleSuspended}},
		{"optional policy in an emergency: nothing to fail back from", optional, "", "", "", "", "jit", -1, "open", "", "covers", false,
			want{page: MethodEmergency, password: true, passkey: true, sso: true}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			a := &storage.Account{ID: "a", OrgID: orgA, Email: "p@a.example", Role: storage.RoleMember,
				Status: storage.StatusActive, Origin: r.origin, PasswordOrigin: r.pwOrigin, PasswordEmergencyID: r.pwEmID}
			if r.role != "" {
				a.Role = storage.Role(r.role)
			}
			if r.status != "" {
				a.Status = storage.AccountStatus(r.status)
			}
			p := &storage.Policy{ID: "p", OrgID: orgA, SSO: r.sso, Failback: r.failback, MFA: r.mfa}
			var c *storage.IdPConnection
			if r.sso != off {
				p.ConnectionID = "c"
				c = conn(orgA, "c")
			}
			in := Input{Account: a, ManagedByOrg: orgA, Policy: p, Connection: c, Now: now, HasFactor: r.factor}
			if r.lastSSO > 0 {
				in.LastSSO = now.Add(-r.lastSSO)
			}
			switch r.emState {
			case "org-only":
				in.EmergencyInOrg = true
			case "covers":
				in.EmergencyInOrg, in.Emergency = true, em
			}
			d := Decide(in)
			got := want{page: d.Method, password: d.AllowPassword, passkey: d.AllowPasskey, sso: d.AllowSSO,
				mfa: d.MFA, emergency: d.Emergency != nil, ineligible: d.Ineligible}
			if got != r.want {
				t.Errorf("got  %+v\nwant %+v", got, r.want)
			}
			if d.Emergency != nil && d.Emergency.ID != em.ID {
				t.Errorf("emergency %v", d.Emergency)
			}
			// The page is the same for an unknown address of the domain.
			unknown := Decide(Input{ManagedByOrg: orgA, Policy: p, Connection: c, Now: now, EmergencyInOrg: in.EmergencyInOrg})
			if unknown.Public() != d.Public() {
				t.Errorf("page for the account %+v differs from an unknown address's %+v", d.Public(), unknown.Public())
			}
		})
	}
}
