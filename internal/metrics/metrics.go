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
	}
	reg.MustRegister(m.SignIns, m.HTTPDuration)
	return m
}

// SignIn records one sign-in attempt.
func (m *Metrics) SignIn(method, result string) {
	if m == nil {
		return
	}
	m.SignIns.WithLabelValues(method, result).Inc()
}
