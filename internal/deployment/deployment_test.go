package deployment_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/deployment"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A start records the public URL the CLI then reads back; restarts with the
// same URL (or the same URL with a trailing slash) are not audited, a
// different one is, naming both.
func TestRecordPublicURL(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		svc := deployment.New(st, slog.New(slog.DiscardHandler), func() time.Time { return now })
		if _, ok, err := svc.PublicURL(ctx); err != nil || ok {
			t.Fatalf("PublicURL before any start = ok %v, %v", ok, err)
		}
		for _, u := range []string{"http://localhost:8080", "http://localhost:8080/", "https://id.acme.example"} {
			if err := svc.RecordPublicURL(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if got, ok, err := svc.PublicURL(ctx); err != nil || !ok || got != "https://id.acme.example" {
			t.Fatalf("PublicURL = %q, %v, %v", got, ok, err)
		}
		events, err := st.ListAudit(ctx, storage.AuditFilter{Action: "deployment.public_url"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Details["previous"] != "" || events[1].Details["previous"] != "http://localhost:8080" ||
			events[1].Details["public_url"] != "https://id.acme.example" || events[1].ActorType != "system" {
			t.Fatalf("audit events = %+v, want the first record and the one change", events)
		}
		if err := svc.RecordPublicURL(ctx, ""); err == nil {
			t.Fatal("an empty public URL was recorded")
		}
	})
}
