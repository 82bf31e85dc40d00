package httpserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// A refused (403) request is audited with who, what, on what, from where
// and the request ID; an allowed one is not; and a flood of refusals from
// one actor on one route leaves one event a minute.
func TestDeniedRequestsAreAuditedWithABound(t *testing.T) {
	store := sqltest.NewSQLite(t)
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	d := httpserver.DeniedAudit{Audit: audit.NewService(store), Limiter: ratelimit.New(store, clock.Now), Now: clock.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /api/v1/members/{id}", func(w http.ResponseWriter, r *http.Request) {
		actor := r.Header.Get("X-Test-Actor")
		r = r.WithContext(reqctx.WithActor(r.Context(), "api_token", actor, "token "+actor))
		d.Watch(w, r, "org1", "forbidden", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("allow") == "1" {
				w.WriteHeader(http.StatusOK)
				return
			}
			http.Error(w, "forbidden", http.StatusForbidden)
		})
	})
	srv, err := httpserver.New(httpserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler(mux)
	call := func(actor, query string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPatch, "/api/v1/members/m1"+query, nil)
		req.RemoteAddr = "203.0.113.9:5000"
		req.Header.Set("X-Test-Actor", actor)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	events := func() []storage.AuditEvent {
		evs, err := store.ListAudit(context.Background(), storage.AuditFilter{OrgID: "org1", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}

	call("t1", "?allow=1")
	if n := len(events()); n != 0 {
		t.Fatalf("an allowed request was audited as denied (%d events)", n)
	}
	first := call("t1", "")
	for range 20 {
		call("t1", "")
	}
	evs := events()
	if len(evs) != 1 {
		t.Fatalf("%d events after 21 refusals within a minute, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Action != "access.denied" || ev.Outcome != "denied" || ev.Reason != "forbidden" || ev.ActorType != "api_token" ||
		ev.ActorID != "t1" || ev.Details["attempted"] != "PATCH /api/v1/members/{id}" || ev.TargetID != "/api/v1/members/m1" ||
		ev.IP != "203.0.113.9" || ev.RequestID != first.Header().Get("X-Request-ID") {
		t.Errorf("denied event = %+v", ev)
	}
	call("t2", "") // another actor is recorded on its own
	if n := len(events()); n != 2 {
		t.Errorf("%d events after another actor's refusal, want 2", n)
	}
	clock.Advance(61 * time.Second)
	call("t1", "")
	if n := len(events()); n != 3 {
		t.Errorf("%d events a minute later, want 3", n)
	}
}
