package httpserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
)

// errRequestTimeout is the cause of a request context cancelled by its
// deadline. Telling it apart from the client hanging up (context.Canceled)
// and from a deadline some handler set for itself is what lets the
// middleware answer 503 only for its own deadline.
var errRequestTimeout = errors.New("httpserver: request deadline exceeded")

// CodeRequestTimeout is the JSON error code of a request that passed its
// deadline.
const CodeRequestTimeout = "request_timeout"

// TimedOut reports whether ctx ended because its request passed the
// deadline set by the middleware (http.request_timeout).
func TimedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errRequestTimeout)
}

// deadline gives every request a context that ends after RequestTimeout.
// Storage calls take the request context, so a database that accepts
// connections but never answers fails them at the deadline instead of
// holding the request for minutes.
//
// The handler runs on the request's own goroutine (unlike
// http.TimeoutHandler, which buffers every response and leaves the handler
// running after it answered), so nothing races on the ResponseWriter; the writer refuses what the handler says
// after the deadline: a response not begun by then becomes 503 with the
// request ID, whatever status the handler chose (a handler that took the
// failure for an empty result would otherwise answer 200, and be logged
// so). A response already streaming when the deadline passes is left to
// finish or abort as its handler decides.
func (s *Server) deadline(next http.Handler) http.Handler {
	if s.opts.RequestTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.opts.RequestTimeout, errRequestTimeout)
		defer cancel()
		tw := &deadlineWriter{w: w, ctx: ctx}
		tw.answer = func() { s.answerTimeout(w, r) }
		next.ServeHTTP(tw, r.WithContext(ctx))
		if !tw.started && TimedOut(ctx) {
			tw.replace()
		}
		if tw.replaced {
			s.opts.Log.WarnContext(r.Context(), "request deadline exceeded", "method", r.Method, "path", r.URL.Path,
				"timeout", s.opts.RequestTimeout.String())
		}
	})
}

// answerTimeout writes the 503 for r, with only the headers the middleware
// outside the deadline sets (security headers, request ID), set again:
// cookies or a Location the handler set for an answer it never finished
// are dropped. (Rebuilding them here, rather than copying the headers
// before every request, keeps the common path free of the copy.)
func (s *Server) answerTimeout(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	s.setSecurityHeaders(h, r)
	h.Set(requestIDHeader, reqctx.From(r.Context()).RequestID)
	h.Set("Retry-After", "5")
	// The page must not need the database: r's context has ended, and the
	// error page of the web package shows no organization name for 5xx.
	s.renderError(w, r.WithContext(context.WithoutCancel(r.Context())), http.StatusServiceUnavailable, CodeRequestTimeout,
		"Gatehouse could not answer in time, probably because its database is slow or unreachable. "+
			"Try again in a moment; if it keeps happening, give your admin the request ID "+reqctx.From(r.Context()).RequestID+".")
}

// deadlineWriter passes the handler's response through until the request's
// deadline has passed; a response begun after that is replaced by the 503.
type deadlineWriter struct {
	w      http.ResponseWriter
	ctx    context.Context
	answer func()

	started  bool // a status line went out (the handler's or the 503)
	replaced bool // the 503 was sent; the handler's output is discarded
}

func (t *deadlineWriter) Header() http.Header { return t.w.Header() }

func (t *deadlineWriter) WriteHeader(code int) {
	if t.started {
		if !t.replaced {
			t.w.WriteHeader(code) // let net/http report the superfluous call
		}
		return
	}
	// 1xx informational answers do not start the response.
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		t.w.WriteHeader(code)
		return
	}
	if TimedOut(t.ctx) {
		t.replace()
		return
	}
	t.started = true
	t.w.WriteHeader(code)
}

func (t *deadlineWriter) replace() {
	t.started, t.replaced = true, true
	t.answer()
}

func (t *deadlineWriter) Write(b []byte) (int, error) {
	if !t.started {
		t.WriteHeader(http.StatusOK)
	}
	if t.replaced {
		return 0, http.ErrHandlerTimeout
	}
	return t.w.Write(b)
}

// Flush lets streamed answers (downloads) reach the client as they go.
func (t *deadlineWriter) Flush() {
	if !t.started {
		t.WriteHeader(http.StatusOK)
	}
	if t.replaced {
		return
	}
	_ = http.NewResponseController(t.w).Flush()
}

func (t *deadlineWriter) Unwrap() http.ResponseWriter { return t.w }
