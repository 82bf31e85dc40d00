package policy

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// "default" names the default policy in any case, wherever a policy is
// named; the service is the only place that knows it. Before the default
// is stored, reading it is not found while changing it stores it first.
func TestDefaultRefResolvedByService(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	org := e.org("acme")
	alice := e.account(org, "alice@acme.example")

	if _, err := e.svc.Get(e.ctx, org, "default"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("Get(default) before it is stored = %v, want not found", err)
	}
	p, err := e.svc.GetForChange(e.ctx, org, " DEFAULT ")
	if err != nil || !p.IsDefault || p.SSO != storage.SSOOff {
		t.Fatalf("GetForChange(DEFAULT) = %+v, %v; want the stored default, SSO off", p, err)
	}
	for _, ref := range []string{"default", "Default", p.ID} {
		if got, err := e.svc.Get(e.ctx, org, ref); err != nil || got.ID != p.ID {
			t.Errorf("Get(%q) = %+v, %v; want the default policy", ref, got, err)
		}
	}
	if _, err := e.svc.Create(e.ctx, org, "DEFAULT", storage.SSOOff, ""); err == nil {
		t.Error(`a policy named "DEFAULT" was created; it would shadow the default`)
	}

	named, err := e.svc.CreateForced(e.ctx, org, "Contractors", storage.SSOOff, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone not under the policy cannot be removed from it.
	if err := e.svc.RemoveMember(e.ctx, org, named.ID, alice.Email); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("RemoveMember of a non-member = %v, want not found", err)
	}
	if err := e.svc.SetMember(e.ctx, org, alice.Email, "Contractors"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.svc.Members(e.ctx, org, named.ID); !slices.Contains(ids, alice.ID) {
		t.Fatalf("alice is not under Contractors: %v", ids)
	}
	// Setting the member to "default" sends them back, like "".
	if err := e.svc.SetMember(e.ctx, org, alice.Email, "Default"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.svc.Members(e.ctx, org, named.ID); slices.Contains(ids, alice.ID) {
		t.Fatalf("alice is still under Contractors after SetMember(default): %v", ids)
	}
	if err := e.svc.SetMember(e.ctx, org, alice.Email, named.Name); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveMember(e.ctx, org, "Contractors", "ALICE@acme.example"); err != nil {
		t.Fatalf("RemoveMember = %v", err)
	}
	if ids, _ := e.svc.Members(e.ctx, org, named.ID); len(ids) != 0 {
		t.Errorf("Contractors still has members %v", ids)
	}
}
