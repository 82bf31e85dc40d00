package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// Every active owner and admin of the organization hears of the event,
// except the one who caused it; members, suspended admins and another
// organization's admins do not.
func TestAdminsMailsActiveAdminsOfTheOrganizationOnly(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		for _, org := range []string{"acme", "other"} {
			if err := st.CreateOrganization(ctx, storage.Organization{ID: org, Slug: org, Name: org, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range []struct {
			id, org string
			role    storage.Role
			status  storage.AccountStatus
		}{
			{"owner", "acme", storage.RoleOwner, storage.StatusActive},
			{"admin", "acme", storage.RoleAdmin, storage.StatusActive},
			{"actor", "acme", storage.RoleAdmin, storage.StatusActive},
			{"member", "acme", storage.RoleMember, storage.StatusActive},
			{"gone", "acme", storage.RoleAdmin, storage.StatusSuspended},
			{"foreign", "other", storage.RoleOwner, storage.StatusActive},
		} {
			if err := st.CreateAccount(ctx, storage.Account{ID: a.id, OrgID: a.org, Email: a.id + "@" + a.org + ".example",
				Role: a.role, Status: a.status, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		n := notify.New(st, &mail.Outbox{Dir: dir}, nil)
		if sent := n.Send(ctx, "acme", "Emergency sign-in started", "Details", "actor"); sent != 2 {
			t.Fatalf("sent %d messages, want 2", sent)
		}
		msgs, err := mail.ReadOutbox(dir)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range msgs {
			to = append(to, m.To)
			if m.Subject != "Emergency sign-in started" {
				t.Errorf("subject %q", m.Subject)
			}
		}
		slices.Sort(to)
		if want := []string{"admin@acme.example", "owner@acme.example"}; !slices.Equal(to, want) {
			t.Errorf("mailed %v, want %v", to, want)
		}
		if sent := notify.New(st, nil, nil).Send(ctx, "acme", "s", "t"); sent != 0 {
			t.Errorf("without a mailer %d messages were sent", sent)
		}
	})
}
