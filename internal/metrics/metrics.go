// Package metrics holds Gatehouse's Prometheus instruments. They are created
// on a registry the caller owns (no global state), so tests and several
// servers in one process do not collide.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the instruments handlers and services update.
type Metrics struct {
	// SignIns counts sign-in attempts by method (password, sso, setup,
	// recovery) and result (success, failure, throttled).
	SignIns *prometheus.CounterVec
	// HTTPDuration observes request latency by route pattern, method and status code.
	HTTPDuration *prometheus.HistogramVec
	// SSOStarted, SSOCompleted and SSOAbandoned count SSO sign-ins per
	// connection slug: sent to the IdP; answered (result success,
	// idp_error, invalid or refused); never answered within the request's
	// lifetime (internal/health).
	SSOStarted   *prometheus.CounterVec
	SSOCompleted *prometheus.CounterVec
	SSOAbandoned *prometheus.CounterVec
}

// New creates the instruments and registers them, with the Go and process
// collectors, on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SignIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_signins_total",
			Help: "Sign-in attempts by method and result.",
		}, []string{"method", "result"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		SSOStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sso_signins_started_total",
			Help: "SSO sign-ins sent to the IdP, by connection.",
		}, []string{"connection"}),
		SSOCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sso_signins_completed_total",
			Help: "SSO sign-ins answered by the IdP, by connection and result (success, idp_error, invalid, refused).",
		}, []string{"connection", "result"}),
		SSOAbandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sso_signins_abandoned_total",
			Help: "SSO sign-ins the IdP never answered before the request expired, by connection.",
		}, []string{"connection"}),
	}
	reg.MustRegister(m.SignIns, m.HTTPDuration, m.SSOStarted, m.SSOCompleted, m.SSOAbandoned)
	return m
}

// SignIn records one sign-in attempt.
func (m *Metrics) SignIn(method, result string) {
	if m == nil {
		return
	}
	m.SignIns.WithLabelValues(method, result).Inc()
}

// SSOSignInStarted counts one SSO sign-in sent to the IdP of connection.
func (m *Metrics) SSOSignInStarted(connection string) {
	if m == nil {
		return
	}
	m.SSOStarted.WithLabelValues(connection).Inc()
}

// SSOSignInCompleted counts one answered SSO sign-in.
func (m *Metrics) SSOSignInCompleted(connection, result string) {
	if m == nil {
		return
	}
	m.SSOCompleted.WithLabelValues(connection, result).Inc()
}

// SSOSignInsAbandoned counts n SSO sign-ins the IdP never answered.
func (m *Metrics) SSOSignInsAbandoned(connection string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.SSOAbandoned.WithLabelValues(connection).Add(float64(n))
}
