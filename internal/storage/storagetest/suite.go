package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// RunTests is the conformance suite: every storage.Store backend must pass
// it. newStore returns a fresh, migrated, empty store for each subtest.
// Each area is a subtest, so `go test -run 'TestX/Accounts'` narrows it.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Store) {
	areas := []struct {
		name  string
		tests []namedTest
	}{
		{"Organizations", organizationTests},
		{"Accounts", accountTests},
		{"Members", memberTests},
		{"Transactions", txTests},
		{"Sessions", sessionTests},
		{"OneTimeTokens", oneTimeTokenTests},
		{"APITokens", apiTokenTests},
		{"Throttles", throttleTests},
		{"ThrottleReservations", reservationTests},
		{"Audit", auditTests},
		{"AuditPages", auditPageTests},
		{"Invalidations", invalidationTests},
		{"Domains", domainTests},
		{"IdPConnections", idpTests},
		{"Policies", policyTests},
		{"PolicyGroups", policyGroupTests},
		{"PolicyDomains", policyDomainTests},
		{"SSOLinks", ssoLinkTests},
		{"SAMLState", samlStateTests},
		{"LoginFlows", loginFlowTests},
		{"OrgRecoveryCodes", orgRecoveryTests},
		{"SSOHealth", ssoHealthTests},
		{"Passkeys", passkeyTests},
		{"Emergencies", emergencyTests},
		{"PasskeyReadiness", readinessTests},
		{"Keys", keyTests},
		{"MFATOTP", mfaTOTPTests},
		{"Apps", appTests},
		{"OIDC", oidcTests},
		{"Activity", activityTests},
		{"Deployment", deploymentTests},
		{"MemberRecords", memberRecordTests},
	}
	for _, area := range areas {
		t.Run(area.name, func(t *testing.T) {
			for _, tc := range area.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
			}
		})
	}
}

type namedTest struct {
	name string
	run  func(t *testing.T, s storage.Store)
}

// base is the suite's clock: nanoseconds and a non-UTC zone, so every test
// also checks that times come back truncated to microseconds and in UTC.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

// goroutines is how many concurrent callers the race tests start.
const goroutines = 20

func ctxOf(t *testing.T) context.Context { return t.Context() }

func mustOrg(t *testing.T, s storage.Store, id string) storage.Organization {
	t.Helper()
	o := storage.Organization{ID: id, Slug: "slug-" + id, Name: "Org " + id, CreatedAt: base}
	if err := s.CreateOrganization(ctxOf(t), o); err != nil {
		t.Fatalf("CreateOrganization(%s): %v", id, err)
	}
	return o
}

func newAccount(orgID, id string) storage.Account {
	return storage.Account{
		ID:                id,
		OrgID:             orgID,
		Email:             id + "@example.com",
		DisplayName:       "Person " + id,
		PasswordHash:      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		PasswordChangedAt: base.Add(-time.Hour),
		Role:              storage.RoleMember,
		Status:            storage.StatusActive,
		CreatedAt:         base,
		UpdatedAt:         base,
		Version:           1,
		Origin:            storage.OriginAdmin,
		PasswordOrigin:    storage.PasswordOpen,
	}
}

func mustAccount(t *testing.T, s storage.Store, orgID, id string) storage.Account {
	t.Helper()
	a := newAccount(orgID, id)
	if err := s.CreateAccount(ctxOf(t), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", id, err)
	}
	return a
}

// wantErr fails t unless err matches target (nil target: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantEqual fails t unless got and want are deeply equal.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// wantUTCMicros fails t unless tm is what storage returns for in: truncated
// to microseconds, in UTC (and still zero if in was zero).
func wantUTCMicros(t *testing.T, what string, got, in time.Time) {
	t.Helper()
	want := storage.Truncate(in)
	if !got.Equal(want) || (!in.IsZero() && got.Location() != time.UTC) || got.IsZero() != in.IsZero() {
		t.Fatalf("%s: got %v (%v), want %v in UTC", what, got, got.Location(), want)
	}
}

// race runs fn from n goroutines released together, and returns each
// goroutine's error (index = goroutine number).
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// allSucceed fails t unless every goroutine's error is nil.
func allSucceed(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("%s #%d", what, i), err, nil)
	}
}

// oneWinner fails t unless exactly one error is nil and all others match loser.
func oneWinner(t *testing.T, what string, errs []error, loser error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, loser):
			t.Fatalf("%s: goroutine %d: got %v, want nil or %v", what, i, err, loser)
		}
	}
	if wins != 1 {
		t.Fatalf("%s: %d of %d succeeded, want exactly 1", what, wins, len(errs))
	}
}

var organizationTests = []namedTest{
	{"SoleOrganization", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, err := s.SoleOrganization(ctx)
		wantErr(t, "SoleOrganization of none", err, storage.ErrNotFound)
		o := mustOrg(t, s, "o")
		got, err := s.SoleOrganization(ctx)
		wantErr(t, "SoleOrganization of one", err, nil)
		o.CreatedAt = storage.Truncate(o.CreatedAt)
		wantEqual(t, "SoleOrganization", got, o)
		mustOrg(t, s, "p")
		_, err = s.SoleOrganization(ctx)
		wantErr(t, "SoleOrganization of two", err, storage.ErrNotFound)
	}},
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		b := mustOrg(t, s, "b")
		a := storage.Organization{ID: "a", Slug: "acme", Name: "Acme", CreatedAt: base}
		wantErr(t, "create", s.CreateOrganization(ctx, a), nil)

		got, err := s.GetOrganization(ctx, "a")
		wantErr(t, "GetOrganization", err, nil)
		wantUTCMicros(t, "CreatedAt", got.CreatedAt, base)
		a.CreatedAt = storage.Truncate(base)
		wantEqual(t, "GetOrganization", got, a)

		got, err = s.GetOrganizationBySlug(ctx, "acme")
		wantErr(t, "GetOrganizationBySlug", err, nil)
		wantEqual(t, "GetOrganizationBySlug", got, a)

		list, err := s.ListOrganizations(ctx)
		wantErr(t, "ListOrganizations", err, nil)
		b.CreatedAt = storage.Truncate(base)
		wantEqual(t, "ListOrganizations (by slug)", list, []storage.Organization{a, b})
	}},
	{"NotFound", func(t *testing.T, s storage.Store) {
		_, err := s.GetOrganization(ctxOf(t), "nope")
		wantErr(t, "GetOrganization", err, storage.ErrNotFound)
		_, err = s.GetOrganizationBySlug(ctxOf(t), "nope")
		wantErr(t, "GetOrganizationBySlug", err, storage.ErrNotFound)
		list, err := s.ListOrganizations(ctxOf(t))
		wantErr(t, "ListOrganizations", err, nil)
		wantEqual(t, "empty list length", len(list), 0)
	}},
	{"Conflicts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "a")
		err := s.CreateOrganization(ctx, storage.Organization{ID: "other", Slug: "slug-a", Name: "Dup slug"})
		wantErr(t, "duplicate slug", err, storage.ErrConflict)
		err = s.CreateOrganization(ctx, storage.Organization{ID: "a", Slug: "fresh", Name: "Dup ID"})
		wantErr(t, "duplicate ID", err, storage.ErrConflict)
	}},
}

var errBoom = errors.New("boom")

var txTests = []namedTest{
	{"CommitTogether", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		err := s.InTx(ctx, func(tx storage.Store) error {
			mustOrg(t, tx, "o")
			mustAccount(t, tx, "o", "a")
			// A transaction reads its own writes.
			if _, err := tx.GetAccount(ctx, "a"); err != nil {
				return fmt.Errorf("read own write: %w", err)
			}
			return tx.AppendAudit(ctx, &storage.AuditEvent{OrgID: "o", Action: "account.create", Time: base})
		})
		wantErr(t, "InTx", err, nil)
		_, err = s.GetAccount(ctx, "a")
		wantErr(t, "account after commit", err, nil)
		evs, err := s.ListAudit(ctx, storage.AuditFilter{OrgID: "o"})
		wantErr(t, "ListAudit", err, nil)
		wantEqual(t, "events after commit", len(evs), 1)
	}},
	{"RollbackOnError", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAccount(t, s, "o", "existing")
		err := s.InTx(ctx, func(tx storage.Store) error {
			mustOrg(t, tx, "p")
			mustAccount(t, tx, "o", "a")
			if _, err := tx.UpdateAccount(ctx, "existing", func(a *storage.Account) error {
				a.DisplayName = "changed"
				return nil
			}); err != nil {
				return err
			}
			for range 3 {
				if err := tx.AppendAudit(ctx, &storage.AuditEvent{OrgID: "o", Action: "x", Time: base}); err != nil {
					return err
				}
			}
			if err := tx.PublishInvalidation(ctx, "account", "a", base); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom { //nolint:errorlint // fn's error must come back unchanged, not merely wrapped
			t.Fatalf("InTx returned %v, want fn's error unchanged", err)
		}
		_, err = s.GetOrganization(ctx, "p")
		wantErr(t, "organization from rolled-back tx", err, storage.ErrNotFound)
		_, err = s.GetAccount(ctx, "a")
		wantErr(t, "account from rolled-back tx", err, storage.ErrNotFound)
		got, err := s.GetAccount(ctx, "existing")
		wantErr(t, "GetAccount", err, nil)
		wantEqual(t, "untouched account", [2]any{got.DisplayName, got.Version}, [2]any{"Person existing", int64(1)})
		evs, err := s.ListAudit(ctx, storage.AuditFilter{OrgID: "o"})
		wantErr(t, "ListAudit", err, nil)
		wantEqual(t, "audit events from rolled-back tx", len(evs), 0)
		invs, err := s.InvalidationsSince(ctx, time.Time{})
		wantErr(t, "InvalidationsSince", err, nil)
		wantEqual(t, "invalidations from rolled-back tx", len(invs), 0)
		// The chain head rolled back too: the next event is still the first.
		e := &storage.AuditEvent{OrgID: "o", Action: "y", Time: base}
		wantErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
		wantEqual(t, "seq after rollback", [2]any{e.Seq, e.PrevHash}, [2]any{int64(1), ""})
	}},
	{"RollbackOnPanic", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("InTx swallowed fn's panic")
				}
			}()
			_ = s.InTx(ctx, func(tx storage.Store) error {
				mustOrg(t, tx, "o")
				panic("fn panics")
			})
		}()
		_, err := s.GetOrganization(ctx, "o")
		wantErr(t, "organization from panicked tx", err, storage.ErrNotFound)
	}},
	{"NestedInTxSharesTransaction", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		err := s.InTx(ctx, func(tx storage.Store) error {
			if err := tx.InTx(ctx, func(inner storage.Store) error {
				mustOrg(t, inner, "o")
				return nil
			}); err != nil {
				return err
			}
			// The inner call committed nothing on its own: the outer
			// transaction still decides.
			return errBoom
		})
		wantErr(t, "InTx", err, errBoom)
		_, err = s.GetOrganization(ctx, "o")
		wantErr(t, "organization from nested tx of a rolled-back tx", err, storage.ErrNotFound)
	}},
	{"CloseOnTxIsRefused", func(t *testing.T, s storage.Store) {
		err := s.InTx(ctxOf(t), func(tx storage.Store) error {
			if err := tx.Close(); err == nil {
				return errors.New("Close on a transaction-bound store returned nil")
			}
			// The transaction is still usable after the refused Close.
			mustOrg(t, tx, "o")
			return nil
		})
		wantErr(t, "InTx", err, nil)
		_, err = s.GetOrganization(ctxOf(t), "o")
		wantErr(t, "GetOrganization", err, nil)
	}},
	{"Ready", func(t *testing.T, s storage.Store) {
		wantErr(t, "Ready", s.Ready(ctxOf(t)), nil)
	}},
}
