package httpserver_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
)

// deadlineEnv is the middleware with a short request deadline, its access
// log and its latency histogram.
type deadlineEnv struct {
	h    http.Handler
	logs *bytes.Buffer
	reg  *prometheus.Registry
}

func newDeadlineEnv(t *testing.T, handler http.HandlerFunc) deadlineEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	srv, err := httpserver.New(httpserver.Options{
		Metrics: metrics.New(reg), Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		RequestTimeout: 50 * time.Millisecond,
		ErrorPage: func(w http.ResponseWriter, r *http.Request, status int, message string) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("<p>" + message + "</p>"))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/members", handler)
	mux.HandleFunc("GET /login", handler)
	return deadlineEnv{h: srv.Handler(mux), logs: &logs, reg: reg}
}

// codes returns the status codes the latency histogram recorded for route.
func (e deadlineEnv) codes(t *testing.T, route string) map[string]uint64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "gatehouse_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route {
				out[labels["code"]] += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return out
}

// A handler whose database never answers used to be waited on for as
// long as the database took, and a handler that swallowed the failure
// was logged as 200. Every request now has a deadline: the database work
// sees it through the context, and whatever the handler answers after it
// passed, the client gets 503 with the request ID, and the access log and
// the latency metric say 503.
func TestRequestPastItsDeadlineAnswers503(t *testing.T) {
	swallow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the "database call" ends at the deadline
		case <-time.After(time.Minute):
			t.Error("the request has no deadline")
		}
		// A handler that mistakes the failure for an empty result.
		w.Header().Set("Set-Cookie", "half=done")
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"members": []string{}})
	}
	silent := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
			t.Error("the request has no deadline")
		}
	}
	for _, c := range []struct {
		name, path string
		handler    http.HandlerFunc
		json       bool
	}{
		{"API, handler answers late", "/api/v1/members", swallow, true},
		{"API, handler answers nothing", "/api/v1/members", silent, true},
		{"page, handler answers late", "/login", swallow, false},
		{"page, handler answers nothing", "/login", silent, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDeadlineEnv(t, c.handler)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
			id := rec.Header().Get("X-Request-ID")
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503; body %q", rec.Code, rec.Body.String())
			}
			if id == "" || !strings.Contains(rec.Body.String(), id) {
				t.Errorf("the answer does not give the request ID %q to quote: %q", id, rec.Body.String())
			}
			if rec.Header().Get("Set-Cookie") != "" {
				t.Errorf("the late handler's cookie was sent with the 503")
			}
			if rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("the 503 lost the security headers")
			}
			ct := rec.Header().Get("Content-Type")
			if c.json {
				var body struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "request_timeout" {
					t.Errorf("API 503 is not a JSON request_timeout error: %v %q", err, rec.Body.String())
				}
			} else if !strings.HasPrefix(ct, "text/html") {
				t.Errorf("page 503 has Content-Type %q", ct)
			}
			if !strings.Contains(e.logs.String(), `"status":503`) || strings.Contains(e.logs.String(), `"status":200`) {
				t.Errorf("access log does not record the 503:\n%s", e.logs.String())
			}
			route := "GET " + c.path
			if got := e.codes(t, route); got["503"] != 1 || len(got) != 1 {
				t.Errorf("latency metric codes for %s = %v, want only 503", route, got)
			}
		})
	}
}

// A request answered in time is untouched by the deadline.
func TestRequestWithinItsDeadlineIsUntouched(t *testing.T) {
	e := newDeadlineEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); !ok {
			t.Error("the request has no deadline")
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"members": []string{}})
	})
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/members", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "members") {
		t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
	}
}
