package domain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Adding, verifying and removing a domain ask for an actor who may change
// the organization: a member, a read token, another organization's admin
// or no actor at all is refused before any DNS lookup, and nothing is
// written or audited.
func TestDomainChangesRefusedWithoutAuthority(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		e.org(t, "a")
		e.org(t, "b")
		d := e.add(t, "a", "corp.example")
		e.dns.Set("corp.example", e.svc.TXTRecord(d)) // verifying would succeed but for the actor
		now := e.clk.Now()
		member := storage.Account{ID: "member-a", OrgID: "a", Email: "m@a.example", Role: storage.RoleMember,
			Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := st.CreateAccount(t.Context(), member); err != nil {
			t.Fatal(err)
		}
		read := storage.APIToken{ID: "tok-read", OrgID: "a", Name: "read", TokenHash: "h", CreatedBy: "cli",
			Scope: storage.TokenScopeRead, CreatedAt: now}
		if err := st.CreateAPIToken(t.Context(), read); err != nil {
			t.Fatal(err)
		}
		other, _ := st.GetAccount(t.Context(), "admin-b")
		bg := context.Background()
		for name, ctx := range map[string]context.Context{
			"member":                        authz.AsAccount(bg, member),
			"read token":                    authz.AsToken(bg, read),
			"admin of another organization": authz.AsAccount(bg, other),
			"empty":                         bg,
		} {
			t.Run(name, func(t *testing.T) {
				before := len(e.events(t, "a"))
				if _, err := e.svc.Add(ctx, "a", "other.example"); !errors.Is(err, authz.ErrForbidden) {
					t.Errorf("Add: %v, want ErrForbidden", err)
				}
				if _, err := e.svc.Verify(ctx, "a", d.ID); !errors.Is(err, authz.ErrForbidden) {
					t.Errorf("Verify: %v, want ErrForbidden", err)
				}
				if err := e.svc.Remove(ctx, "a", d.ID); !errors.Is(err, authz.ErrForbidden) {
					t.Errorf("Remove: %v, want ErrForbidden", err)
				}
				if got := len(e.events(t, "a")); got != before {
					t.Errorf("refused changes wrote %d audit events", got-before)
				}
				got, err := st.GetDomain(t.Context(), "a", d.ID)
				if err != nil || !got.VerifiedAt.IsZero() || !got.LastCheckedAt.IsZero() {
					t.Errorf("domain after the refusals: %+v, %v", got, err)
				}
			})
		}
		// The organization's admin may.
		if _, err := e.svc.Verify(adminCtx(t, "a"), "a", d.ID); err != nil {
			t.Errorf("admin verifies: %v", err)
		}
	})
}
