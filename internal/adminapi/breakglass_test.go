package adminapi_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/lockout/lockouttest"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// GET /break-glass lists the break-glass admins with their second factor
// and the console's warnings, for the token's organization only.
func TestAPIBreakGlass(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnvOn(t, st)
		get := func(token string) apiview.BreakGlass {
			t.Helper()
			r := e.do("GET", "/api/v1/break-glass", token, nil)
			var bg apiview.BreakGlass
			r.json(t, &bg)
			if r.status != 200 {
				t.Fatalf("GET /break-glass = %d %s", r.status, r.body)
			}
			return bg
		}
		if bg := get(e.tokenA); len(bg.Admins) != 0 || len(bg.Warnings) != 1 || bg.Warnings[0].Code != "none" || bg.Warnings[0].Message == "" {
			t.Fatalf("no break-glass admin: %+v", bg)
		}
		p := storage.Policy{ID: "bg-" + e.orgA.ID, OrgID: e.orgA.ID, Name: "Break glass", SSO: storage.SSOOff, MFA: storage.MFARequired, Version: 1}
		if err := st.CreatePolicy(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := st.SetPolicyMember(e.ctx, e.orgA.ID, e.ownerA.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		bg := get(e.tokenA)
		if len(bg.Admins) != 1 || bg.Admins[0].Email != e.ownerA.Email || bg.Admins[0].SecondFactor != "none" || bg.Admins[0].Policy != "Break glass" {
			t.Fatalf("admins = %+v", bg.Admins)
		}
		codes := func(ws []apiview.BreakGlassWarning) (out []string) {
			for _, w := range ws {
				out = append(out, w.Code)
			}
			return out
		}
		if got := codes(bg.Warnings); len(got) != 3 || got[0] != "no_owner" || got[1] != "fewer_than_two" || got[2] != "no_second_factor" {
			t.Errorf("warnings = %v", got)
		}
		lockouttest.MarkEnrolled(e.ownerA.ID)
		if bg := get(e.tokenA); bg.Admins[0].SecondFactor != "enrolled" || len(bg.Warnings) != 1 || bg.Warnings[0].Code != "fewer_than_two" {
			t.Errorf("after enrolment: %+v", bg)
		}
		if bg := get(e.tokenB); len(bg.Admins) != 0 {
			t.Errorf("organization B sees %+v", bg.Admins)
		}
	})
}
