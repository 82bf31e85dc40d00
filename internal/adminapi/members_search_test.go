package adminapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func TestSearchMembers(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		if _, err := e.accounts.AddMember(e.ctx, e.orgA.ID, account.MemberInput{
			Email: fmt.Sprintf("zoe%d@acme.test", i), DisplayName: fmt.Sprintf("Zoë %d", i), Invite: i == 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(token, query string) (apiview.MemberPage, response) {
		t.Helper()
		r := e.do("GET", "/api/v1/members?"+query, token, nil)
		var p apiview.MemberPage
		if r.status == 200 {
			r.json(t, &p)
		}
		return p, r
	}
	// A name prefix in another case, beyond ASCII.
	p, r := get(e.tokenA, "q="+url.QueryEscape("ZOË"))
	if r.status != 200 || len(p.Members) != 5 || p.Members[0].State != "invited" || len(p.Members[0].SignInMethods) != 0 {
		t.Fatalf("q=ZOË: %d %s", r.status, r.body)
	}
	// Another organization's token finds nobody of Acme's.
	if p, r := get(e.tokenB, "q=zoe"); r.status != 200 || len(p.Members) != 0 {
		t.Fatalf("org B searching for zoe: %d %s", r.status, r.body)
	}
	// Paging by cursor, both ways.
	p1, _ := get(e.tokenA, "q=zoe&limit=2")
	if len(p1.Members) != 2 || p1.NextCursor == "" || p1.PrevCursor != "" {
		t.Fatalf("page 1: %+v", p1)
	}
	p2, _ := get(e.tokenA, "q=zoe&limit=2&after="+p1.NextCursor)
	if len(p2.Members) != 2 || p2.Members[0].Email != "zoe2@acme.test" || p2.PrevCursor == "" {
		t.Fatalf("page 2: %+v", p2)
	}
	back, _ := get(e.tokenA, "q=zoe&limit=2&before="+p2.PrevCursor)
	if len(back.Members) != 2 || back.Members[0].Email != p1.Members[0].Email {
		t.Fatalf("back to page 1: %+v", back)
	}
	// Filters and order.
	if p, _ := get(e.tokenA, "role=owner"); len(p.Members) != 1 || p.Members[0].Email != "owner@acme.test" || p.Members[0].SignInMethods[0] != "password" {
		t.Fatalf("role=owner: %+v", p)
	}
	if p, _ := get(e.tokenA, "sort=email&order=desc&limit=1"); p.Members[0].Email != "zoe4@acme.test" {
		t.Fatalf("newest email first: %+v", p)
	}
	if p, _ := get(e.tokenA, "status="+storage.StatusFilterInvited); len(p.Members) != 5 {
		t.Fatalf("invited: %d", len(p.Members))
	}
	// Bad input names its field.
	for _, q := range []string{"role=root", "status=gone", "sort=password_hash", "order=up", "limit=0", "limit=501", "after=!!", "after=x&before=y"} {
		if _, r := get(e.tokenA, q); r.status != 400 {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
