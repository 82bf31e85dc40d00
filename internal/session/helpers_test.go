package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)) }

var seedN int

// seedAccount creates an organization with one active member.
func seedAccount(t testing.TB, s storage.Store, now time.Time) storage.Account {
	t.Helper()
	ctx := context.Background()
	seedN++
	org := storage.Organization{ID: fmt.Sprintf("org-%d", seedN), Slug: fmt.Sprintf("corp%d", seedN), Name: "Corp", CreatedAt: now}
	if err := s.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	return addAccount(t, s, org.ID, now)
}

// addAccount creates another active member of orgID.
func addAccount(t testing.TB, s storage.Store, orgID string, now time.Time) storage.Account {
	t.Helper()
	seedN++
	a := storage.Account{
		ID: fmt.Sprintf("acct-%d", seedN), OrgID: orgID, Email: fmt.Sprintf("user%d@corp.example", seedN),
		DisplayName: "User", Role: storage.RoleMember, Status: storage.StatusActive,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if err := s.CreateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// newService returns a Service on s with the test clock and default config.
func newService(s storage.Store, c *clock) *Service {
	return New(s, Config{Secure: true}, nil, c.Now)
}

// run starts svc.Run until the test ends (and waits for it to stop before
// the store closes).
func run(t testing.TB, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func start(t testing.TB, svc *Service, a storage.Account) (string, storage.Session) {
	t.Helper()
	tok, sess, err := svc.Start(context.Background(), StartParams{Account: a, Method: "password", IP: "203.0.113.9", UserAgent: "Firefox/140"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tok, sess
}

func mustValidate(t *testing.T, svc *Service, tok string) Validated {
	t.Helper()
	v, err := svc.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return v
}

func mustBeInvalid(t *testing.T, svc *Service, tok string) {
	t.Helper()
	if v, err := svc.Validate(context.Background(), tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate = %+v, %v; want ErrInvalid", v.Session, err)
	}
}

// eventually polls cond every few milliseconds until it holds or the
// deadline passes. The deadline is generous (the race detector and a busy
// CI machine are slow); the behaviour under test needs about a second.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not a wait for the condition
	}
}

// auditEvents lists orgID's events with the given action.
func auditEvents(t *testing.T, s storage.Store, orgID, action string) []storage.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), storage.AuditFilter{OrgID: orgID, Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
