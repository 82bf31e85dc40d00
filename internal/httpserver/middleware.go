package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-ID only if it is short and
// plain, so it cannot inject into logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		ctx := reqctx.With(r.Context(), reqctx.Info{
			RequestID: id,
			IP:        s.clientIP(r),
			UserAgent: reqctx.CleanUserAgent(r.UserAgent()),
			ActorType: "anonymous",
		})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Log.ErrorContext(r.Context(), "panic serving request", "panic", v, "path", r.URL.Path)
				s.renderError(w, r, http.StatusInternalServerError, "internal_error",
					"Something went wrong on our side. Try again; if it keeps happening, give your admin the request ID "+reqctx.From(r.Context()).RequestID+".")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code and size for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routeKey holds a *string the innermost wrapper fills with the matched
// route pattern. The mux sets Pattern on the request it is handed, which
// is a copy made by the middleware in between, so the outer middleware
// cannot read it from its own request.
type routeKey struct{}

// recordRoute runs the mux and then copies the pattern it matched into the
// holder observe put in the context.
func recordRoute(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = r.Pattern
		}
	})
}

func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now() // wall-clock latency, not the injected domain clock
		sw := &statusWriter{ResponseWriter: w}
		route := ""
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// Route patterns are a bounded label set, unlike raw paths.
		if route == "" {
			route = "unmatched"
		}
		if s.opts.Metrics != nil {
			s.opts.Metrics.HTTPDuration.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Observe(elapsed.Seconds())
		}
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		level := slog.LevelInfo
		if r.URL.Path == ForwardAuthPath && sw.status < 300 {
			// A proxy asks on every request of every app behind it and logs
			// those requests itself: the ones let through are debug lines
			// (the latency histogram still counts them), refusals stay.
			level = slog.LevelDebug
		}
		if !s.opts.Log.Enabled(r.Context(), level) {
			return
		}
		s.opts.Log.Log(r.Context(), level, "http request",
			"method", r.Method, "route", route, "path", r.URL.Path, "status", sw.status,
			"bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds())/1000,
			"ip", reqctx.From(r.Context()).IP)
	})
}

// Security header values, each a one-element slice shared by every
// response: assigning them costs no allocation or key canonicalisation on
// every request (forward-auth answers each request of every app). net/http
// only reads them, and Header.Set or Add replace or copy, never write into
// them.
var (
	hdrCSP = []string{"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}
	hdrDeny        = []string{"DENY"}
	hdrNosniff     = []string{"nosniff"}
	hdrReferrer    = []string{"same-origin"}
	hdrCOOP        = []string{"same-origin"}
	hdrPermissions = []string{"camera=(), microphone=(), geolocation=(), payment=()"}
	hdrHSTS        = []string{"max-age=31536000; includeSubDomains"}
	hdrNoStore     = []string{"no-store"}
)

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ForwardAuthPath {
			// Its 200s are read by the proxy alone, never a browser, and
			// it sets the few headers its refusals need itself: the page
			// headers would be a few hundred bytes on every request of
			// every app behind the proxy.
			next.ServeHTTP(w, r)
			return
		}
		s.setSecurityHeaders(w.Header(), r)
		next.ServeHTTP(w, r)
	})
}

// setSecurityHeaders sets the headers every response carries; the
// deadline's 503 sets them again after clearing the handler's.
func (s *Server) setSecurityHeaders(h http.Header, r *http.Request) {
	// No inline scripts or styles anywhere: every script and stylesheet
	// is a file under /static/.
	h["Content-Security-Policy"] = hdrCSP
	h["X-Frame-Options"] = hdrDeny
	h["X-Content-Type-Options"] = hdrNosniff
	// Links carry one-time tokens in their query: never send a referrer
	// to another site. same-origin (not no-referrer) keeps Origin on our
	// own form posts, which the CSRF check relies on.
	h["Referrer-Policy"] = hdrReferrer
	h["Cross-Origin-Opener-Policy"] = hdrCOOP
	h["Permissions-Policy"] = hdrPermissions
	if s.opts.Secure {
		h["Strict-Transport-Security"] = hdrHSTS
	}
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h["Cache-Control"] = hdrNoStore
	}
}

// bodyLimitKey marks a request whose route raised the body limit.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxFormBody && !raisedLimit(r) && !isUpload(r) {
			// Refuse before reading a byte.
			w.Header().Set("Connection", "close")
		}
		switch {
		case isUpload(r):
			r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBody)
		case r.Body != nil && !raisedLimit(r):
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
		}
		next.ServeHTTP(w, r)
	})
}

// raisedLimit reports routes that read larger bodies and apply their own
// limit with LimitBody (SAML responses are routinely above 64 KiB).
func raisedLimit(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/saml/") && strings.HasSuffix(r.URL.Path, "/acs")
}

// MaxUploadBody is the largest body of an upload form (UploadPaths).
const MaxUploadBody = 2 << 20

// UploadPaths are the form routes that take a file (multipart/form-data,
// at most MaxUploadBody): the members CSV import and its confirmation.
var UploadPaths = []string{"/admin/members/import", "/admin/members/import/confirm"}

// isUpload reports a multipart POST to one of UploadPaths.
func isUpload(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Body == nil || !slices.Contains(UploadPaths, r.URL.Path) {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// LimitBody caps r's body at n bytes.
func LimitBody(w http.ResponseWriter, r *http.Request, n int64) {
	r.Body = http.MaxBytesReader(w, r.Body, n)
}

// requestIDHeader is X-Request-ID in Go's canonical form, so reading and
// setting it on every request does not canonicalise (allocate) the name.
const requestIDHeader = "X-Request-Id"
