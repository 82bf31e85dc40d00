// Package lockouttest sets up, for tests about something else, what
// enforcing SSO needs since break-glass admins exist: an owner under a
// break-glass policy (SSO off, MFA required) with a password and a second
// factor, so lockout.Check lets the enforcement through.
//
// The second factor is recorded here, in memory, for accounts this package
// made: the MFA services are not what those tests are about. Tests of the
// rule itself enrol a real factor instead.
package lockouttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PolicyName is the name of the break-glass policy BreakGlassOwner makes.
const PolicyName = "Break glass (test)"

var (
	once     sync.Once
	mu       sync.Mutex
	enrolled = map[string]bool{}
)

// register installs, once per test binary, the lookup that knows the
// accounts this package enrolled.
func register() {
	once.Do(func() {
		lockout.RegisterSecondFactor(func(_ context.Context, id string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return enrolled[id], nil
		})
	})
}

// MarkEnrolled records that accountID has a second factor, for lockout.Check.
func MarkEnrolled(accountID string) {
	register()
	mu.Lock()
	defer mu.Unlock()
	enrolled[accountID] = true
}

// BreakGlassOwner returns orgID's break-glass owner, creating it the first
// time: an active owner with a password (a PHC string nobody can sign in
// with) under the policy PolicyName (SSO off, MFA required) and a second
// factor as far as lockout.Check is concerned. Its email is
// break-glass-<orgID>@example.net.
func BreakGlassOwner(t testing.TB, st storage.Store, orgID string) storage.Account {
	t.Helper()
	ctx := context.Background()
	email := "break-glass-" + orgID + "@example.net"
	if a, err := st.GetAccountByEmail(ctx, email); err == nil {
		MarkEnrolled(a.ID)
		return a
	}
	now := storage.Truncate(time.Now())
	p, err := st.GetPolicyByName(ctx, orgID, PolicyName)
	if err != nil {
		p = storage.Policy{ID: uuid.NewString(), OrgID: orgID, Name: PolicyName, SSO: storage.SSOOff,
			MFA: storage.MFARequired, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := st.CreatePolicy(ctx, p); err != nil {
			t.Fatalf("lockouttest: create the break-glass policy: %v", err)
		}
	}
	a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: email, DisplayName: "Break-glass owner",
		PasswordHash:      "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$bm90LWEtcmVhbC1oYXNoLW5vdC1hLXJlYWwtaGFzaA",
		PasswordChangedAt: now, Role: storage.RoleOwner, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now,
		Version: 1, Origin: storage.OriginAdmin, PasswordOrigin: storage.PasswordOpen}
	if err := st.CreateAccount(ctx, a); err != nil {
		t.Fatalf("lockouttest: create the break-glass owner: %v", err)
	}
	if err := st.SetPolicyMember(ctx, orgID, a.ID, p.ID); err != nil {
		t.Fatalf("lockouttest: put the owner under the break-glass policy: %v", err)
	}
	MarkEnrolled(a.ID)
	return a
}

// MakeBreakGlass turns the existing policyID of orgID into a break-glass
// policy (MFA required; its SSO mode is the caller's) and records a second
// factor for each of accountIDs.
func MakeBreakGlass(t testing.TB, st storage.Store, orgID, policyID string, accountIDs ...string) {
	t.Helper()
	if _, err := st.UpdatePolicy(context.Background(), orgID, policyID, func(p *storage.Policy) error {
		p.MFA = storage.MFARequired
		return nil
	}); err != nil {
		t.Fatalf("lockouttest: require MFA on the policy: %v", err)
	}
	for _, id := range accountIDs {
		MarkEnrolled(id)
	}
}

// HasSecondFactor is the lookup this package registers with lockout: true
// for the accounts MarkEnrolled (or BreakGlassOwner) recorded. Test
// environments hand it to the services that show second factors.
func HasSecondFactor(_ context.Context, accountID string) (bool, error) {
	register()
	mu.Lock()
	defer mu.Unlock()
	return enrolled[accountID], nil
}
