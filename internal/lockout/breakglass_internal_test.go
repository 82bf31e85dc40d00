package lockout

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// With no second-factor lookup wired, nobody is proven to have a factor:
// a change that enforces SSO is refused (fail closed), and let through only
// with a force reason. A change that enforces nothing is not affected.
func TestBreakGlassFailsClosedWithoutALookup(t *testing.T) {
	owner := storage.Account{ID: "o", OrgID: "org", Email: "olive@acme.example", Role: storage.RoleOwner,
		Status: storage.StatusActive, PasswordHash: "x"}
	before := Config{OrgID: "org", Accounts: []storage.Account{owner}, VerifiedDomains: []string{"acme.example"},
		Policies: []storage.Policy{
			{ID: "def", OrgID: "org", IsDefault: true, SSO: storage.SSOOff},
			{ID: "bg", OrgID: "org", SSO: storage.SSOOff, MFA: storage.MFARequired},
		},
		Members:     map[string]string{"o": "bg"},
		Connections: []storage.IdPConnection{{ID: "c", OrgID: "org"}},
	}
	after := before.Clone()
	after.Policies[0].SSO, after.Policies[0].ConnectionID = storage.SSOEnforced, "c"
	ctx := context.Background()
	if _, err := checkBreakGlass(ctx, &before, &after, Force{}, nil); !errors.Is(err, ErrLockout) {
		t.Fatalf("no lookup: %v, want a refusal", err)
	}
	if forced, err := checkBreakGlass(ctx, &before, &after, Force{Reason: "drill"}, nil); err != nil || !forced {
		t.Fatalf("forced: %v %v", forced, err)
	}
	yes := func(context.Context, string) (bool, error) { return true, nil }
	if forced, err := checkBreakGlass(ctx, &before, &after, Force{}, yes); err != nil || forced {
		t.Fatalf("owner enrolled: %v %v", forced, err)
	}
	if _, err := checkBreakGlass(ctx, &before, before.Clone().ptr(), Force{}, nil); err != nil {
		t.Fatalf("a change that enforces nothing: %v", err)
	}
}

func (c Config) ptr() *Config { return &c }

// Deleting the last break-glass owner of an organization that enforces
// SSO is refused like suspending them (there is no deletion service yet;
// Config.RemoveAccount is what one would run Check with), and let through
// with a force. With no lookup nobody was proven before either, so the
// deletion takes nothing the check can see.
func TestDeletingTheLastBreakGlassOwner(t *testing.T) {
	owner := storage.Account{ID: "o", OrgID: "org", Email: "olive@acme.example", Role: storage.RoleOwner,
		Status: storage.StatusActive, PasswordHash: "x"}
	pat := storage.Account{ID: "p", OrgID: "org", Email: "pat@partner.example", Role: storage.RoleOwner,
		Status: storage.StatusActive, PasswordHash: "x"}
	before := Config{OrgID: "org", Accounts: []storage.Account{owner, pat}, VerifiedDomains: []string{"acme.example"},
		Policies: []storage.Policy{
			{ID: "def", OrgID: "org", IsDefault: true, SSO: storage.SSOEnforced, ConnectionID: "c"},
			{ID: "bg", OrgID: "org", SSO: storage.SSOOff, MFA: storage.MFARequired},
		},
		Members:     map[string]string{"o": "bg"},
		Connections: []storage.IdPConnection{{ID: "c", OrgID: "org"}},
	}
	after := before.Clone()
	after.RemoveAccount("o")
	ctx := context.Background()
	yes := func(context.Context, string) (bool, error) { return true, nil }
	_, err := checkBreakGlass(ctx, &before, &after, Force{}, yes)
	var le *Error
	if !errors.As(err, &le) || !le.NoBreakGlass || !le.LastBreakGlass {
		t.Fatalf("delete the last break-glass owner: %v, want the break-glass refusal", err)
	}
	if forced, err := checkBreakGlass(ctx, &before, &after, Force{Reason: "leaving"}, yes); err != nil || !forced {
		t.Fatalf("forced: %v %v", forced, err)
	}
	if _, err := checkBreakGlass(ctx, &before, &after, Force{}, nil); err != nil {
		t.Fatalf("no lookup: %v", err)
	}
	// The same deletion where SSO is enforced nowhere is no concern of
	// this rule.
	before.Policies[0].SSO, before.Policies[0].ConnectionID = storage.SSOOptional, "c"
	after = before.Clone()
	after.RemoveAccount("o")
	if _, err := checkBreakGlass(ctx, &before, &after, Force{}, yes); err != nil {
		t.Fatalf("nothing enforced: %v", err)
	}
}
