package mfa_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one organization with one person, and the service over a real store.
type env struct {
	store  storage.Store
	svc    *mfa.Service
	clock  *clock
	org    storage.Organization
	ada    storage.Account
	asAda  context.Context
	secret string // set by enrol
}

// start is the beginning of a time step.
var start = time.Unix(1_700_000_010, 0).UTC()

func newEnv(t testing.TB, st storage.Store) *env {
	t.Helper()
	ctx := t.Context()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	org := storage.Organization{ID: "org1", Slug: "acme", Name: "Acme", CreatedAt: start}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	ada := storage.Account{ID: "ada", OrgID: org.ID, Email: "ada@acme.test", DisplayName: "Ada", Role: storage.RoleMember,
		Status: storage.StatusActive, CreatedAt: start, UpdatedAt: start}
	if err := st.CreateAccount(ctx, ada); err != nil {
		t.Fatal(err)
	}
	svc := mfa.NewService(st, box, "Gatehouse", nil, c.now)
	return &env{store: st, svc: svc, clock: c, org: org, ada: ada, asAda: authz.AsAccount(ctx, ada)}
}

// code returns the 6-digit code of e.secret at now+offset.
func (e *env) code(t testing.TB, offset time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(e.secret, e.clock.now().Add(offset),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol sets up Ada's authenticator app and returns her recovery codes.
func (e *env) enrol(t testing.TB) []string {
	t.Helper()
	enr, err := e.svc.BeginTOTP(e.asAda, e.ada)
	if err != nil {
		t.Fatalf("BeginTOTP: %v", err)
	}
	e.secret = enr.Secret
	codes, err := e.svc.ConfirmTOTP(e.asAda, e.ada, e.code(t, 0))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return codes
}

// events returns the organization's audit events with action.
func (e *env) events(t *testing.T, action string) []storage.AuditEvent {
	t.Helper()
	evs, err := e.store.ListAudit(t.Context(), storage.AuditFilter{OrgID: e.org.ID, Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
