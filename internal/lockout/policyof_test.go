package lockout

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PolicyOf resolves as storage's PolicyFor does: explicit member beats IdP
// group beats email domain beats default.
func TestPolicyOfOrder(t *testing.T) {
	c := Config{
		OrgID: "o",
		Accounts: []storage.Account{
			{ID: "all", Email: "all@corp.example"},     // member, group and domain
			{ID: "grp", Email: "grp@corp.example"},     // group and domain
			{ID: "dom", Email: "dom@corp.example"},     // domain only
			{ID: "sub", Email: "sub@eu.corp.example"},  // a subdomain is another domain
			{ID: "none", Email: "none@else.example"},   // nothing names it
			{ID: "two", Email: "two@corp.example"},     // two group policies: first by name
			{ID: "grpdef", Email: "gd@other.example"},  // group only, domain named by nobody
			{ID: "nodomain", Email: "no-at-sign-here"}, // no domain at all
		},
		Policies: []storage.Policy{
			{ID: "def", OrgID: "o", Name: "Default", IsDefault: true},
			{ID: "pm", OrgID: "o", Name: "Members"},
			{ID: "pg", OrgID: "o", Name: "Groups"},
			{ID: "pa", OrgID: "o", Name: "Alpha groups"},
			{ID: "pd", OrgID: "o", Name: "Corp"},
		},
		Members:       map[string]string{"all": "pm"},
		PolicyGroups:  map[string][]string{"pg": {"eng"}, "pa": {"ops"}},
		Groups:        map[string][]string{"all": {"eng"}, "grp": {"eng"}, "two": {"eng", "ops"}, "grpdef": {"eng"}},
		PolicyDomains: map[string][]string{"pd": {"corp.example"}},
	}
	for account, want := range map[string]string{
		"all": "pm", "grp": "pg", "dom": "pd", "sub": "def", "none": "def", "two": "pa", "grpdef": "pg", "nodomain": "def",
	} {
		if got := c.PolicyOf(account); got == nil || got.ID != want {
			t.Errorf("PolicyOf(%s) = %v, want %s", account, got, want)
		}
	}
	// Deleting the domain's policy sends its people to the default.
	after := c.Clone()
	after.RemovePolicy("pd")
	if got := after.PolicyOf("dom"); got.ID != "def" {
		t.Errorf("after deleting Corp, dom is under %s", got.ID)
	}
	if got := c.PolicyOf("dom"); got.ID != "pd" {
		t.Errorf("Clone is not deep: the original moved dom to %s", got.ID)
	}
}
