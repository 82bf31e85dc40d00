package adminapi_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
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
		e.factors.MarkEnrolled(e.ownerA.ID)
		if bg := get(e.tokenA); bg.Admins[0].SecondFactor != "enrolled" || len(bg.Warnings) != 1 || bg.Warnings[0].Code != "fewer_than_two" {
			t.Errorf("after enrolment: %+v", bg)
		}
		if bg := get(e.tokenB); len(bg.Admins) != 0 {
			t.Errorf("organization B sees %+v", bg.Admins)
		}
	})
}

// POST /recovery-codes (owner tokens) returns ten codes once; GET shows
// only how many are left; an admin token is refused.
func TestAPIRecoveryCodes(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnvOn(t, st)
		var status apiview.RecoveryCodesStatus
		e.do("GET", "/api/v1/recovery-codes", e.tokenA, nil).json(t, &status)
		if status.Generated || status.GeneratedAt != nil {
			t.Fatalf("before: %+v", status)
		}
		adminTok, _ := e.token("admin-token", storage.TokenScopeAdmin)
		before := e.auditCount()
		if r := e.do("POST", "/api/v1/recovery-codes", adminTok, nil); r.status != 403 || !bytes.Contains(r.body, []byte("Only an owner can generate organization recovery codes.")) {
			t.Fatalf("admin token: %d %s", r.status, r.body)
		}
		r := e.do("POST", "/api/v1/recovery-codes", e.tokenA, []byte(`{}`))
		var codes apiview.RecoveryCodes
		r.json(t, &codes)
		if r.status != 201 || len(codes.Codes) != 10 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("POST = %d %s", r.status, r.body)
		}
		if e.auditCount() <= before {
			t.Error("generating was not audited")
		}
		r = e.do("GET", "/api/v1/recovery-codes", e.tokenA, nil)
		r.json(t, &status)
		if !status.Generated || status.Left != 10 || status.GeneratedAt == nil || bytes.Contains(r.body, []byte(codes.Codes[0])) {
			t.Errorf("after: %s", r.body)
		}
	})
}
