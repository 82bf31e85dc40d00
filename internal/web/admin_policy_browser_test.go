package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserAdminPolicyDomain names a verified domain in a policy in a
// real Chromium, from the policy's card (a form and a select, no script),
// and reads whom it covers on the card and on the policy's people page.
func TestBrowserAdminPolicyDomain(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	e := newEnv(t)
	org, _ := e.setupOwner()
	e.verifyDomain(org.ID, corpDomain)
	now := e.clock.Now()
	for i := range 12 {
		a := storage.Account{ID: uuid.NewString(), OrgID: org.ID, Email: fmt.Sprintf("person%02d@%s", i, corpDomain),
			DisplayName: fmt.Sprintf("Person %02d", i), Role: storage.RoleMember, Status: storage.StatusActive,
			CreatedAt: now, UpdatedAt: now, Version: 1, Origin: storage.OriginAdmin}
		if err := e.store.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	staff, err := e.policies.Create(adminCtx(org.ID), org.ID, "Staff", storage.SSOOff, "")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, chromium)
	css := b.css
	b.signInOwner(e.srv.URL)
	b.do("name the domain in Staff",
		chromedp.Navigate(e.srv.URL+"/admin/policies"),
		chromedp.WaitVisible(css("#domain-"+staff.ID)),
		chromedp.Click(css(`form[action="/admin/policies/`+staff.ID+`/domains"] button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if s := b.text("#covers-" + staff.ID); !strings.Contains(s, "accounts in corp.example (12 people)") {
		t.Errorf("Staff covers %q", s)
	}
	b.do("who is covered",
		chromedp.Click(css(`a[href="/admin/policies/`+staff.ID+`/people"]`)),
		chromedp.WaitVisible(css("table.data")),
	)
	b.ShotWidths("admin-policy-people")
	if s := b.text("table.data"); !strings.Contains(s, "person00@corp.example") || !strings.Contains(s, "Account in corp.example") {
		t.Errorf("people = %q", s)
	}
	b.do("back to the policies", chromedp.Navigate(e.srv.URL+"/admin/policies#policy-"+staff.ID), chromedp.WaitVisible(css("#covers-"+staff.ID)))
	b.shot("admin-policy-card")
}
