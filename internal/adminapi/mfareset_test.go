package adminapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// enrolTOTP sets up a's authenticator app through the real service, as a.
func (e *env) enrolTOTP(t *testing.T, a storage.Account) {
	t.Helper()
	mfatest.EnrolTOTP(t, e.mfa, a, time.Now())
}

// resetMails lists the recipients of reset notices in the outbox.
func resetMails(t *testing.T, outbox string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	var to []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "sign-in methods were reset") {
			for _, line := range strings.Split(s, "\n") {
				if strings.HasPrefix(line, "To: ") {
					to = append(to, strings.TrimSpace(strings.TrimPrefix(line, "To: ")))
				}
			}
		}
	}
	return to
}

// POST /members/{id}/reset-factors: an admin token resets a member who
// lost their phone; the answer says what went, the member is signed out
// and mailed; an owner is out of an admin token's reach, a read token and
// another organization's token are refused.
func TestAPIResetFactors(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnvOn(t, st)
		ada := e.addMember(t, "ada@acme.test", storage.RoleMember)
		e.enrolTOTP(t, ada)
		e.enrolTOTP(t, e.ownerA)
		if _, _, err := e.sessions.Start(e.ctx, session.StartParams{Account: ada, Method: "password", IP: "192.0.2.1", UserAgent: "test"}); err != nil {
			t.Fatal(err)
		}
		adminSecret, adminTok := e.token("helpdesk", storage.TokenScopeAdmin)
		readSecret, _ := e.token("dashboard", storage.TokenScopeRead)

		// Refusals first: nothing of Ada's or the owner's may change.
		before := e.auditCount()
		if r := e.do("POST", "/api/v1/members/"+ada.ID+"/reset-factors", readSecret, nil); r.status != 403 || r.errCode(t) != adminapi.CodeForbidden {
			t.Errorf("read token = %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/members/"+ada.ID+"/reset-factors", e.tokenB, nil); r.status != 404 || r.errCode(t) != "not_found" {
			t.Errorf("org B's token on org A's member = %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/members/"+e.ownerA.ID+"/reset-factors", adminSecret, nil); r.status != 403 || !strings.Contains(string(r.body), "Only an owner") {
			t.Errorf("admin token on an owner = %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/members/"+ada.ID+"/reset-factors", adminSecret, []byte(`{"everything":true}`)); r.status != 400 {
			t.Errorf("unknown field = %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/members/"+ada.ID+"/reset-factors", adminSecret, []byte(`{"totp":false}`)); r.status != 400 {
			t.Errorf("nothing to reset = %d %s", r.status, r.body)
		}
		for _, a := range []storage.Account{ada, e.ownerA} {
			if ok, _ := e.mfa.TOTPEnrolled(e.ctx, a.ID); !ok {
				t.Fatalf("%s lost their authenticator app to a refused request", a.Email)
			}
		}
		if n := countAction(t, e, mfa.ActionReset); n != 0 {
			t.Fatalf("%d mfa.reset events after refusals (audit grew %d)", n, e.auditCount()-before)
		}

		// By email, as the member routes accept.
		r := e.do("POST", "/api/v1/members/"+ada.Email+"/reset-factors", adminSecret, []byte(`{}`))
		var got apiview.FactorReset
		r.json(t, &got)
		if r.status != 200 || got.Member.ID != ada.ID || !got.TOTPRemoved || got.RecoveryCodesRemoved != mfa.RecoveryCodeCount ||
			got.SessionsRevoked != 1 || got.PasskeysRemoved != 0 {
			t.Fatalf("reset-factors = %d %s", r.status, r.body)
		}
		if ok, _ := e.mfa.TOTPEnrolled(e.ctx, ada.ID); ok {
			t.Error("Ada still has an authenticator app")
		}
		if ss, _ := e.sessions.List(e.ctx, ada.ID); len(ss) != 0 {
			t.Errorf("Ada still has %d sessions", len(ss))
		}
		evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: mfa.ActionReset})
		if err != nil || len(evs) != 1 || evs[0].ActorID != adminTok.ID || evs[0].TargetID != ada.ID {
			t.Fatalf("mfa.reset events = %+v, %v", evs, err)
		}
		e.mfa.Wait()
		if to := resetMails(t, e.outbox); len(to) != 1 || !strings.Contains(to[0], "ada@acme.test") {
			t.Errorf("reset notices to %v, want Ada", to)
		}

		// The owner token may reset the owner.
		if r := e.do("POST", "/api/v1/members/"+e.ownerA.ID+"/reset-factors", e.tokenA, []byte(`{"totp":true}`)); r.status != 200 {
			t.Errorf("owner token on an owner = %d %s", r.status, r.body)
		}
	})
}

func countAction(t *testing.T, e *env, action string) int {
	t.Helper()
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{OrgID: e.orgA.ID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}
