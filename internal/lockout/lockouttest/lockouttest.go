// Package lockouttest sets up, for tests about something else, what
// enforcing SSO needs since break-glass admins exist: an owner under a
// break-glass policy (SSO off, MFA required) with a password and a second
// factor, so lockout.Check lets the enforcement through.
//
// The second factor is recorded in a Factors value, in memory, one per test
// environment: the MFA services are not what those tests are about. The
// environment hands Factors.Lookup to the services that run lockout.Check
// (their SetSecondFactor). Tests of the rule itself enrol a real factor
// instead.
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

// Factors records which accounts have a second factor, as far as
// lockout.Check is concerned. The zero value is ready; it is safe for
// concurrent use.
type Factors struct {
	mu       sync.Mutex
	enrolled map[string]bool
}

// MarkEnrolled records that accountID has a second factor, for lockout.Check.
func (f *Factors) MarkEnrolled(accountID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enrolled == nil {
		f.enrolled = map[string]bool{}
	}
	f.enrolled[accountID] = true
}

// Lookup is the lockout.SecondFactorFunc to hand to the services: true for
// the accounts MarkEnrolled (or BreakGlassOwner) recorded.
func (f *Factors) Lookup(_ context.Context, accountID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enrolled[accountID], nil
}

// Checker is a service that runs lockout.Check (account, domain, idp,
// policy, mfa).
type Checker interface {
	SetSecondFactor(lockout.SecondFactorFunc)
}

// Wire hands Lookup to each service.
func (f *Factors) Wire(services ...Checker) {
	for _, s := range services {
		s.SetSecondFactor(f.Lookup)
	}
}

// BreakGlassOwner returns orgID's break-glass owner, creating it the first
// time: an active owner with a password (a PHC string nobody can sign in
// with) under the policy PolicyName (SSO off, MFA required) and a second
// factor as far as lockout.Check is concerned. Its email is
// break-glass-<orgID>@example.net.
func (f *Factors) BreakGlassOwner(t testing.TB, st storage.Store, orgID string) storage.Account {
	t.Helper()
	ctx := context.Background()
	email := "break-glass-" + orgID + "@example.net"
	if a, err := st.GetAccountByEmail(ctx, email); err == nil {
		f.MarkEnrolled(a.ID)
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
	f.MarkEnrolled(a.ID)
	return a
}

// MakeBreakGlass turns the existing policyID of orgID into a break-glass
// policy (MFA required; its SSO mode is the caller's) and records a second
// factor for each of accountIDs.
func (f *Factors) MakeBreakGlass(t testing.TB, st storage.Store, orgID, policyID string, accountIDs ...string) {
	t.Helper()
	if _, err := st.UpdatePolicy(context.Background(), orgID, policyID, func(p *storage.Policy) error {
		p.MFA = storage.MFARequired
		return nil
	}); err != nil {
		t.Fatalf("lockouttest: require MFA on the policy: %v", err)
	}
	for _, id := range accountIDs {
		f.MarkEnrolled(id)
	}
}
