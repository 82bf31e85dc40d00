package lockout

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// base is an organization with its domain verified, SSO enforced by the
// default policy through a live connection, and a break-glass policy with
// SSO off that keeps the owner olive on her password.
func base() Config {
	acct := func(id, email string, role storage.Role) storage.Account {
		return storage.Account{ID: id, OrgID: "o", Email: email, Role: role, Status: storage.StatusActive, PasswordHash: "$argon2id$x"}
	}
	return Config{
		OrgID: "o",
		Accounts: []storage.Account{
			acct("olive", "olive@acme.example", storage.RoleOwner),
			acct("oscar", "oscar@acme.example", storage.RoleOwner),
			acct("ada", "ada@acme.example", storage.RoleAdmin),
			acct("mel", "mel@acme.example", storage.RoleMember),
		},
		VerifiedDomains: []string{"acme.example"},
		Policies: []storage.Policy{
			{ID: "def", OrgID: "o", Name: "Default", IsDefault: true, SSO: storage.SSOEnforced, ConnectionID: "c1"},
			{ID: "bg", OrgID: "o", Name: "Break glass", SSO: storage.SSOOff},
		},
		Members:     map[string]string{"olive": "bg", "mel": "bg"},
		Connections: []storage.IdPConnection{{ID: "c1", OrgID: "o", Slug: "entra"}},
	}
}

func emailsOf(ps []Person) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Email)
	}
	return strings.Join(s, ",")
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // WithoutIdP emails, owners first
		safe   bool
	}{
		{"break-glass owner", func(*Config) {}, "olive@acme.example", true},
		{"members never count", func(c *Config) { c.Members["mel"] = "bg" }, "olive@acme.example", true},
		{"owner leaves break-glass", func(c *Config) { delete(c.Members, "olive") }, "", false},
		{"an admin alone is not safe", func(c *Config) { delete(c.Members, "olive"); c.Members["ada"] = "bg" }, "ada@acme.example", false},
		{"default optional", func(c *Config) { c.Policy("def").SSO = storage.SSOOptional },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"domain not verified: unmanaged", func(c *Config) { c.VerifiedDomains = nil },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"connection gone: Decide offers the password", func(c *Config) { c.RemoveConnection("c1") },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"another org's connection counts as gone", func(c *Config) { c.Connections[0].OrgID = "p" },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"no password", func(c *Config) { c.Account("olive").PasswordHash = "" }, "", false},
		{"suspended", func(c *Config) { c.Account("olive").Status = storage.StatusSuspended }, "", false},
		{"demoted to member", func(c *Config) { c.Account("olive").Role = storage.RoleMember }, "", false},
		{"break-glass deleted", func(c *Config) { c.RemovePolicy("bg") }, "", false},
		{"break-glass enforced", func(c *Config) { p := c.Policy("bg"); p.SSO, p.ConnectionID = storage.SSOEnforced, "c1" }, "", false},
		{"unknown SSO mode reads as password", func(c *Config) { c.Policy("def").SSO = "sometimes" },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"no default policy", func(c *Config) { c.RemovePolicy("def"); delete(c.Members, "olive") },
			"olive@acme.example,oscar@acme.example,ada@acme.example", true},
		{"owner in another domain is unmanaged", func(c *Config) {
			delete(c.Members, "olive")
			c.Account("oscar").Email = "oscar@gmail.example"
		}, "oscar@gmail.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base().Clone()
			tc.change(&c)
			r := Evaluate(c)
			if got := emailsOf(r.WithoutIdP); got != tc.want || r.Safe != tc.safe {
				t.Fatalf("WithoutIdP = %q, safe %v; want %q, safe %v", got, r.Safe, tc.want, tc.safe)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	c := base()
	d := c.Clone()
	d.Account("olive").Role = storage.RoleMember
	d.Policy("bg").SSO = storage.SSOEnforced
	delete(d.Members, "olive")
	d.VerifiedDomains[0] = "x"
	if !Evaluate(c).Safe || c.VerifiedDomains[0] != "acme.example" {
		t.Fatal("editing a clone changed the original")
	}
}

func TestCompare(t *testing.T) {
	safe := Evaluate(base())
	c := base()
	delete(c.Members, "olive")
	unsafe := Evaluate(c)

	// Safe → unsafe is refused, naming who is locked out and the way out.
	_, err := Compare(safe, unsafe, Force{})
	var le *Error
	if !errors.As(err, &le) || !errors.Is(err, ErrLockout) || le.Code() != "lockout" {
		t.Fatalf("safe → unsafe: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"olive@acme.example (owner: SSO would be enforced for them)", "policy with SSO off", "default policy optional"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the explanation lacks %q: %s", want, msg)
		}
	}
	// A blank reason is no force.
	if _, err := Compare(safe, unsafe, Force{Reason: "  "}); !errors.Is(err, ErrLockout) {
		t.Fatalf("blank reason forced the change: %v", err)
	}
	// A reason lets it through, and the result says so for the audit event.
	res, err := Compare(safe, unsafe, Force{Reason: " IdP migration "})
	if err != nil || !res.Forced || res.Reason != "IdP migration" || emailsOf(res.LockedOut) != "olive@acme.example" {
		t.Fatalf("forced: %+v, %v", res, err)
	}
	d := map[string]string{}
	res.Annotate(d)
	if d["forced"] != "true" || d["force_reason"] != "IdP migration" || d["locked_out"] != "olive@acme.example" {
		t.Fatalf("audit details: %v", d)
	}
	// Safe changes are not annotated.
	res, err = Compare(safe, safe, Force{Reason: "why not"})
	d = map[string]string{}
	res.Annotate(d)
	if err != nil || res.Forced || len(d) != 0 {
		t.Fatalf("safe change: %+v %v %v", res, err, d)
	}

	// Already unsafe: a repair, or a change that takes nobody's way in, passes…
	c2 := base()
	delete(c2.Members, "olive")
	c2.Members["ada"] = "bg"
	unsafeWithAdmin := Evaluate(c2)
	if _, err := Compare(unsafe, unsafeWithAdmin, Force{}); err != nil {
		t.Fatalf("adding an admin to break-glass in an unsafe org: %v", err)
	}
	// …but taking the last admin's way in is still refused.
	if _, err := Compare(unsafeWithAdmin, unsafe, Force{}); !errors.Is(err, ErrLockout) {
		t.Fatalf("taking the last admin's password sign-in in an unsafe org: %v", err)
	}
}

// The refusal says why each person loses the password sign-in.
func TestLossReasons(t *testing.T) {
	for want, change := range map[string]func(*Config){
		"olive@acme.example (owner: SSO would be enforced for them)":       func(c *Config) { delete(c.Members, "olive") },
		"olive@acme.example (owner: would be suspended)":                   func(c *Config) { c.Account("olive").Status = storage.StatusSuspended },
		"olive@acme.example (owner: would no longer be an owner)":          func(c *Config) { c.Account("olive").Role = storage.RoleAdmin },
		"olive@acme.example (owner: would no longer be an owner or admin)": func(c *Config) { c.Account("olive").Role = storage.RoleMember },
		"olive@acme.example (owner: no password set)":                      func(c *Config) { c.Account("olive").PasswordHash = "" },
	} {
		after := base().Clone()
		change(&after)
		_, err := Compare(Evaluate(base()), Evaluate(after), Force{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func TestCheckReason(t *testing.T) {
	for in, ok := range map[string]bool{
		"":                         true,
		"IdP migration, ticket 42": true,
		"two\nlines":               true,
		"bell\a":                   false,
		string([]byte{0xff}):       false,
		strings.Repeat("x", 500):   true,
		strings.Repeat("x", 501):   false,
	} {
		if _, err := CheckReason(in); (err == nil) != ok {
			t.Errorf("CheckReason(%q) = %v", in, err)
		}
	}
}
